//! Spindle's timers: a hierarchical timing wheel, the time driver that fires it, and the
//! `sleep` / `timeout` / `interval` API that the `spindle` facade re-exports as
//! `spindle::time`.
//!
//! The wheel has 6 levels of 64 slots, 65.5 µs (2^16 ns) per slot at level 0 and each level
//! 64 times coarser; entries are intrusive, so starting, cancelling and resetting a timer
//! never allocates. The [`Driver`] wraps the executor's next [`Park`](spindle_executor::park::Park)
//! implementation (the IO driver, or a plain thread parker): it parks no longer than until the
//! next exact deadline, then fires what expired. A paused clock ([`pause`], or a runtime built
//! with `start_paused`) jumps straight to the next deadline whenever every task is idle, so a
//! test of a one-hour timeout runs in microseconds.
//!
//! ```
//! use std::time::Duration;
//! use spindle::time::{self, Instant, MissedTickBehavior};
//!
//! spindle::run(async {
//!     let start = Instant::now();
//!     time::sleep(Duration::from_millis(10)).await;
//!     assert!(start.elapsed() >= Duration::from_millis(10));
//!
//!     let never = std::future::pending::<()>();
//!     assert!(time::timeout(Duration::from_millis(5), never).await.is_err());
//!
//!     let mut ticks = time::interval(Duration::from_millis(2));
//!     ticks.set_missed_tick_behavior(MissedTickBehavior::Skip);
//!     for _ in 0..3 {
//!         ticks.tick().await;
//!     }
//! });
//! ```
//!
//! Without the facade, a runtime stacks the driver on its parker, makes the handle current on
//! each of its threads, and parks in the driver when it has nothing to poll:
//!
//! ```
//! use std::future::Future;
//! use std::pin::pin;
//! use std::task::{Context, Waker};
//! use std::time::Duration;
//! use spindle_executor::park::{Flavor, Park, ThreadPark};
//! use spindle_timer::{Driver, Instant, sleep};
//!
//! let (mut driver, handle) =
//!     Driver::with_parts(ThreadPark::new(), Flavor::CurrentThread, || 0, false);
//! let _entered = handle.enter();
//! let start = Instant::now();
//! let mut nap = pin!(sleep(Duration::from_millis(2)));
//! let mut cx = Context::from_waker(Waker::noop());
//! while nap.as_mut().poll(&mut cx).is_pending() {
//!     driver.park(None); // parks until the nap's deadline, then fires it
//! }
//! assert!(start.elapsed() >= Duration::from_millis(2));
//! ```

#![warn(missing_docs)]

mod clock;
mod driver;
mod entry;
pub mod error;
mod instant;
mod interval;
mod sleep;
use spindle_executor::sync;
mod timeout;
mod wheel;

#[cfg(all(test, loom))]
mod loom_tests;

use std::time::Duration;

pub use driver::{Driver, EnterGuard, Handle, TryCurrentError};
pub use instant::Instant;
pub use interval::{Interval, MissedTickBehavior, interval, interval_at};
pub use sleep::{Sleep, sleep, sleep_until};
pub use timeout::{Timeout, timeout, timeout_at};

/// Pauses the current runtime's clock: from now on [`Instant::now`] stands still except for
/// [`advance`] and auto-advance (when every task is idle and no `spawn_blocking` closure runs,
/// the clock jumps to the next timer's deadline).
///
/// # Panics
/// Outside a Spindle runtime, on a multi-thread runtime (only the current-thread flavour
/// knows when every task is idle), or if the clock is already paused.
#[track_caller]
pub fn pause() {
    Handle::current().pause();
}

/// Lets a paused clock run again, from the paused time on.
///
/// # Panics
/// Outside a Spindle runtime, or if the clock is not paused.
#[track_caller]
pub fn resume() {
    Handle::current().resume();
}

/// Moves the paused clock forward by exactly `duration` (no rounding to the timer's
/// tick), fires every timer now due, then yields once so the tasks it woke run before
/// this returns.
///
/// # Panics
/// Outside a Spindle runtime, or if the clock is not paused.
pub async fn advance(duration: Duration) {
    let handle = Handle::current();
    handle.advance(duration);
    spindle_executor::task::yield_now().await;
}
