//! The time driver: a [`Park`] that bounds its inner driver's wait by the next deadline and
//! fires expired timers, plus the [`Handle`] that timers register through.

use std::fmt;
use std::ptr::NonNull;
use std::task::Waker;
use std::time::Duration;

use spindle_executor::park::{DriverContext, Flavor, Park, Unpark, wake_contained};

use crate::Instant;
use crate::clock::Clock;
use crate::entry;
use crate::instant::FAR_FUTURE;
use crate::sync::{Arc, AtomicBool, Mutex, Ordering, StdArc};
use crate::wheel::{Node, Wheel};

/// Deadlines this far (ns) from the driver's start never fire: `Duration::MAX` and other
/// unrepresentable deadlines end up here (see [`FAR_FUTURE`]).
const NEVER_NS: u64 = FAR_FUTURE.as_nanos() as u64;

/// `State::sleeping_until` while the driver is awake: it looks at the wheel before it parks
/// again, so registrations need not wake it.
const AWAKE: u64 = 0;

/// How long a paused clock's driver waits, in real time, between looks while a blocking
/// closure runs (auto-advance must not jump then).
const BLOCKING_RECHECK: Duration = Duration::from_millis(1);

/// Wakers taken under the lock are called after it, this many at a time.
const WAKE_BATCH: usize = 32;

pub(crate) const SHUT_DOWN: &str =
    "the Spindle runtime this timer belongs to has shut down; its timers can no longer fire";

/// The time driver. Stack it on the IO driver (or a `ThreadPark`) and hand it to the
/// executor: it implements [`Park`] itself.
///
/// `park(None)` parks the inner driver no longer than until the next deadline, then fires
/// the timers that expired and wakes their tasks. `park(Some(Duration::ZERO))` polls the inner
/// driver and fires whatever is due without blocking. With a paused clock, `park(None)` is
/// also where the clock auto-advances (see [`Driver::new`]).
pub struct Driver<P: Park> {
    inner: P,
    handle: Handle,
}

/// A handle to a time driver: what timers register through. Cheap to clone, `Send + Sync`.
///
/// The runtime makes it current on each of its threads with [`Handle::enter`]; `sleep`,
/// `timeout`, `interval` and [`Instant::now`] find it there.
#[derive(Clone)]
pub struct Handle {
    pub(crate) shared: Arc<Shared>,
}

pub use spindle_executor::runtime::{EnterGuard, TryCurrentError};

pub(crate) struct Shared {
    pub(crate) state: Mutex<State>,
    pub(crate) clock: Clock,
    /// Tick 0 of the wheel.
    origin: std::time::Instant,
    unparker: StdArc<TimeUnparker>,
    flavor: Flavor,
    blocking_active: Box<dyn Fn() -> usize + Send + Sync>,
    /// A copy of `State::shutdown` for owners' lock-free fast path (rule 8).
    shut_down: AtomicBool,
}

pub(crate) struct State {
    pub(crate) wheel: Wheel,
    /// The time (ns) the driver is parked, or about to park, toward; `u64::MAX` for no
    /// deadline, [`AWAKE`] while it is not parked (rule 7).
    pub(crate) sleeping_until: u64,
    pub(crate) shutdown: bool,
}

/// The driver's unparker: the inner one, plus a flag that tells auto-advance a wake came
/// from outside (some task may have been woken), so the clock must not jump this time.
struct TimeUnparker {
    woken: AtomicBool,
    inner: StdArc<dyn Unpark>,
}

impl Unpark for TimeUnparker {
    fn unpark(&self) {
        self.woken.store(true, Ordering::Release);
        self.inner.unpark();
    }
}

impl<P: Park> Driver<P> {
    /// Builds a time driver over `inner` for the runtime described by `ctx`.
    ///
    /// With `start_paused`, the clock starts paused (tests): time moves only by
    /// [`advance`](crate::advance) and by auto-advance, which happens when the executor calls
    /// `park(None)` (every task idle) while no `spawn_blocking` closure is active: the clock
    /// jumps straight to the next deadline and fires it.
    ///
    /// # Panics
    /// If `start_paused` is set for a multi-thread runtime: a paused clock needs the
    /// current-thread flavour, where `park(None)` means that every task is idle.
    #[track_caller]
    pub fn new(inner: P, ctx: &DriverContext, start_paused: bool) -> (Driver<P>, Handle) {
        let blocking = ctx.blocking().clone();
        Self::with_parts(inner, ctx.flavor(), move || blocking.active(), start_paused)
    }

