//! The one place in Spindle that chooses between real and model-checked primitives.
//!
//! Under `--cfg loom`, atomics, `Arc`, `Mutex`, `Condvar`, `UnsafeCell`, thread-locals and
//! threads come from loom, and the crossbeam deque (whose internals loom cannot see) is
//! replaced by [`deque`], a mutex-protected stand-in with the same API. Every crate of the
//! workspace — the executor, the timer and the IO driver — imports these names from here and
//! never from `std` directly, so the loom models check the code that ships.
//!
//! Public only for Spindle's own crates (`spindle-timer`, `spindle-io`); not part of the API.
//!
//! Locks never poison: `parking_lot`'s do not, and under loom a panic while holding a lock
//! already fails the model, so the loom wrappers take the guard back from a poisoned lock.

#![allow(dead_code)]

#[cfg(not(loom))]
pub use std::sync::Arc;
#[cfg(not(loom))]
pub use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering, fence};

#[cfg(loom)]
pub use loom::sync::Arc;
#[cfg(loom)]
pub use loom::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering, fence};

/// std's `Arc`, in both builds, for reference counts that belong to no protocol: trait
/// objects (`Arc<dyn Schedule>`, `Arc<dyn Unpark>`: loom's `Arc` cannot coerce to `dyn`)
/// and wakers (`Waker::from` takes std's `Arc`). What they point to is still made of the
/// primitives above.
pub use std::sync::Arc as StdArc;

/// Relaxed counters that belong to no protocol (runtime metrics): std's in both builds, so
/// the models do not spend their interleavings on them.
pub mod counter {
    pub use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
}

#[cfg(not(loom))]
pub use parking_lot::{Condvar, Mutex, MutexGuard};

#[cfg(loom)]
pub use self::loom_lock::{Condvar, Mutex, MutexGuard};

#[cfg(not(loom))]
pub(crate) use crossbeam_deque as deque;

#[cfg(loom)]
pub(crate) use self::loom_deque as deque;

/// `UnsafeCell` with loom's closure API, so loom can check every access.
#[cfg(not(loom))]
#[derive(Debug)]
pub struct UnsafeCell<T>(std::cell::UnsafeCell<T>);

#[cfg(not(loom))]
impl<T> UnsafeCell<T> {
    /// A cell holding `value`.
    pub const fn new(value: T) -> Self {
        Self(std::cell::UnsafeCell::new(value))
    }

    /// Runs `f` with a pointer for reading.
    #[inline]
    pub fn with<R>(&self, f: impl FnOnce(*const T) -> R) -> R {
        f(self.0.get())
    }

    /// Runs `f` with a pointer for writing.
    #[inline]
    pub fn with_mut<R>(&self, f: impl FnOnce(*mut T) -> R) -> R {
        f(self.0.get())
    }
}

#[cfg(loom)]
pub use loom::cell::UnsafeCell;

/// Spawns an OS thread (a loom thread under loom, which has no names or stack sizes).
pub(crate) fn spawn_thread<F>(name: String, f: F) -> std::io::Result<JoinHandle>
where
    F: FnOnce() + Send + 'static,
{
    #[cfg(not(loom))]
    {
        std::thread::Builder::new().name(name).spawn(f)
    }
    #[cfg(loom)]
    {
        let _ = name;
        Ok(loom::thread::spawn(f))
    }
}

#[cfg(not(loom))]
pub(crate) type JoinHandle = std::thread::JoinHandle<()>;
#[cfg(loom)]
pub(crate) type JoinHandle = loom::thread::JoinHandle<()>;

/// Waits on `condvar` for at most `timeout`; returns whether it timed out. Loom has no
/// clock: there a zero timeout releases the lock, lets other threads run, takes the lock
/// back and reports a time-out (so models can reach time-out paths, such as a blocking
/// thread retiring), and any other timeout waits untimed and never reports one.
pub(crate) fn wait_timeout<T>(
    condvar: &Condvar,
    guard: &mut MutexGuard<'_, T>,
    timeout: std::time::Duration,
) -> bool {
    #[cfg(not(loom))]
    {
        condvar.wait_for(guard, timeout).timed_out()
    }
    #[cfg(loom)]
    {
        if timeout.is_zero() {
            guard.unlocked(loom::thread::yield_now);
            return true;
        }
        condvar.wait(guard);
        false
    }
}

