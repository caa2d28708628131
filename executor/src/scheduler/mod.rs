//! The two schedulers: `multi_thread` (work-stealing workers) and `current_thread` (every
//! task on the thread inside `block_on`).

pub(crate) mod current_thread;
pub(crate) mod multi_thread;
