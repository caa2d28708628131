//! The `Park` trait: how a worker with nothing to do waits, and how it is woken.
//!
//! A *driver* (the time driver, the IO reactor) is a `Park` implementation that does useful
//! work while it waits: the IO driver blocks in `epoll_wait`, the time driver bounds that wait
//! by the next deadline and fires expired timers afterwards. Drivers stack: the facade builds
//! `TimeDriver<IoDriver>` and hands it to the executor, which only ever sees `Box<dyn Park>`.
//!
//! The executor calls [`Park::park`] with:
//! - `Some(Duration::ZERO)` to poll for events between task polls (it never blocks then);
//! - `None` when the worker has nothing else to run: block until unparked or an event comes.
//!   A `None` park is the only moment every task of a current-thread runtime is idle, which
//!   is what lets a paused clock auto-advance.

use std::task::Waker;
use std::time::Duration;

use crate::sync::{Arc, AtomicUsize, Condvar, Mutex, Ordering, StdArc};

/// A blocking wait that another thread can interrupt.
pub trait Park: Send + 'static {
    /// Blocks the calling thread until [`Unpark::unpark`] is called, the driver has events to
    /// dispatch, or `timeout` elapses. May return spuriously.
    fn park(&mut self, timeout: Option<Duration>);

    /// A handle that interrupts the current or the next `park`.
    ///
    /// An `unpark` that comes while no thread is parked is remembered: the next `park`
    /// returns at once. This is what makes the executor's sleep handshake free of lost
    /// wake-ups.
    fn unparker(&self) -> StdArc<dyn Unpark>;

    /// Called once when the runtime shuts down, after every task has been dropped: wake
    /// whatever still waits on the driver's resources (they will find it gone).
    fn shutdown(&mut self) {}
}

/// Wakes `waker`, containing a panic.
///
/// Wakers are user code, and a driver wakes them on a worker thread: one that panics must
/// not unwind out of the driver and take the worker (and the other wakers of the same
/// batch) with it. The panic hook has already reported the panic when this returns.
pub fn wake_contained(waker: Waker) {
    let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| waker.wake()));
}

/// Interrupts a [`Park`]. Cheap to call from any thread, any number of times.
pub trait Unpark: Send + Sync + 'static {
    /// Ends the current `park`, or makes the next one return at once.
    fn unpark(&self);
}

/// What the executor tells a driver about the runtime it is built for.
#[derive(Clone, Debug)]
pub struct DriverContext {
    pub(crate) flavor: Flavor,
    pub(crate) blocking: BlockingActivity,
}

impl DriverContext {
    /// The flavour of runtime the driver will serve.
    pub fn flavor(&self) -> Flavor {
        self.flavor
    }

    /// How many `spawn_blocking` closures are running or queued right now.
    pub fn blocking(&self) -> &BlockingActivity {
        &self.blocking
    }
}

/// The runtime flavour.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flavor {
    /// Every task runs on the thread inside `block_on`.
    CurrentThread,
    /// Tasks run on a pool of work-stealing worker threads.
    MultiThread,
}

/// A live count of blocking closures that are queued or running on the blocking pool.
///
/// A paused clock must not jump ahead while one of them runs: it may be about to wake a task.
#[derive(Clone, Debug, Default)]
pub struct BlockingActivity(Arc<AtomicUsize>);

impl BlockingActivity {
    /// Queued plus running blocking closures.
    pub fn active(&self) -> usize {
        self.0.load(Ordering::SeqCst)
    }

    pub(crate) fn begin(&self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }

    pub(crate) fn end(&self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// The default driver: a plain thread parker with no events of its own.
#[derive(Debug)]
pub struct ThreadPark {
    inner: StdArc<ThreadParkInner>,
}

#[derive(Debug)]
struct ThreadParkInner {
    notified: Mutex<bool>,
    condvar: Condvar,
}

impl ThreadPark {
    /// A parker with no unpark pending.
    pub fn new() -> Self {
        ThreadPark {
            inner: StdArc::new(ThreadParkInner {
                notified: Mutex::new(false),
                condvar: Condvar::new(),
            }),
        }
    }
}

impl Default for ThreadPark {
    fn default() -> Self {
        Self::new()
    }
}

impl Park for ThreadPark {
    fn park(&mut self, timeout: Option<Duration>) {
        let mut notified = self.inner.notified.lock();
        if !*notified {
            match timeout {
                Some(d) if d.is_zero() => {}
                Some(d) => {
                    crate::sync::wait_timeout(&self.inner.condvar, &mut notified, d);
                }
                None => self.inner.condvar.wait(&mut notified),
            }
        }
        *notified = false;
    }

    fn unparker(&self) -> StdArc<dyn Unpark> {
        self.inner.clone()
    }
}

impl Unpark for ThreadParkInner {
    fn unpark(&self) {
        *self.notified.lock() = true;
        self.condvar.notify_one();
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use std::sync::atomic::{AtomicBool, Ordering::SeqCst};
    use std::sync::mpsc;

    use super::*;

    /// Far longer than any of these parks should take: past it, a wake-up was lost.
    const LOST: Duration = Duration::from_secs(10);

    /// Runs `parks` on a helper thread and waits for it, at most [`LOST`]: a lost wake-up
    /// fails the test instead of hanging it (the helper stays parked).
    fn within_bound<T: Send + 'static>(parks: impl FnOnce() -> T + Send + 'static) -> T {
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let _ = tx.send(parks());
        });
        match rx.recv_timeout(LOST) {
            Ok(out) => out,
            Err(_) => panic!("park(None) still blocked after {LOST:?}: the unpark was lost"),
        }
    }

    #[test]
    fn unpark_before_park_is_remembered() {
        let mut park = ThreadPark::new();
        park.unparker().unpark();
        within_bound(move || park.park(None));
    }

    #[test]
    fn unpark_from_another_thread_ends_park() {
        let mut park = ThreadPark::new();
        let unparker = park.unparker();
        let unparked = StdArc::new(AtomicBool::new(false));
        let flag = unparked.clone();
        let t = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(20));
            flag.store(true, SeqCst);
            unparker.unpark();
        });
        // Parks until the unpark has come (at least once: an unpark that came first is
        // remembered), as a worker would. `park` may return spuriously (a condvar may), but
        // not again and again: a park that returned on its own would spin here until then.
        let parks = within_bound(move || {
            let mut parks = 0u32;
            loop {
                park.park(None);
                parks += 1;
                if unparked.load(SeqCst) {
                    return parks;
                }
            }
        });
        assert!(
            (1..=3).contains(&parks),
            "{parks} parks before the unpark ended one"
        );
        t.join().unwrap();
    }
}