/// Polls `future` on this loom thread until it is ready, with one waker (the same at every
/// poll) that unparks the thread, parking in between. Unlike `loom::future::block_on` it
/// never wakes spuriously, which keeps the interleavings of the bigger models down; a
/// wake-up the protocol loses leaves the thread parked for good, which loom reports as a
/// deadlock. For the loom models of every crate.
#[cfg(loom)]
pub fn park_on<F: std::future::Future>(future: F) -> F::Output {
    use std::task::{Context, Poll, Waker};

    struct Unparker(loom::thread::Thread);

    impl std::task::Wake for Unparker {
        fn wake(self: std::sync::Arc<Self>) {
            self.0.unpark();
        }
    }

    let waker = Waker::from(std::sync::Arc::new(Unparker(loom::thread::current())));
    let mut cx = Context::from_waker(&waker);
    let mut future = std::pin::pin!(future);
    loop {
        if let Poll::Ready(output) = future.as_mut().poll(&mut cx) {
            return output;
        }
        loom::thread::park();
    }
}

#[cfg(loom)]
mod loom_lock {
    use std::ops::{Deref, DerefMut};

    /// loom's mutex behind parking_lot's API (no poisoning, `try_lock` gives an `Option`).
    #[derive(Debug)]
    pub struct Mutex<T>(loom::sync::Mutex<T>);

    pub struct MutexGuard<'a, T>(
        Option<loom::sync::MutexGuard<'a, T>>,
        &'a loom::sync::Mutex<T>,
    );

    impl<T> std::fmt::Debug for MutexGuard<'_, T> {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.debug_struct("MutexGuard").finish_non_exhaustive()
        }
    }

    impl<T> MutexGuard<'_, T> {
        /// Releases the lock while `f` runs (parking_lot's `MutexGuard::unlocked`).
        pub fn unlocked(&mut self, f: impl FnOnce()) {
            drop(self.0.take());
            f();
            self.0 = Some(self.1.lock().unwrap_or_else(|p| p.into_inner()));
        }
    }

    impl<T> Mutex<T> {
        pub fn new(value: T) -> Self {
            Self(loom::sync::Mutex::new(value))
        }

        #[track_caller]
        pub fn lock(&self) -> MutexGuard<'_, T> {
            let guard = self.0.lock().unwrap_or_else(|p| p.into_inner());
            MutexGuard(Some(guard), &self.0)
        }

        #[track_caller]
        pub fn try_lock(&self) -> Option<MutexGuard<'_, T>> {
            use std::sync::TryLockError;
            match self.0.try_lock() {
                Ok(guard) => Some(MutexGuard(Some(guard), &self.0)),
                Err(TryLockError::Poisoned(p)) => Some(MutexGuard(Some(p.into_inner()), &self.0)),
                Err(TryLockError::WouldBlock) => None,
            }
        }
    }

    impl<T: Default> Default for Mutex<T> {
        fn default() -> Self {
            Self::new(T::default())
        }
    }

    impl<T> Deref for MutexGuard<'_, T> {
        type Target = T;
        fn deref(&self) -> &T {
            self.0.as_ref().unwrap()
        }
    }

    impl<T> DerefMut for MutexGuard<'_, T> {
        fn deref_mut(&mut self) -> &mut T {
            self.0.as_mut().unwrap()
        }
    }

    #[derive(Debug, Default)]
    pub struct Condvar(loom::sync::Condvar);

    impl Condvar {
        pub fn new() -> Self {
            Self(loom::sync::Condvar::new())
        }

        #[track_caller]
        pub fn wait<T>(&self, guard: &mut MutexGuard<'_, T>) {
            let inner = guard.0.take().unwrap();
            guard.0 = Some(self.0.wait(inner).unwrap_or_else(|p| p.into_inner()));
        }

        #[track_caller]
        pub fn notify_one(&self) -> bool {
            self.0.notify_one();
            true
        }

        #[track_caller]
        pub fn notify_all(&self) -> usize {
            self.0.notify_all();
            0
        }
    }
}