    /// Like [`Driver::new`], for executors (and tests) without a `DriverContext`:
    /// `blocking_active` returns how many blocking closures are queued or running.
    #[track_caller]
    pub fn with_parts(
        inner: P,
        flavor: Flavor,
        blocking_active: impl Fn() -> usize + Send + Sync + 'static,
        start_paused: bool,
    ) -> (Driver<P>, Handle) {
        if start_paused && flavor == Flavor::MultiThread {
            panic!(
                "start_paused is only supported on a current_thread runtime: build it with \
                 Builder::new_current_thread()"
            );
        }
        let origin = std::time::Instant::now();
        let unparker = StdArc::new(TimeUnparker {
            woken: AtomicBool::new(false),
            inner: inner.unparker(),
        });
        let shared = Arc::new(Shared {
            state: Mutex::new(State {
                wheel: Wheel::new(),
                sleeping_until: AWAKE,
                shutdown: false,
            }),
            clock: Clock::new(origin, start_paused),
            origin,
            unparker,
            flavor,
            blocking_active: Box::new(blocking_active),
            shut_down: AtomicBool::new(false),
        });
        let handle = Handle { shared };
        let driver = Driver {
            inner,
            handle: handle.clone(),
        };
        (driver, handle)
    }

    /// The handle timers register through.
    pub fn handle(&self) -> &Handle {
        &self.handle
    }

    /// The driver this one is stacked on.
    pub fn inner(&self) -> &P {
        &self.inner
    }

    /// The driver this one is stacked on.
    pub fn inner_mut(&mut self) -> &mut P {
        &mut self.inner
    }

    /// Parks toward the next deadline (or for `timeout` if shorter), then fires what is due.
    fn park_until_next_deadline(&mut self, timeout: Option<Duration>) {
        let shared = &*self.handle.shared;
        let target = {
            let mut state = shared.state.lock();
            let target = state.wheel.next_wake_ns();
            // Rule 7: announce the sleep before releasing the lock.
            state.sleeping_until = target.unwrap_or(u64::MAX).max(AWAKE + 1);
            target
        };
        // Paused time does not pass while parked: only a wake (or `timeout`) ends the wait.
        let until_deadline = match target {
            Some(target) if !shared.clock.is_paused() => {
                Some(Duration::from_nanos(target.saturating_sub(shared.now_ns())))
            }
            _ => None,
        };
        let park_for = match (timeout, until_deadline) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        self.inner.park(park_for);
        shared.state.lock().sleeping_until = AWAKE;
        shared.fire_expired(shared.now_ns());
    }

    /// `park(None)` on a paused clock: every task is idle, so jump to the next deadline.
    fn park_auto_advance(&mut self) {
        let shared = &*self.handle.shared;
        if (shared.blocking_active)() > 0 {
            // A blocking closure may be about to wake a task or register a timer: let real
            // time pass instead of jumping.
            self.park_until_next_deadline(Some(BLOCKING_RECHECK));
            return;
        }
        // Take in pending events first: what they wake must run before time jumps. A wake
        // from another thread means the same.
        self.inner.park(Some(Duration::ZERO));
        if shared.unparker.woken.swap(false, Ordering::AcqRel) {
            return;
        }
        loop {
            let target = shared.state.lock().wheel.next_wake_ns();
            let Some(target) = target else {
                // Only "never" timers, or none: nothing will move the clock; wait for a wake.
                self.park_until_next_deadline(None);
                return;
            };
            shared
                .clock
                .advance_to(shared.origin + Duration::from_nanos(target));
            if shared.fire_expired(shared.now_ns()) > 0 {
                return;
            }
            // The jump only reached a cascade point: go on to the next deadline.
        }
    }
}

impl<P: Park> Park for Driver<P> {
    fn park(&mut self, timeout: Option<Duration>) {
        let shared = &*self.handle.shared;
        if timeout == Some(Duration::ZERO) {
            // The executor's between-polls check: never blocks, never auto-advances.
            self.inner.park(Some(Duration::ZERO));
            shared.fire_expired(shared.now_ns());
            return;
        }
        if shared.fire_expired(shared.now_ns()) > 0 {
            // Woken tasks are work to do: only poll the inner driver's events.
            self.inner.park(Some(Duration::ZERO));
            return;
        }
        if timeout.is_none() && shared.clock.is_paused() {
            self.park_auto_advance();
        } else {
            self.park_until_next_deadline(timeout);
        }
    }

    fn unparker(&self) -> StdArc<dyn Unpark> {
        self.handle.shared.unparker.clone()
    }

    fn shutdown(&mut self) {
        self.handle.shared.shutdown();
        self.inner.shutdown();
    }
}

impl<P: Park> Drop for Driver<P> {
    fn drop(&mut self) {
        // Timers of a dropped driver can never fire: tell their owners (rule 8).
        self.handle.shared.shutdown();
    }
}

impl<P: Park> fmt::Debug for Driver<P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Driver")
            .field("handle", &self.handle)
            .finish_non_exhaustive()
    }
}

impl Handle {
    /// The time handle of the runtime this thread is in.
    ///
    /// # Panics
    /// Outside a Spindle runtime, with a message that says how to fix it.
    #[track_caller]
    pub fn current() -> Handle {
        match Handle::try_current() {
            Ok(handle) => handle,
            Err(err) => panic!("spindle::time {err}"),
        }
    }

    /// The time handle of the runtime this thread is in, if any. It is found in the
    /// executor's runtime context, which holds every driver of the runtime.
    pub fn try_current() -> Result<Handle, TryCurrentError> {
        spindle_executor::runtime::current_driver::<Handle>()
    }

