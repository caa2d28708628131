//! Spindle's executor: task cells, a work-stealing multi-thread scheduler, a current-thread
//! scheduler and a blocking pool.
//!
//! Most users depend on the `spindle` facade, which stacks the timer and IO drivers on this
//! crate. On its own, the executor runs futures with a plain thread parker as its driver:
//!
//! ```
//! use spindle_executor::runtime::Builder;
//!
//! let rt = Builder::new_multi_thread().worker_threads(2).build().unwrap();
//! let answer = rt.block_on(async {
//!     let task = spindle_executor::spawn(async { 6 * 7 });
//!     task.await.unwrap()
//! });
//! assert_eq!(answer, 42);
//! ```
//!
//! How a task flows from `spawn` to completion is told in the workspace's `ARCHITECTURE.md`;
//! the concurrency protocols are written down as numbered rules in the docs of
//! [`task`] (the state word), `scheduler::multi_thread::idle` (sleep and wake-up),
//! `scheduler::multi_thread::park` (the driver hand-off) and `blocking` (the pool).

/// `std::thread_local!`, or loom's under `--cfg loom` (each loom thread needs its own
/// values). loom's macro has no `const { }` initialisers, so they are stripped there.
macro_rules! loom_aware_thread_local {
    ($($(#[$attr:meta])* static $name:ident : $t:ty = const { $init:expr };)*) => {
        #[cfg(not(loom))]
        std::thread_local! { $($(#[$attr])* static $name: $t = const { $init };)* }
        #[cfg(loom)]
        loom::thread_local! { $($(#[$attr])* static $name: $t = $init;)* }
    };
}

mod blocking;
pub mod coop;
pub mod park;
pub mod runtime;
mod scheduler;
#[doc(hidden)]
pub mod sync;
pub mod task;

pub use crate::task::{JoinHandle, spawn, spawn_blocking};