/// A loom-visible stand-in for the parts of `crossbeam_deque` the schedulers use: a mutex
/// around a `VecDeque`. It is slow and that is the point: every push, pop and steal is a
/// synchronisation event loom can interleave.
#[cfg(loom)]
pub(crate) mod loom_deque {
    use super::{Arc, Mutex};
    use std::collections::VecDeque;

    pub(crate) enum Steal<T> {
        Empty,
        Success(T),
        Retry,
    }

    impl<T> Steal<T> {
        pub(crate) fn success(self) -> Option<T> {
            match self {
                Steal::Success(t) => Some(t),
                _ => None,
            }
        }

        pub(crate) fn is_retry(&self) -> bool {
            matches!(self, Steal::Retry)
        }
    }

    pub(crate) struct Worker<T>(Arc<Mutex<VecDeque<T>>>);
    pub(crate) struct Stealer<T>(Arc<Mutex<VecDeque<T>>>);
    pub(crate) struct Injector<T>(Mutex<VecDeque<T>>);

    impl<T> Worker<T> {
        pub(crate) fn new_fifo() -> Self {
            Self(Arc::new(Mutex::new(VecDeque::new())))
        }
        pub(crate) fn stealer(&self) -> Stealer<T> {
            Stealer(self.0.clone())
        }
        pub(crate) fn push(&self, t: T) {
            self.0.lock().push_back(t)
        }
        pub(crate) fn pop(&self) -> Option<T> {
            self.0.lock().pop_front()
        }
        pub(crate) fn is_empty(&self) -> bool {
            self.0.lock().is_empty()
        }
        pub(crate) fn len(&self) -> usize {
            self.0.lock().len()
        }
    }

    /// Takes the first item and half of the rest. The batch is moved after the source lock
    /// is released, so two workers stealing from each other never hold both locks.
    fn steal_half<T>(src: &Mutex<VecDeque<T>>, dest: &Worker<T>) -> Steal<T> {
        let (first, batch) = {
            let mut src = src.lock();
            let Some(first) = src.pop_front() else {
                return Steal::Empty;
            };
            let extra = src.len() / 2;
            (first, src.drain(..extra).collect::<Vec<_>>())
        };
        dest.0.lock().extend(batch);
        Steal::Success(first)
    }

    impl<T> Stealer<T> {
        pub(crate) fn steal_batch_and_pop(&self, dest: &Worker<T>) -> Steal<T> {
            steal_half(&self.0, dest)
        }
        pub(crate) fn is_empty(&self) -> bool {
            self.0.lock().is_empty()
        }
        pub(crate) fn len(&self) -> usize {
            self.0.lock().len()
        }
    }

    impl<T> Clone for Stealer<T> {
        fn clone(&self) -> Self {
            Stealer(self.0.clone())
        }
    }

    impl<T> Injector<T> {
        pub(crate) fn new() -> Self {
            Self(Mutex::new(VecDeque::new()))
        }
        pub(crate) fn push(&self, t: T) {
            self.0.lock().push_back(t)
        }
        pub(crate) fn steal(&self) -> Steal<T> {
            match self.0.lock().pop_front() {
                Some(t) => Steal::Success(t),
                None => Steal::Empty,
            }
        }
        pub(crate) fn steal_batch_and_pop(&self, dest: &Worker<T>) -> Steal<T> {
            steal_half(&self.0, dest)
        }
        pub(crate) fn is_empty(&self) -> bool {
            self.0.lock().is_empty()
        }
        pub(crate) fn len(&self) -> usize {
            self.0.lock().len()
        }
    }
}
