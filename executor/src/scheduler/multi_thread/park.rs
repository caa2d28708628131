//! Per-worker parking, and the hand-off of the shared driver.
//!
//! # Protocol
//!
//! A worker with nothing to do parks. If the driver is free (`try_lock`), it parks *in the
//! driver* (blocking in `epoll_wait` or until the next timer), otherwise on its own condvar.
//! `state` says which, so `unpark` knows whom to poke:
//!
//! 1. `unpark` swaps in NOTIFIED first. A later `park` sees it and returns at once, so an
//!    unpark that races ahead of the park is never lost.
//! 2. `park` moves EMPTY to PARKED_CONDVAR / PARKED_DRIVER with a CAS; if the CAS finds
//!    NOTIFIED it consumes it and returns without blocking.
//! 3. An `unpark` that finds PARKED_CONDVAR takes the mutex before notifying: the parker
//!    holds it from its CAS until it waits, so the notification cannot fall between them.
//! 4. An `unpark` that finds PARKED_DRIVER calls the driver's unparker, which remembers the
//!    wake-up if the driver is not yet blocked (the `Park` contract).
//! 5. Whatever woke it, the parker swaps `state` back to EMPTY when it returns.
//! 6. The driver is held only while parked in it; a busy worker polls it without blocking
//!    when it is free, so timers and IO still fire while every worker is busy.
//! 7. The driver is taken with a compare-and-swap on `taken` (Acquire) and given back with a
//!    store (Release): a try-lock that never blocks, so the owner has exclusive use of the
//!    driver cell between the two.
//! 8. **No idle worker sleeps beside a free driver.** A worker that finds the driver taken
//!    registers in `waiting`, sets `has_waiting` with a read-modify-write, and then tries to
//!    take the driver once more before it sleeps on its condvar. Whoever gives the driver
//!    back (after a non-blocking poll, or a park that found work) then reads `has_waiting`
//!    with a read-modify-write and, if set, unparks one registered waiter, which goes round
//!    its park loop and takes the driver. The two RMWs on `has_waiting` are ordered: if the
//!    releaser's comes second it sees the registration; if it comes first, the registrant's
//!    RMW reads from it, so the release of `taken` happens before the retry, which finds the
//!    driver free. Without this, an idle worker could sleep on its condvar while nobody is in
//!    the driver, and timers and IO would wait for a busy worker's next non-blocking poll
//!    (rule 6), 61 ticks away. A waiter removes itself before `park` returns, so the list
//!    never outlives a park (it holds the parker's `Arc`).

use crate::park::{Park, Unpark};
use crate::sync::{Arc, AtomicBool, AtomicUsize, Condvar, Mutex, Ordering, StdArc, UnsafeCell};

const EMPTY: usize = 0;
const PARKED_CONDVAR: usize = 1;
const PARKED_DRIVER: usize = 2;
const NOTIFIED: usize = 3;

/// The driver, shared by all workers of a runtime.
pub(crate) struct SharedDriver {
    /// Rule 7.
    taken: AtomicBool,
    driver: UnsafeCell<Box<dyn Park>>,
    unparker: StdArc<dyn Unpark>,
    /// Rule 8: parkers asleep on their condvars that want the driver when it is released.
    waiting: Mutex<Vec<Arc<Inner>>>,
    /// Rule 8: `waiting` is not empty. Written under `waiting`'s lock, read without it.
    has_waiting: AtomicBool,
}

// SAFETY: the driver is `Send`, and rule 7 gives one thread at a time access to it.
unsafe impl Sync for SharedDriver {}

/// Exclusive use of the driver until dropped (rule 7).
pub(crate) struct DriverGuard<'a>(&'a SharedDriver);

impl DriverGuard<'_> {
    pub(crate) fn park(&mut self, timeout: Option<std::time::Duration>) {
        self.0.driver.with_mut(|driver| {
            // SAFETY: holding the guard means we won the CAS on `taken` (rule 7).
            unsafe { (*driver).park(timeout) }
        })
    }

    fn shutdown(&mut self) {
        self.0.driver.with_mut(|driver| {
            // SAFETY: as in `park` (rule 7).
            unsafe { (*driver).shutdown() }
        })
    }
}

