//! [`Interval`], [`interval`], [`interval_at`] and [`MissedTickBehavior`].

use std::future::{Future, poll_fn};
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use crate::{Instant, Sleep, sleep_until};

/// A tick is "missed" when it completes more than this late; smaller delays are scheduling
/// noise and keep the original schedule whatever the [`MissedTickBehavior`].
const MISSED_THRESHOLD: Duration = Duration::from_millis(5);

/// Ticks every `period`, the first tick completing at once.
///
/// # Panics
/// If `period` is zero, or outside a Spindle runtime.
#[track_caller]
pub fn interval(period: Duration) -> Interval {
    assert!(!period.is_zero(), "`period` must be non-zero.");
    interval_at(Instant::now(), period)
}

/// Ticks every `period`, the first tick at `start`.
///
/// # Panics
/// If `period` is zero, or outside a Spindle runtime.
#[track_caller]
pub fn interval_at(start: Instant, period: Duration) -> Interval {
    assert!(!period.is_zero(), "`period` must be non-zero.");
    Interval {
        delay: Box::pin(sleep_until(start)),
        period,
        missed_tick_behavior: MissedTickBehavior::default(),
    }
}

/// What an [`Interval`] does when ticks were missed (the task came back more than a few
/// milliseconds after a tick was due).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MissedTickBehavior {
    /// Fire the missed ticks at once, one per `tick()`, until back on the original schedule.
    #[default]
    Burst,
    /// Start the schedule again from now: the next tick is `period` after the late one.
    Delay,
    /// Drop the missed ticks: the next tick is the next one of the original schedule that is
    /// still in the future.
    Skip,
}

impl MissedTickBehavior {
    /// The deadline after a tick that was due at `deadline` and completed late, at `now`.
    fn next_deadline(self, deadline: Instant, now: Instant, period: Duration) -> Instant {
        match self {
            MissedTickBehavior::Burst => deadline.saturating_add(period),
            MissedTickBehavior::Delay => now.saturating_add(period),
            MissedTickBehavior::Skip => {
                let period_ns = period.as_nanos();
                let late_ns = now.saturating_duration_since(deadline).as_nanos();
                // `late_ns % period_ns < period_ns`, which came from a `Duration`.
                let into_period = Duration::from_nanos((late_ns % period_ns) as u64);
                now.saturating_add(period - into_period)
            }
        }
    }
}

/// A stream of ticks `period` apart, from [`interval`] or [`interval_at`].
///
/// `tick()` is cancel-safe: dropping its future before it completes loses no tick. An
/// `Interval` is also a [`futures_core::Stream`] of the ticks' scheduled instants.
#[derive(Debug)]
pub struct Interval {
    delay: Pin<Box<Sleep>>,
    period: Duration,
    missed_tick_behavior: MissedTickBehavior,
}

impl Interval {
    /// Waits for the next tick and returns the instant it was scheduled for.
    pub async fn tick(&mut self) -> Instant {
        poll_fn(|cx| self.poll_tick(cx)).await
    }

    /// Polls for the next tick; `Ready` with its scheduled instant.
    pub fn poll_tick(&mut self, cx: &mut Context<'_>) -> Poll<Instant> {
        if self.delay.as_mut().poll(cx).is_pending() {
            return Poll::Pending;
        }
        let deadline = self.delay.deadline();
        // The runtime's clock, not this thread's: the interval may be polled off the runtime.
        let now = self.delay.clock_now();
        let late = now.saturating_duration_since(deadline) > MISSED_THRESHOLD;
        let next = if late {
            self.missed_tick_behavior
                .next_deadline(deadline, now, self.period)
        } else {
            deadline.saturating_add(self.period)
        };
        self.delay.as_mut().reset(next);
        Poll::Ready(deadline)
    }

    /// Restarts the schedule: the next tick is one `period` from now.
    pub fn reset(&mut self) {
        self.reset_at(self.delay.clock_now().saturating_add(self.period));
    }

    /// Restarts the schedule: the next tick completes at once.
    pub fn reset_immediately(&mut self) {
        self.reset_at(self.delay.clock_now());
    }

    /// Restarts the schedule: the next tick is `after` from now.
    pub fn reset_after(&mut self, after: Duration) {
        self.reset_at(self.delay.clock_now().saturating_add(after));
    }

    /// Restarts the schedule: the next tick is at `deadline`.
    pub fn reset_at(&mut self, deadline: Instant) {
        self.delay.as_mut().reset(deadline);
    }

    /// The time between ticks.
    pub fn period(&self) -> Duration {
        self.period
    }

    /// What happens when ticks are missed.
    pub fn missed_tick_behavior(&self) -> MissedTickBehavior {
        self.missed_tick_behavior
    }

    /// Sets what happens when ticks are missed.
    pub fn set_missed_tick_behavior(&mut self, behavior: MissedTickBehavior) {
        self.missed_tick_behavior = behavior;
    }
}

impl futures_core::Stream for Interval {
    type Item = Instant;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Instant>> {
        self.get_mut().poll_tick(cx).map(Some)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (usize::MAX, None)
    }
}
