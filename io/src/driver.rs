//! The reactor: one `polling::Poller`, the slot table, and the thread-local current handle.

use std::fmt;
use std::io;
use std::num::NonZeroUsize;
use std::task::Waker;
use std::time::Duration;

use polling::{Events, PollMode, Poller};
use spindle_executor::park::{Park, Unpark, wake_contained};

use crate::slot::{HANGUP, READABLE, Slot, SlotTable, WRITABLE};
use crate::sync::{Arc, StdArc};

/// How many events one `park` takes from the poller at most.
const EVENTS_PER_PARK: usize = 1024;

pub(crate) struct Inner {
    pub(crate) poller: Poller,
    pub(crate) table: SlotTable,
    pub(crate) mode: PollMode,
}

/// The IO driver: a [`Park`] that blocks in the poller and delivers readiness to sources.
///
/// It is the innermost driver of a runtime: the time driver wraps it and bounds each `park`
/// by the next timer deadline. `park` waits in `Poller::wait` and then wakes every task whose
/// source became ready; `unpark` is `Poller::notify`, which the poller remembers when no
/// thread is waiting, as the `Park` contract asks. Dropping the driver shuts it down.
pub struct Driver {
    inner: StdArc<Inner>,
    events: Events,
    ready: Vec<(Arc<Slot>, usize)>,
    wake: Vec<Waker>,
    shut_down: bool,
}

/// A handle to an IO driver: what sources register with. Cheap to clone, `Send + Sync`.
#[derive(Clone)]
pub struct Handle {
    pub(crate) inner: StdArc<Inner>,
}

impl Driver {
    /// Creates a driver and a handle to it.
    ///
    /// Sources are registered edge-triggered where the platform supports it (epoll, kqueue),
    /// and in oneshot mode, re-armed by each waiter, elsewhere.
    pub fn new() -> io::Result<(Driver, Handle)> {
        Self::build(None)
    }

    /// Like [`Driver::new`] but always uses the oneshot re-arm path, as on platforms without
    /// edge-triggered polling. Exists so that path is tested on platforms that have both.
    #[doc(hidden)]
    pub fn new_oneshot() -> io::Result<(Driver, Handle)> {
        Self::build(Some(PollMode::Oneshot))
    }

    fn build(mode: Option<PollMode>) -> io::Result<(Driver, Handle)> {
        let poller = Poller::new()?;
        let mode = mode.unwrap_or(if poller.supports_edge() {
            PollMode::Edge
        } else {
            PollMode::Oneshot
        });
        let inner = StdArc::new(Inner {
            poller,
            table: SlotTable::new(),
            mode,
        });
        let handle = Handle {
            inner: inner.clone(),
        };
        let capacity = NonZeroUsize::new(EVENTS_PER_PARK).unwrap_or(NonZeroUsize::MIN);
        let driver = Driver {
            inner,
            events: Events::with_capacity(capacity),
            ready: Vec::new(),
            wake: Vec::new(),
            shut_down: false,
        };
        Ok((driver, handle))
    }

    /// A handle to this driver.
    pub fn handle(&self) -> Handle {
        Handle {
            inner: self.inner.clone(),
        }
    }

    fn dispatch(&mut self) {
        let inner = &*self.inner;
        inner.table.resolve(
            self.events.iter().map(|event| {
                let mut ready = 0;
                if event.readable {
                    ready |= READABLE;
                }
                if event.writable {
                    ready |= WRITABLE;
                }
                if event.is_interrupt() || event.is_err() == Some(true) {
                    // Slot rule 10: a hang-up or error already queued raises no new edge.
                    ready |= HANGUP;
                }
                (event.key, ready)
            }),
            &mut self.ready,
        );
        self.events.clear();
        let wake_both = inner.mode != PollMode::Edge;
        for (slot, ready) in self.ready.drain(..) {
            slot.set_readiness(ready, wake_both, &mut self.wake);
        }
        // Woken outside every lock (rule 3), so a waker may do anything, even register again.
        self.wake.drain(..).for_each(wake_contained);
    }

    fn shutdown_now(&mut self) {
        if !self.shut_down {
            self.shut_down = true;
            self.inner.table.shutdown(&mut self.wake);
            self.wake.drain(..).for_each(wake_contained);
        }
    }
}

impl Park for Driver {
    fn park(&mut self, timeout: Option<Duration>) {
        if self.shut_down {
            return;
        }
        if timeout == Some(Duration::ZERO) && self.inner.table.is_empty() {
            // The executor's between-polls check: with no source registered there is nothing
            // to find, and `Poller::wait` costs several system calls even with a zero
            // timeout (BENCHMARKS.md). A pending `notify` stays armed for the next real wait.
            return;
        }
        // `wait` retries EINTR itself. What else it can fail with (EBADF, EINVAL on our own
        // epoll fd) cannot happen while we own the poller; `park` may return spuriously, so
        // an error is treated as an empty wake-up rather than taking the worker down.
        if self.inner.poller.wait(&mut self.events, timeout).is_ok() {
            self.dispatch();
        } else {
            self.events.clear();
        }
    }

    fn unparker(&self) -> StdArc<dyn Unpark> {
        StdArc::new(Unparker(self.inner.clone()))
    }

    fn shutdown(&mut self) {
        self.shutdown_now();
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        self.shutdown_now();
    }
}

impl fmt::Debug for Driver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Driver")
            .field("mode", &self.inner.mode)
            .field("shut_down", &self.shut_down)
            .finish_non_exhaustive()
    }
}

struct Unparker(StdArc<Inner>);

impl Unpark for Unparker {
    fn unpark(&self) {
        // notify only fails if the notifier fd is gone, which it cannot be while we hold it.
        let _ = self.0.poller.notify();
    }
}

pub use spindle_executor::runtime::{EnterGuard, TryCurrentError};

impl Handle {
    /// Makes this the current IO handle of the calling thread, without a runtime, until the
    /// guard is dropped (for a reactor used on its own; a runtime makes its drivers current
    /// itself). Guards nest: dropping one restores what was current before.
    pub fn enter(&self) -> EnterGuard<'static> {
        spindle_executor::runtime::enter_drivers(vec![StdArc::new(self.clone()) as _])
    }

    /// The calling thread's current IO handle.
    ///
    /// # Panics
    ///
    /// If no handle is current: the thread is not inside a Spindle runtime.
    #[track_caller]
    pub fn current() -> Handle {
        match Self::try_current() {
            Ok(handle) => handle,
            Err(err) => panic!("spindle::net {err}"),
        }
    }

    /// The calling thread's current IO handle, or an error outside a Spindle runtime. It is
    /// found in the executor's runtime context, which holds every driver of the runtime.
    pub fn try_current() -> Result<Handle, TryCurrentError> {
        spindle_executor::runtime::current_driver::<Handle>()
    }
}

impl fmt::Debug for Handle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Handle")
            .field("mode", &self.inner.mode)
            .finish_non_exhaustive()
    }
}