impl Drop for DriverGuard<'_> {
    fn drop(&mut self) {
        let shared = self.0;
        // Rules 7 and 8: give the driver back, then look for a worker that wants it.
        shared.taken.store(false, Ordering::Release);
        if shared.has_waiting.fetch_or(false, Ordering::AcqRel) {
            let waiter = {
                let mut waiting = shared.waiting.lock();
                let waiter = waiting.pop();
                if waiting.is_empty() {
                    shared.has_waiting.store(false, Ordering::Release);
                }
                waiter
            };
            if let Some(inner) = waiter {
                Unparker { inner }.unpark();
            }
        }
    }
}

impl SharedDriver {
    pub(crate) fn new(driver: Box<dyn Park>) -> SharedDriver {
        let unparker = driver.unparker();
        SharedDriver {
            taken: AtomicBool::new(false),
            driver: UnsafeCell::new(driver),
            unparker,
            waiting: Mutex::new(Vec::new()),
            has_waiting: AtomicBool::new(false),
        }
    }

    /// Rule 7: takes the driver if no one else holds it.
    pub(crate) fn try_take(&self) -> Option<DriverGuard<'_>> {
        self.taken
            .compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed)
            .ok()
            .map(|_| DriverGuard(self))
    }

    /// Rule 8: `inner` sleeps on its condvar and wants to be woken when the driver is free.
    fn register_waiting(&self, inner: &Arc<Inner>) {
        let mut waiting = self.waiting.lock();
        waiting.push(inner.clone());
        self.has_waiting.swap(true, Ordering::AcqRel);
    }

    /// Rule 8: `inner` stops waiting (it may already have been taken off by a release).
    fn deregister_waiting(&self, inner: &Arc<Inner>) {
        let mut waiting = self.waiting.lock();
        if let Some(i) = waiting.iter().position(|w| Arc::ptr_eq(w, inner)) {
            waiting.swap_remove(i);
            if waiting.is_empty() {
                self.has_waiting.store(false, Ordering::Release);
            }
        }
    }

    /// Rule 6: poll for events without blocking, if no one else is in the driver.
    pub(crate) fn poll_nonblocking(&self) {
        if let Some(mut driver) = self.try_take() {
            driver.park(Some(std::time::Duration::ZERO));
        }
    }

    pub(crate) fn unpark(&self) {
        self.unparker.unpark();
    }

    /// Shuts the driver down. Called once every worker has stopped; if one is stuck (a
    /// shutdown that timed out) and still holds the driver, the driver is left to it.
    pub(crate) fn shutdown(&self) {
        if let Some(mut driver) = self.try_take() {
            driver.shutdown();
        }
    }
}

pub(crate) struct Parker {
    inner: Arc<Inner>,
}

#[derive(Clone)]
pub(crate) struct Unparker {
    inner: Arc<Inner>,
}

struct Inner {
    state: AtomicUsize,
    mutex: Mutex<()>,
    condvar: Condvar,
    driver: StdArc<SharedDriver>,
}

impl Parker {
    pub(crate) fn new(driver: StdArc<SharedDriver>) -> Parker {
        Parker {
            inner: Arc::new(Inner {
                state: AtomicUsize::new(EMPTY),
                mutex: Mutex::new(()),
                condvar: Condvar::new(),
                driver,
            }),
        }
    }

    pub(crate) fn unparker(&self) -> Unparker {
        Unparker {
            inner: self.inner.clone(),
        }
    }

    /// Blocks until unparked (or, when parked in the driver, until it has dispatched
    /// events). May return spuriously.
    pub(crate) fn park(&self) {
        let inner = &*self.inner;
        // Rule 1: a pending unpark is consumed without blocking.
        if inner
            .state
            .compare_exchange(NOTIFIED, EMPTY, Ordering::SeqCst, Ordering::SeqCst)
            .is_ok()
        {
            return;
        }
        if let Some(driver) = inner.driver.try_take() {
            self.park_driver(driver);
            return;
        }
        // Rule 8: ask to be woken when the driver is given back, then look once more.
        inner.driver.register_waiting(&self.inner);
        if let Some(driver) = inner.driver.try_take() {
            inner.driver.deregister_waiting(&self.inner);
            self.park_driver(driver);
            return;
        }
        self.park_condvar();
        inner.driver.deregister_waiting(&self.inner);
    }

