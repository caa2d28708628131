//! Tasks: spawning, joining, aborting, yielding.

pub use spindle_executor::task::{
    AbortHandle, Builder, Id, JoinError, JoinHandle, JoinSet, TaskInfo, TaskState, id, spawn,
    spawn_blocking, try_id, yield_now,
};
