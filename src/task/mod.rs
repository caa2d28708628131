//! Tasks: spawning, joining, aborting, yielding, and waiting on many at once.

mod wait;

pub use spindle_executor::task::{
    AbortHandle, Builder, Id, JoinError, JoinHandle, JoinSet, TaskInfo, TaskState, id, spawn,
    spawn_blocking, try_id, yield_now,
};
pub use wait::{Finished, Plain, ReturnWhen, TaskOutcome, gather, wait};
