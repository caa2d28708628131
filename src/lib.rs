//! Spindle: an async runtime for Rust — what asyncio's event loop is to Python.
//!
//! Tasks, a work-stealing scheduler, timers, sockets and a thread pool for blocking calls,
//! composed from small crates: `spindle-executor`, `spindle-timer`, `spindle-io`.
//!
//! ```
//! use std::time::Duration;
//!
//! let total = spindle::run(async {
//!     let tasks: Vec<_> = (1..=3u64)
//!         .map(|i| spindle::spawn(async move { i * 10 }))
//!         .collect();
//!     let mut total = 0;
//!     for task in tasks {
//!         total += task.await.unwrap();
//!     }
//!     total
//! });
//! assert_eq!(total, 60);
//! ```

#[cfg(feature = "hyper")]
pub mod hyper;
pub mod io;
pub mod net;
pub mod runtime;
pub mod sync;
pub mod task;
pub mod time;

pub use spindle_executor::coop;
pub use spindle_macros::{main, test};
pub use task::{spawn, spawn_blocking};

use std::future::Future;

/// Runs a future to completion on a new multi-thread runtime, then shuts the runtime
/// down (asyncio's `asyncio.run`).
///
/// # Panics
///
/// Panics if the runtime cannot be built, or if called from inside a runtime.
#[track_caller]
pub fn run<F: Future>(future: F) -> F::Output {
    let rt = runtime::Builder::new_multi_thread()
        .build()
        .unwrap_or_else(|err| panic!("spindle::run could not build a runtime: {err}"));
    rt.block_on(future)
}
