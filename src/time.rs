//! Time: sleeping, timeouts, intervals, and a paused clock for tests.
//!
//! Timers live on a hierarchical wheel (6 levels × 64 slots, 65.5 µs at the bottom); the
//! driver parks until the earliest exact deadline, so a `sleep` is never early and is not
//! rounded up to a tick.
//!
//! ```
//! use std::time::Duration;
//! use spindle::time::{self, Instant};
//!
//! spindle::run(async {
//!     let start = Instant::now();
//!     time::sleep(Duration::from_millis(5)).await;
//!     assert!(start.elapsed() >= Duration::from_millis(5));
//!     assert!(time::timeout(Duration::from_millis(1), std::future::pending::<()>()).await.is_err());
//! });
//! ```

pub use spindle_timer::error;
pub use spindle_timer::{
    Instant, Interval, MissedTickBehavior, Sleep, Timeout, advance, interval, interval_at, pause,
    resume, sleep, sleep_until, timeout, timeout_at,
};
