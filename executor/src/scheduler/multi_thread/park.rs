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

use std::sync::Arc as StdArc;

use crate::park::{Park, Unpark};
use crate::sync::{Arc, AtomicBool, AtomicUsize, Condvar, Mutex, Ordering, UnsafeCell};

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
        self.0.taken.store(false, Ordering::Release);
    }
}

impl SharedDriver {
    pub(crate) fn new(driver: Box<dyn Park>) -> SharedDriver {
        let unparker = driver.unparker();
        SharedDriver {
            taken: AtomicBool::new(false),
            driver: UnsafeCell::new(driver),
            unparker,
        }
    }

    /// Rule 7: takes the driver if no one else holds it.
    pub(crate) fn try_take(&self) -> Option<DriverGuard<'_>> {
        self.taken
            .compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed)
            .ok()
            .map(|_| DriverGuard(self))
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
        if let Some(mut driver) = inner.driver.try_take() {
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
        } else {
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
