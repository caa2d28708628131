//! Task ids: unique for the life of the process, and the "current task" a poll runs as.

use std::fmt;
use std::num::NonZeroU64;

/// A task's id: unique among all tasks of the process for its lifetime.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Id(NonZeroU64);

impl Id {
    pub(crate) fn next() -> Id {
        // Plain std atomic even under loom: ids are not part of any protocol, and a loom
        // atomic cannot live in a static.
        // A process-wide static: std's atomic even under loom (a plain counter, no protocol).
        static NEXT: crate::sync::counter::AtomicU64 = crate::sync::counter::AtomicU64::new(1);
        let id = NEXT.fetch_add(1, crate::sync::counter::Ordering::Relaxed);
        Id(NonZeroU64::new(id).expect("task id counter wrapped"))
    }

    /// The id as a number.
    pub fn as_u64(&self) -> u64 {
        self.0.get()
    }

    /// The id whose number is `n`, if `n` is not 0 (every id is at least 1). For the task
    /// header, which stores an id as a bare number (`core::IdMeta`).
    pub(crate) fn from_u64(n: u64) -> Option<Id> {
        NonZeroU64::new(n).map(Id)
    }
}

impl fmt::Display for Id {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

loom_aware_thread_local! {
    static CURRENT_TASK: std::cell::Cell<Option<Id>> = const { std::cell::Cell::new(None) };
}

/// Sets the current task id for the duration of a poll (or a drop of the future).
pub(crate) struct CurrentTaskGuard(Option<Id>);

impl CurrentTaskGuard {
    pub(crate) fn enter(id: Id) -> Self {
        CurrentTaskGuard(CURRENT_TASK.with(|c| c.replace(Some(id))))
    }
}

impl Drop for CurrentTaskGuard {
    fn drop(&mut self) {
        CURRENT_TASK.with(|c| c.set(self.0));
    }
}

/// The id of the task being polled on this thread.
///
/// # Panics
///
/// Panics outside a task.
#[track_caller]
pub fn id() -> Id {
    try_id()
        .expect("spindle::task::id() called outside a task: no task is being polled on this thread")
}

/// The id of the task being polled on this thread, or `None` outside a task.
pub fn try_id() -> Option<Id> {
    CURRENT_TASK.with(|c| c.get())
}