    fn park_driver(&self, mut driver: DriverGuard<'_>) {
        let inner = &*self.inner;
        // Rule 2.
        if inner
            .state
            .compare_exchange(EMPTY, PARKED_DRIVER, Ordering::SeqCst, Ordering::SeqCst)
            .is_err()
        {
            inner.state.swap(EMPTY, Ordering::SeqCst);
            return;
        }
        driver.park(None);
        // Rule 5.
        inner.state.swap(EMPTY, Ordering::SeqCst);
    }

    fn park_condvar(&self) {
        let inner = &*self.inner;
        let mut guard = inner.mutex.lock();
        // Rules 2 and 3.
        if inner
            .state
            .compare_exchange(EMPTY, PARKED_CONDVAR, Ordering::SeqCst, Ordering::SeqCst)
            .is_err()
        {
            inner.state.swap(EMPTY, Ordering::SeqCst);
            return;
        }
        loop {
            inner.condvar.wait(&mut guard);
            if inner
                .state
                .compare_exchange(NOTIFIED, EMPTY, Ordering::SeqCst, Ordering::SeqCst)
                .is_ok()
            {
                return;
            }
        }
    }
}

impl Unparker {
    pub(crate) fn unpark(&self) {
        let inner = &*self.inner;
        match inner.state.swap(NOTIFIED, Ordering::SeqCst) {
            EMPTY | NOTIFIED => {}
            PARKED_CONDVAR => {
                // Rule 3.
                drop(inner.mutex.lock());
                inner.condvar.notify_one();
            }
            PARKED_DRIVER => inner.driver.unpark(),
            actual => unreachable!("invalid parker state {actual}"),
        }
    }
}

#[cfg(all(test, loom))]
mod loom_tests {
    //! Run with `RUSTFLAGS="--cfg loom" LOOM_MAX_PREEMPTIONS=3 cargo test -p spindle-executor
    //! --release --lib park`. A lost wake-up shows up as a deadlock, which loom reports.

    use super::*;
    use std::time::Duration;

    /// A driver whose only event is an unpark: `park` returns once it has seen one, and
    /// records that it did (as a timer firing or a socket becoming ready would).
    struct EventPark(StdArc<Events>);

    struct Events {
        pending: Mutex<bool>,
        condvar: Condvar,
        delivered: AtomicBool,
    }

    impl Park for EventPark {
        fn park(&mut self, timeout: Option<Duration>) {
            let mut pending = self.0.pending.lock();
            if timeout.is_none() {
                while !*pending {
                    self.0.condvar.wait(&mut pending);
                }
            }
            if std::mem::take(&mut *pending) {
                self.0.delivered.store(true, Ordering::SeqCst);
            }
        }

        fn unparker(&self) -> StdArc<dyn Unpark> {
            self.0.clone()
        }
    }

    impl Unpark for Events {
        fn unpark(&self) {
            *self.pending.lock() = true;
            self.condvar.notify_one();
        }
    }

    /// Rules 6-8, three threads: a busy worker polls the driver without blocking while an
    /// idle worker parks and may lose the try-lock to it; then an event comes. The idle
    /// worker must end up in the driver and see the event. Without rule 8 it can sleep on
    /// its condvar beside a free driver, and loom reports the deadlock.
    #[test]
    fn idle_worker_takes_the_driver_a_busy_worker_gives_back() {
        loom::model(|| {
            let events = StdArc::new(Events {
                pending: Mutex::new(false),
                condvar: Condvar::new(),
                delivered: AtomicBool::new(false),
            });
            let driver = StdArc::new(SharedDriver::new(Box::new(EventPark(events.clone()))));
            let idle = Parker::new(driver.clone());

            let busy = {
                let driver = driver.clone();
                loom::thread::spawn(move || driver.poll_nonblocking())
            };
            let idle_worker = {
                let events = events.clone();
                loom::thread::spawn(move || {
                    // The worker loop: park until the driver has delivered the event
                    // (a wake-up without it is spurious; the worker parks again).
                    while !events.delivered.load(Ordering::SeqCst) {
                        idle.park();
                    }
                })
            };
            // The event (a timer fires, a socket becomes ready) comes after the busy
            // worker has given the driver back, so only a worker in the driver can see it.
            busy.join().unwrap();
            driver.unpark();
            idle_worker.join().unwrap();
            assert!(events.delivered.load(Ordering::SeqCst));
            assert!(
                !driver.has_waiting.load(Ordering::SeqCst),
                "no waiter left behind"
            );
            assert!(driver.waiting.lock().is_empty());
        });
    }
}
