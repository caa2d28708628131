//! Runtime metrics: a cheap snapshot for dashboards and tests.

use crate::sync::Ordering;
use crate::sync::counter::AtomicU64;

/// Counters each worker publishes from time to time (relaxed, so they may lag a little).
#[derive(Default)]
pub(crate) struct WorkerMetrics {
    pub(crate) polls: AtomicU64,
    pub(crate) steals: AtomicU64,
    pub(crate) parks: AtomicU64,
}

impl WorkerMetrics {
    pub(crate) fn load(&self) -> (u64, u64, u64) {
        (
            self.polls.load(Ordering::Relaxed),
            self.steals.load(Ordering::Relaxed),
            self.parks.load(Ordering::Relaxed),
        )
    }
}

/// A snapshot of a runtime's counters, from `Handle::metrics()`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct RuntimeMetrics {
    /// Worker threads (1 for a current-thread runtime: the `block_on` thread).
    pub workers: usize,
    /// Tasks spawned and not yet finished (blocking tasks not included).
    pub live_tasks: usize,
    /// Tasks ever spawned (blocking tasks not included).
    pub spawned_tasks: u64,
    /// Task polls, all workers together.
    pub polls: u64,
    /// Successful steals from another worker's queue.
    pub steals: u64,
    /// Times a worker went to sleep for lack of work.
    pub parks: u64,
    /// Tasks waiting in the global (injector) queue.
    pub global_queue_depth: usize,
    /// Tasks waiting in each worker's local queue.
    pub local_queue_depths: Vec<usize>,
    /// Threads in the blocking pool, busy or idle.
    pub blocking_threads: usize,
    /// Idle threads in the blocking pool.
    pub idle_blocking_threads: usize,
    /// Blocking closures queued, waiting for a thread.
    pub blocking_queue_depth: usize,
}
