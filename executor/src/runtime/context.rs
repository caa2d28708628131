//! The runtime context: which runtime, and which drivers, `spawn`, timers and sockets use on
//! this thread.
//!
//! One thread-local for all of Spindle. It holds the current runtime's [`Handle`] and the
//! handles of its drivers (the time driver's, the reactor's), which the driver crates find
//! here by type ([`current_driver`]) instead of keeping thread-locals of their own. So there
//! is one way in ([`Handle::enter`], or [`enter_drivers`] for a driver used without a
//! runtime, as the drivers' own tests do), one guard ([`EnterGuard`]), one error
//! ([`TryCurrentError`]) and one message for "no runtime here".
//!
//! Every access tolerates a destroyed thread-local: a runtime dropped in a thread-local
//! destructor still enters its context to shut down.

use std::any::Any;
use std::cell::{Cell, RefCell};
use std::marker::PhantomData;

use super::{Handle, TryCurrentError};
use crate::sync::StdArc;

/// A driver's handle, as a driver factory hands it to the runtime (`DriverParts::handles`).
pub type DriverHandle = StdArc<dyn Any + Send + Sync>;

#[derive(Default)]
struct Context {
    handle: Option<Handle>,
    drivers: Option<StdArc<[DriverHandle]>>,
}

loom_aware_thread_local! {
    static CURRENT: RefCell<Context> = const {
        RefCell::new(Context { handle: None, drivers: None })
    };
    /// Set while this thread drives a runtime (a worker, or inside `block_on`): blocking it
    /// again with a nested `block_on` would stall every task it runs.
    static DRIVING: Cell<bool> = const { Cell::new(false) };
}

pub(crate) fn current() -> Result<Handle, TryCurrentError> {
    CURRENT
        .try_with(|c| c.borrow().handle.clone())
        .map_err(|_| TryCurrentError::ThreadLocalDestroyed)?
        .ok_or(TryCurrentError::NoContext)
}

/// The current runtime's driver of type `T` (its handle, cloned).
///
/// Fails outside a runtime, or if the runtime has no such driver (a bare executor runtime,
/// built without the `spindle` facade, has neither timers nor sockets).
pub fn current_driver<T: Any + Clone>() -> Result<T, TryCurrentError> {
    with_current_driver(T::clone)
}

/// Runs `f` on the current runtime's driver of type `T`, without cloning its handle.
pub fn with_current_driver<T: Any, R>(f: impl FnOnce(&T) -> R) -> Result<R, TryCurrentError> {
    CURRENT
        .try_with(|c| {
            let c = c.borrow();
            let Some(drivers) = &c.drivers else {
                return Err(TryCurrentError::NoContext);
            };
            let driver = drivers
                .iter()
                .find_map(|d| d.downcast_ref::<T>())
                .ok_or(TryCurrentError::NoDriver(std::any::type_name::<T>()))?;
            Ok(f(driver))
        })
        .map_err(|_| TryCurrentError::ThreadLocalDestroyed)?
}

/// Makes a runtime (or a set of drivers) current on this thread until dropped. Not `Send`:
/// it restores thread-local state.
#[must_use = "the runtime context is left when the guard is dropped"]
pub struct EnterGuard<'a> {
    /// `None` if the thread-local was already destroyed: nothing to restore then.
    prev: Option<Context>,
    _marker: PhantomData<(&'a Handle, *const ())>,
}

impl std::fmt::Debug for EnterGuard<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EnterGuard").finish_non_exhaustive()
    }
}

fn replace(next: Context) -> EnterGuard<'static> {
    // A runtime dropped in a thread-local destructor enters its context to shut down, and
    // this slot may already be destroyed then: shutdown goes on without it.
    let prev = CURRENT
        .try_with(|c| std::mem::replace(&mut *c.borrow_mut(), next))
        .ok();
    EnterGuard {
        prev,
        _marker: PhantomData,
    }
}

pub(crate) fn enter(handle: &Handle) -> EnterGuard<'static> {
    replace(Context {
        handle: Some(handle.clone()),
        drivers: Some(handle.inner.drivers.clone()),
    })
}

/// Makes `drivers` current on this thread without a runtime, until the guard is dropped.
///
/// For a driver used on its own (the timer's and the reactor's tests run them under a
/// one-future loop of their own); a runtime makes its drivers current itself.
pub fn enter_drivers(drivers: Vec<DriverHandle>) -> EnterGuard<'static> {
    let handle = CURRENT
        .try_with(|c| c.borrow().handle.clone())
        .ok()
        .flatten();
    replace(Context {
        handle,
        drivers: Some(drivers.into()),
    })
}

impl Drop for EnterGuard<'_> {
    fn drop(&mut self) {
        if let Some(prev) = self.prev.take() {
            // During thread teardown the slot may be gone; nothing to restore then. The
            // replaced context is dropped outside the borrow: a handle's drop may re-enter.
            let current = CURRENT
                .try_with(|c| std::mem::replace(&mut *c.borrow_mut(), prev))
                .ok();
            drop(current);
        }
    }
}

/// Context for a thread that drives the runtime: its handle is current, and a nested
/// `block_on` panics.
pub(crate) struct RuntimeGuard {
    _enter: EnterGuard<'static>,
    was_driving: bool,
}

pub(crate) fn enter_runtime(handle: &Handle) -> RuntimeGuard {
    let was_driving = DRIVING.try_with(|d| d.replace(true)).unwrap_or(false);
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
    if DRIVING.try_with(|d| d.get()).unwrap_or(false) {
        panic!(
            "Cannot block_on inside a Spindle runtime: this thread is driving tasks, and blocking \
             it would stall them. Use `.await` instead, or run the blocking code with \
             `spindle::task::spawn_blocking`."
        );
    }
}
