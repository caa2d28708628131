//! The driver's clock: real time, or a paused time that only moves when told to.

use std::time::Duration;

use crate::Instant;
use crate::sync::{AtomicBool, Mutex, Ordering};

/// One runtime's clock.
///
/// While it was never paused, reading it is one relaxed load plus `std::time::Instant::now()`.
/// Once paused, `now = base` while paused and `base + (time since unfrozen)` after a resume,
/// so resuming continues from the paused time instead of jumping back to real time.
#[derive(Debug)]
pub(crate) struct Clock {
    /// Set once, on the first pause; until then `now()` need not lock.
    ever_paused: AtomicBool,
    /// Whether the clock is paused now (a copy of `state.unfrozen.is_none()`).
    paused: AtomicBool,
    state: Mutex<ClockState>,
}

#[derive(Debug)]
struct ClockState {
    base: std::time::Instant,
    /// When the clock last started running; `None` while paused.
    unfrozen: Option<std::time::Instant>,
}

impl Clock {
    pub(crate) fn new(start: std::time::Instant, start_paused: bool) -> Self {
        Self {
            ever_paused: AtomicBool::new(start_paused),
            paused: AtomicBool::new(start_paused),
            state: Mutex::new(ClockState {
                base: start,
                unfrozen: (!start_paused).then_some(start),
            }),
        }
    }

    pub(crate) fn now(&self) -> Instant {
        if !self.ever_paused.load(Ordering::Acquire) {
            return Instant::from_std(std::time::Instant::now());
        }
        let state = self.state.lock();
        Instant::from_std(match state.unfrozen {
            Some(unfrozen) => state.base + unfrozen.elapsed(),
            None => state.base,
        })
    }

    pub(crate) fn is_paused(&self) -> bool {
        self.paused.load(Ordering::Acquire)
    }

    /// Freezes the clock at the current time. Panics if it is already paused.
    #[track_caller]
    pub(crate) fn pause(&self) {
        let mut state = self.state.lock();
        let Some(unfrozen) = state.unfrozen else {
            drop(state);
            panic!("spindle::time::pause(): the clock is already paused");
        };
        state.base += unfrozen.elapsed();
        state.unfrozen = None;
        self.paused.store(true, Ordering::Release);
        self.ever_paused.store(true, Ordering::Release);
    }

    /// Lets a paused clock run again from the paused time. Panics if it is not paused.
    #[track_caller]
    pub(crate) fn resume(&self) {
        let mut state = self.state.lock();
        if state.unfrozen.is_some() {
            drop(state);
            panic!("spindle::time::resume(): the clock is not paused");
        }
        state.unfrozen = Some(std::time::Instant::now());
        self.paused.store(false, Ordering::Release);
    }

    /// Moves a paused clock forward by exactly `duration`. Panics if it is not paused.
    #[track_caller]
    pub(crate) fn advance(&self, duration: Duration) {
        let mut state = self.state.lock();
        if state.unfrozen.is_some() {
            drop(state);
            panic!(
                "spindle::time::advance(): the clock is not paused; call spindle::time::pause() \
                 first or build the runtime with start_paused(true)"
            );
        }
        let base = Instant::from_std(state.base);
        state.base = base.saturating_add(duration).into_std();
    }

    /// Moves a paused clock forward to `target` if it is behind it (auto-advance).
    pub(crate) fn advance_to(&self, target: std::time::Instant) {
        let mut state = self.state.lock();
        if state.unfrozen.is_none() && state.base < target {
            state.base = target;
        }
    }
}
