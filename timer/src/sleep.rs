//! [`Sleep`], [`sleep`] and [`sleep_until`].

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use spindle_executor::coop;

use crate::Instant;
use crate::driver::Handle;
use crate::entry::TimerEntry;

/// Waits until `duration` has elapsed.
///
/// Equivalent to `sleep_until(Instant::now() + duration)`, except that a duration too long to
/// add (`Duration::MAX`) means "never" instead of overflowing. The sleep is registered with the
/// timer when first polled and never completes before its deadline; the wheel fires it at most
/// one tick (65.5 µs) late when many timers share that tick, plus the time to wake its task.
///
/// # Panics
/// Outside a Spindle runtime.
#[track_caller]
pub fn sleep(duration: Duration) -> Sleep {
    let handle = Handle::current();
    let deadline = handle.now().saturating_add(duration);
    Sleep::new_in(handle, deadline)
}

/// Waits until `deadline` is reached. A deadline in the past completes at the first poll.
///
/// # Panics
/// Outside a Spindle runtime.
#[track_caller]
pub fn sleep_until(deadline: Instant) -> Sleep {
    Sleep::new_in(Handle::current(), deadline)
}

/// The future returned by [`sleep`] and [`sleep_until`].
///
/// `Sleep` is `!Unpin` (its timer entry is linked into the wheel in place); pin it with
/// `std::pin::pin!` or `Box::pin` to poll it by hand. Dropping it cancels the timer. It is
/// cancel-safe: dropping it before it completes loses nothing.
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct Sleep {
    entry: TimerEntry,
}

impl Sleep {
    pub(crate) fn new_in(handle: Handle, deadline: Instant) -> Sleep {
        Sleep {
            entry: TimerEntry::new(handle, deadline),
        }
    }

    /// The instant at which this sleep completes.
    pub fn deadline(&self) -> Instant {
        self.entry.deadline()
    }

    /// The current time on the clock of the runtime this sleep belongs to (which may be
    /// paused), whichever thread asks.
    pub(crate) fn clock_now(&self) -> Instant {
        self.entry.handle().now()
    }

    /// Whether the deadline has been reached (by the runtime's clock).
    pub fn is_elapsed(&self) -> bool {
        self.entry.has_fired() || self.entry.handle().now() >= self.entry.deadline()
    }

    /// Moves the deadline to `deadline`, whether or not this sleep has completed: it then
    /// completes when the new deadline is reached. The task is not woken by the reset itself.
    pub fn reset(self: Pin<&mut Self>, deadline: Instant) {
        self.entry_mut().reset(deadline);
    }

    fn entry_mut(self: Pin<&mut Self>) -> Pin<&mut TimerEntry> {
        // SAFETY: structural pinning of `entry`: `Sleep` never moves it out and has no
        // `Unpin` impl or `Drop` that could.
        unsafe { self.map_unchecked_mut(|sleep| &mut sleep.entry) }
    }

    /// Polls the deadline without spending coop budget (for `Timeout`, whose inner future
    /// may have spent it all).
    pub(crate) fn poll_elapsed(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        self.entry_mut().poll_elapsed(cx)
    }
}

impl Future for Sleep {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        match self.poll_elapsed(cx) {
            // Completing spends budget, so a loop over ready timers still yields.
            Poll::Ready(()) => coop::poll_proceed(cx),
            Poll::Pending => Poll::Pending,
        }
    }
}

impl fmt::Debug for Sleep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sleep")
            .field("deadline", &self.deadline())
            .finish_non_exhaustive()
    }
}