    /// Makes this handle current on this thread, without a runtime, until the guard is
    /// dropped (for a driver used on its own; a runtime makes its drivers current itself).
    pub fn enter(&self) -> EnterGuard<'static> {
        spindle_executor::runtime::enter_drivers(vec![spindle_executor::sync::StdArc::new(
            self.clone(),
        ) as _])
    }

    /// The driver's clock: paused time if it is paused.
    pub fn now(&self) -> Instant {
        self.shared.clock.now()
    }

    /// Whether the driver's clock is paused.
    pub fn is_paused(&self) -> bool {
        self.shared.clock.is_paused()
    }

    /// Pauses the clock. See [`pause`](crate::pause).
    #[track_caller]
    pub(crate) fn pause(&self) {
        if self.shared.flavor == Flavor::MultiThread {
            panic!(
                "spindle::time::pause() is only supported on a current_thread runtime: build it \
                 with Builder::new_current_thread(), or use #[spindle::test(start_paused = true)]"
            );
        }
        self.shared.clock.pause();
    }

    #[track_caller]
    pub(crate) fn resume(&self) {
        self.shared.clock.resume();
    }

    /// Moves a paused clock by exactly `duration` and fires what is due.
    #[track_caller]
    pub(crate) fn advance(&self, duration: Duration) {
        self.shared.clock.advance(duration);
        self.shared.fire_expired(self.shared.now_ns());
    }
}

impl fmt::Debug for Handle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Handle")
            .field("paused", &self.is_paused())
            .finish_non_exhaustive()
    }
}

/// `Instant::now()` from the current runtime's clock, if this thread has one.
pub(crate) fn current_now() -> Option<Instant> {
    spindle_executor::runtime::with_current_driver(Handle::now).ok()
}

impl Shared {
    /// Nanoseconds from the origin to `instant` (0 before it, saturating far ahead).
    fn ns_since_origin(&self, instant: Instant) -> u64 {
        let since = instant.into_std().saturating_duration_since(self.origin);
        u64::try_from(since.as_nanos()).unwrap_or(u64::MAX)
    }

    pub(crate) fn now_ns(&self) -> u64 {
        self.ns_since_origin(self.clock.now())
    }

    /// The wheel time of `deadline`, or `None` if it is far enough to mean "never".
    pub(crate) fn deadline_ns(&self, deadline: Instant) -> Option<u64> {
        let ns = self.ns_since_origin(deadline);
        (ns < NEVER_NS).then_some(ns)
    }

    pub(crate) fn is_shut_down(&self) -> bool {
        self.shut_down.load(Ordering::Acquire)
    }

    pub(crate) fn unpark(&self) {
        self.unparker.unpark();
    }

    /// Fires every timer due at `now_ns`; returns how many fired. Wakers are called outside
    /// the lock, [`WAKE_BATCH`] at a time (rule 3).
    pub(crate) fn fire_expired(&self, now_ns: u64) -> usize {
        let mut fired = 0;
        loop {
            let mut batch = WakeBatch::new();
            let mut state = self.state.lock();
            while !batch.is_full() {
                let Some(node) = state.wheel.poll_expired(now_ns) else {
                    break;
                };
                fired += 1;
                // SAFETY: `node` was just handed back by `poll_expired` and the lock is held
                // (rule 3).
                if let Some(waker) = unsafe { entry::fire(node) } {
                    batch.push(waker);
                }
            }
            let more = batch.is_full();
            drop(state);
            batch.wake_all();
            if !more {
                return fired;
            }
        }
    }

    /// Rule 8: no timer will fire any more; wake every owner so it finds out.
    fn shutdown(&self) {
        let mut wakers = Vec::new();
        {
            let mut state = self.state.lock();
            if state.shutdown {
                return;
            }
            state.shutdown = true;
            self.shut_down.store(true, Ordering::Release);
            state.wheel.drain(|node: NonNull<Node>| {
                // SAFETY: `drain` just unlinked `node`; the lock is held (rule 8).
                if let Some(waker) = unsafe { entry::take_waker_at_shutdown(node) } {
                    wakers.push(waker);
                }
            });
        }
        wakers.into_iter().for_each(wake_contained);
    }
}

/// Wakers collected under the lock, to be called after it.
struct WakeBatch {
    wakers: [Option<Waker>; WAKE_BATCH],
    len: usize,
}

impl WakeBatch {
    fn new() -> Self {
        Self {
            wakers: std::array::from_fn(|_| None),
            len: 0,
        }
    }

    fn is_full(&self) -> bool {
        self.len == WAKE_BATCH
    }

    fn push(&mut self, waker: Waker) {
        self.wakers[self.len] = Some(waker);
        self.len += 1;
    }

    fn wake_all(&mut self) {
        for waker in self.wakers[..self.len].iter_mut() {
            if let Some(waker) = waker.take() {
                wake_contained(waker);
            }
        }
        self.len = 0;
    }
}
