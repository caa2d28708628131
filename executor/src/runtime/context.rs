//! Thread-local runtime context: which runtime `spawn`, timers and sockets use on this thread.

use std::any::Any;
use std::cell::{Cell, RefCell};
use std::marker::PhantomData;

use super::{Handle, TryCurrentError};

loom_aware_thread_local! {
    static CURRENT: RefCell<Option<Handle>> = const { RefCell::new(None) };
    /// Set while this thread drives a runtime (a worker, or inside `block_on`): blocking it
    /// again with a nested `block_on` would stall every task it runs.
    static DRIVING: Cell<bool> = const { Cell::new(false) };
}

pub(crate) fn current() -> Result<Handle, TryCurrentError> {
    CURRENT
        .try_with(|c| c.borrow().clone())
        .map_err(|_| TryCurrentError::ThreadLocalDestroyed)?
        .ok_or(TryCurrentError::NoContext)
}

/// Makes a handle current on this thread until dropped. Not `Send`: it restores
/// thread-local state.
#[must_use = "the runtime context is left when the guard is dropped"]
pub struct EnterGuard<'a> {
    prev: Option<Handle>,
    // Dropped after `prev` is restored: the drivers' guards restore their own state.
    _driver_guard: Option<Box<dyn Any>>,
    _marker: PhantomData<(&'a Handle, *const ())>,
}

pub(crate) fn enter(handle: &Handle) -> EnterGuard<'static> {
    // A runtime dropped in a thread-local destructor enters its context to shut down, and
    // this slot may already be destroyed then: shutdown goes on without it.
    let prev = CURRENT
        .try_with(|c| c.borrow_mut().replace(handle.clone()))
        .ok()
        .flatten();
    let driver_guard = handle.inner.enter_hook.as_ref().map(|hook| hook());
    EnterGuard {
        prev,
        _driver_guard: driver_guard,
        _marker: PhantomData,
    }
}

impl Drop for EnterGuard<'_> {
    fn drop(&mut self) {
        let prev = self.prev.take();
        // During thread teardown the slot may be gone; nothing to restore then.
        let _ = CURRENT.try_with(|c| *c.borrow_mut() = prev);
    }
}

/// Context for a thread that drives the runtime: its handle is current, and a nested
/// `block_on` panics.
pub(crate) struct RuntimeGuard {
    _enter: EnterGuard<'static>,
    was_driving: bool,
}

pub(crate) fn enter_runtime(handle: &Handle) -> RuntimeGuard {
    let was_driving = DRIVING.with(|d| d.replace(true));
    RuntimeGuard {
        _enter: enter(handle),
        was_driving,
    }
}

impl Drop for RuntimeGuard {
    fn drop(&mut self) {
        let _ = DRIVING.try_with(|d| d.set(self.was_driving));
    }
}

#[track_caller]
pub(crate) fn assert_not_driving() {
    if DRIVING.with(|d| d.get()) {
        panic!(
            "Cannot block_on inside a Spindle runtime: this thread is driving tasks, and blocking \
             it would stall them. Use `.await` instead, or run the blocking code with \
             `spindle::task::spawn_blocking`."
        );
    }
}
