//! [`Instant`]: a point in time that reads the runtime's clock, paused or not.

use std::fmt;
use std::ops::{Add, AddAssign, Sub, SubAssign};
use std::time::Duration;

/// How far ahead "never" is: what `sleep(Duration::MAX)` and other unrepresentable deadlines
/// become. A deadline this far from the driver's start never fires (see `driver::NEVER_NS`).
/// About 146 years; on platforms whose `std::time::Instant` cannot hold that, 30 years.
pub(crate) const FAR_FUTURE: Duration = Duration::from_nanos(1 << 62);
const FAR_FUTURE_FALLBACK: Duration = Duration::from_secs(86_400 * 365 * 30);

/// A measurement of a monotonically nondecreasing clock, like [`std::time::Instant`], except
/// that [`Instant::now`] reads the current runtime's clock: when that clock is paused
/// ([`pause`](crate::pause), or a runtime built with `start_paused`), `now()` returns the
/// paused time, which only [`advance`](crate::advance) and auto-advance move.
///
/// Outside a runtime, `now()` is `std::time::Instant::now()`.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Instant {
    std: std::time::Instant,
}

impl Instant {
    /// The current time, from the current runtime's clock if there is one.
    pub fn now() -> Instant {
        crate::driver::current_now().unwrap_or_else(|| Instant::from_std(std::time::Instant::now()))
    }

    /// Wraps a `std::time::Instant`.
    pub fn from_std(std: std::time::Instant) -> Instant {
        Instant { std }
    }

    /// The `std::time::Instant` this wraps.
    pub fn into_std(self) -> std::time::Instant {
        self.std
    }

    /// Time from `earlier` to `self`, zero if `earlier` is later.
    pub fn duration_since(&self, earlier: Instant) -> Duration {
        self.std.saturating_duration_since(earlier.std)
    }

    /// Time from `earlier` to `self`, or `None` if `earlier` is later.
    pub fn checked_duration_since(&self, earlier: Instant) -> Option<Duration> {
        self.std.checked_duration_since(earlier.std)
    }

    /// Time from `earlier` to `self`, zero if `earlier` is later.
    pub fn saturating_duration_since(&self, earlier: Instant) -> Duration {
        self.std.saturating_duration_since(earlier.std)
    }

    /// Time since `self`, by [`Instant::now`] (zero if `self` is in the future).
    pub fn elapsed(&self) -> Duration {
        Instant::now().saturating_duration_since(*self)
    }

    /// `self + duration`, or `None` if that is not representable.
    pub fn checked_add(&self, duration: Duration) -> Option<Instant> {
        self.std.checked_add(duration).map(Instant::from_std)
    }

    /// `self - duration`, or `None` if that is not representable.
    pub fn checked_sub(&self, duration: Duration) -> Option<Instant> {
        self.std.checked_sub(duration).map(Instant::from_std)
    }

    /// `self + duration`, or a deadline so far ahead that the timer treats it as "never".
    pub(crate) fn saturating_add(self, duration: Duration) -> Instant {
        self.checked_add(duration)
            .unwrap_or_else(|| self.far_future())
    }

    /// A deadline the timer treats as "never", counted from `self`.
    pub(crate) fn far_future(self) -> Instant {
        self.checked_add(FAR_FUTURE)
            .or_else(|| self.checked_add(FAR_FUTURE_FALLBACK))
            .unwrap_or(self)
    }
}

impl From<std::time::Instant> for Instant {
    fn from(std: std::time::Instant) -> Instant {
        Instant::from_std(std)
    }
}

impl From<Instant> for std::time::Instant {
    fn from(instant: Instant) -> std::time::Instant {
        instant.into_std()
    }
}

impl Add<Duration> for Instant {
    type Output = Instant;

    /// # Panics
    /// If the result is not representable, like `std::time::Instant`'s `+`.
    fn add(self, rhs: Duration) -> Instant {
        Instant::from_std(self.std + rhs)
    }
}

impl AddAssign<Duration> for Instant {
    fn add_assign(&mut self, rhs: Duration) {
        *self = *self + rhs;
    }
}

impl Sub<Duration> for Instant {
    type Output = Instant;

    /// # Panics
    /// If the result is not representable, like `std::time::Instant`'s `-`.
    fn sub(self, rhs: Duration) -> Instant {
        Instant::from_std(self.std - rhs)
    }
}

impl SubAssign<Duration> for Instant {
    fn sub_assign(&mut self, rhs: Duration) {
        *self = *self - rhs;
    }
}

impl Sub<Instant> for Instant {
    type Output = Duration;

    /// Time from `rhs` to `self`, zero if `rhs` is later.
    fn sub(self, rhs: Instant) -> Duration {
        self.duration_since(rhs)
    }
}

impl fmt::Debug for Instant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.std.fmt(f)
    }
}
