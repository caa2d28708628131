//! Synchronization between tasks: channels, a oneshot, locks, a semaphore and events.
//!
//! None of it is written here: each item is re-exported from a well-kept crate that works on
//! any executor (smol's `async-channel`, `async-lock` and `event-listener`, and the `futures`
//! project's oneshot), so a Spindle program shares them with the rest of the ecosystem. Each
//! line gives the asyncio counterpart.
//!
//! ```
//! use spindle::sync::{mpsc, oneshot};
//!
//! spindle::run(async {
//!     let (tx, rx) = mpsc::bounded(8);
//!     let (done_tx, done_rx) = oneshot::channel();
//!     spindle::spawn(async move {
//!         let mut sum = 0;
//!         while let Ok(n) = rx.recv().await {
//!             sum += n;
//!         }
//!         done_tx.send(sum).unwrap();
//!     });
//!     for n in 1..=4 {
//!         tx.send(n).await.unwrap();
//!     }
//!     drop(tx); // closes the channel: the consumer's loop ends
//!     assert_eq!(done_rx.await.unwrap(), 10);
//! });
//! ```

/// Multi-producer multi-consumer channels (`async-channel`).
pub mod mpsc {
    /// asyncio: `Queue.get` / `get_nowait` side (cloneable: consumers share the items).
    pub use async_channel::Receiver;
    /// asyncio: `Queue.put` / `put_nowait` side (cloneable; the channel closes when all drop).
    pub use async_channel::Sender;
    /// asyncio: `asyncio.Queue(maxsize=n)` — `send` waits while the channel is full.
    pub use async_channel::bounded;
    /// asyncio: `asyncio.Queue()` — never full; `send` completes at once.
    pub use async_channel::unbounded;
    /// The errors of `send`/`recv`/`try_*`: closed, full, empty.
    pub use async_channel::{RecvError, SendError, TryRecvError, TrySendError};
}

/// A single value sent once (`futures-channel`'s oneshot).
pub mod oneshot {
    /// asyncio: `Future.cancelled()` seen from the awaiting side: the sender was dropped.
    pub use futures_channel::oneshot::Canceled;
    /// asyncio: `await future` — a `Future<Output = Result<T, Canceled>>`.
    pub use futures_channel::oneshot::Receiver;
    /// asyncio: `Future.set_result` — `send(value)` is synchronous and never waits.
    pub use futures_channel::oneshot::Sender;
    /// asyncio: `loop.create_future()` — the sender is `set_result`, the receiver is
    /// `await fut`.
    pub use futures_channel::oneshot::channel;
}

/// asyncio: `asyncio.Barrier(n)` — `wait().await` until `n` tasks arrive.
pub use async_lock::{Barrier, BarrierWaitResult};
/// asyncio: `asyncio.Lock` that also guards a value (`async with lock:` is `lock.lock().await`).
pub use async_lock::{Mutex, MutexGuard};
/// asyncio: no direct counterpart — a lock for many readers or one writer.
pub use async_lock::{RwLock, RwLockReadGuard, RwLockWriteGuard};
/// asyncio: `asyncio.Semaphore(n)` / `BoundedSemaphore` — `acquire().await` gives a guard.
pub use async_lock::{Semaphore, SemaphoreGuard, SemaphoreGuardArc};
/// asyncio: an `asyncio.Event`/`Condition`-style notification (tokio's `Notify`):
/// `event.listen()` then check your condition, then `listener.await`; `notify(n)` wakes `n`.
pub use event_listener::{Event, EventListener, IntoNotification, Listener};
