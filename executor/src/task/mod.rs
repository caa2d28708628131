//! Tasks: one allocation per spawned future, and the handles that point into it.
//!
//! # Layout
//!
//! A task is a single heap cell: a `Header` (state word, vtable, one word for the id or a
//! pointer to a box holding the id beside the name and spawn location, a thin scheduler
//! pointer, the owned list's links, join waker: eight words, 64 bytes on 64-bit targets)
//! followed by a `Stage` that holds first the future, then its output (or the [`JoinError`]
//! that replaces it), then nothing. The stage is an untagged union, as large as the larger of
//! the future and the output: which of them it holds is told by the state word (rule 10). So on
//! 64-bit targets an idle task whose future is a small `async` block is a 72-byte allocation.
//! Everything that refers to a task — a run-queue entry, a `Waker`, a `JoinHandle`, an
//! `AbortHandle`, the owned list — is a pointer to the header plus one counted reference. The
//! vtable is the only place that knows the future's and the scheduler's types.
//!
//! # The protocol
//!
//! The state word (see `state.rs`) is the only thing threads race on. These rules are cited
//! by number in the code, the `SAFETY:` comments and the loom models (`src/task/loom.rs`).
//!
//! 1. **References.** Each run-queue entry, waker, `JoinHandle`, `AbortHandle` and the owned
//!    list hold one reference. Whoever drops the count to zero deallocates; at that point no
//!    one else can reach the cell.
//! 2. **Running.** Only the holder of the RUNNING bit touches the future. A run-queue entry
//!    claims RUNNING by clearing NOTIFIED; if the task is already RUNNING or COMPLETE (it
//!    was claimed by shutdown), the entry just releases its reference.
//! 3. **Notified.** NOTIFIED means "one run-queue entry exists or is about to". A wake while
//!    RUNNING only sets the bit; the runner, seeing it at the end of the poll, turns its own
//!    reference into the new entry. So a task is in at most one queue at a time and a wake
//!    during a poll is never lost.
//! 4. **Wakes.** A wake of an idle task sets NOTIFIED and submits an entry (by value: the
//!    waker's reference becomes the entry; by reference: a new reference is added). A wake of
//!    a NOTIFIED or COMPLETE task does nothing.
//! 5. **Completion.** The runner stores the output, then flips RUNNING to COMPLETE in one
//!    atomic step. After that the task side never touches the stage again unless
//!    JOIN_INTEREST was already clear, in which case the runner drops the output itself.
//! 6. **Cancellation.** Abort sets CANCELLED. An idle task also gets NOTIFIED and an entry,
//!    so a worker claims it and, seeing CANCELLED, drops the future instead of polling. A
//!    running task is cancelled by its runner when the poll ends. The future is always
//!    dropped by the RUNNING holder, never by the aborting thread.
//! 7. **Join interest.** JOIN_INTEREST is cleared by the `JoinHandle`'s drop only while the
//!    task is not COMPLETE. If it was COMPLETE, the handle owns the output and drops it
//!    (unless it already took it: once COMPLETE, the handle clears the bit when it takes the
//!    output, rule 10).
//! 8. **Join waker.** The join waker cell belongs to the `JoinHandle` while JOIN_WAKER is
//!    clear and to the task side while it is set. The handle writes the waker, then sets the
//!    bit (Release); if the task completed first the bit stays clear and the handle takes
//!    its waker back out. To look at or replace the waker, the handle first clears the bit
//!    (failing if the task completed), even to find the same waker there. The completer touches the cell only if the bit was
//!    set when it flipped COMPLETE (Acquire): it takes the waker out and wakes it by value,
//!    inside `catch_unwind`. Dropping the handle before COMPLETE clears JOIN_INTEREST and
//!    JOIN_WAKER in one step and drops the waker itself. Once COMPLETE, JOIN_WAKER never
//!    changes and the handle never touches the cell. So a join waker lives no longer than
//!    the handle's interest and the completion wake: two tasks awaiting each other's
//!    handles cannot keep each other's cells (and through them the runtime) alive.
//! 9. **Shutdown.** Shutdown sets CANCELLED and, if no one holds RUNNING, claims it and drops
//!    the future on the shutting-down thread. A running task is left to its runner (rule 6).
//! 10. **Stage.** The stage carries no tag of its own: what it holds follows from the state
//!     word, and only the one thread the rules above give it to reads, takes or drops it.
//!     - *Not COMPLETE*: the future, which is the RUNNING holder's (rule 2). Finishing (the
//!       poll returned `Ready` or panicked, or the task is cancelled), the runner drops the
//!       future, leaving the stage empty, then writes the output, all under RUNNING and
//!       before it flips COMPLETE (rule 5), so no other thread sees those steps (the runner
//!       always goes on to complete the task).
//!     - *COMPLETE, JOIN_INTEREST set*: the output, which is the `JoinHandle`'s (rule 7).
//!       The handle clears JOIN_INTEREST (one RMW) when it takes the output, so the bit then
//!       means "not yet taken": a second poll finds it clear and panics instead of reading a
//!       moved-out value, and the handle's drop then drops nothing. A handle dropped
//!       without taking it drops the output itself, leaving the bit set: nothing looks at
//!       the stage after the handle is gone.
//!     - *COMPLETE, JOIN_INTEREST clear when COMPLETE was flipped*: the output, which the
//!       completer drops at once (rule 5); then nothing.
//!     - *At deallocation* (rule 1): not COMPLETE means the future is still there (a task
//!       freed before it ran to completion) and `dealloc` drops it; COMPLETE means the stage
//!       is empty, because the completer and the handle each dropped or took the output
//!       before releasing the reference they held.

mod builder;
mod core;
mod error;
mod id;
mod join;
mod join_set;
pub(crate) mod list;
pub(crate) mod state;
mod waker;
mod yield_now;

#[cfg(all(test, loom))]
mod loom;

pub use self::builder::Builder;
pub use self::error::JoinError;
pub use self::id::{Id, id, try_id};
pub use self::join::{AbortHandle, JoinHandle};
pub use self::join_set::JoinSet;
pub use self::yield_now::yield_now;

pub(crate) use self::core::{Notified, Schedule, Task, TaskMeta, new_task};

/// A snapshot of one live task, from `Handle::tasks()`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TaskInfo {
    /// The task's id.
    pub id: Id,
    /// The name given with `task::Builder::name`.
    pub name: Option<String>,
    /// Where it stood when the snapshot was taken.
    pub state: TaskState,
}

/// Where a task stood when it was looked at.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TaskState {
    /// Waiting to be woken.
    Idle,
    /// Woken, waiting in a run queue.
    Scheduled,
    /// Being polled right now.
    Running,
    /// Abort requested, not yet acted on.
    Cancelling,
    /// Finished; its output waits for its `JoinHandle`.
    Complete,
}

/// Spawns a future onto the current runtime.
///
/// # Panics
///
/// Panics if called outside a Spindle runtime; see [`crate::runtime::Handle::current`].
#[track_caller]
pub fn spawn<F>(future: F) -> JoinHandle<F::Output>
where
    F: std::future::Future + Send + 'static,
    F::Output: Send + 'static,
{
    crate::runtime::Handle::current_for("spindle::spawn").spawn(future)
}

/// Runs a blocking closure on the runtime's blocking pool (asyncio's `run_in_executor`).
///
/// # Panics
///
/// Panics if called outside a Spindle runtime.
#[track_caller]
pub fn spawn_blocking<F, R>(f: F) -> JoinHandle<R>
where
    F: FnOnce() -> R + Send + 'static,
    R: Send + 'static,
{
    crate::runtime::Handle::current_for("spindle::task::spawn_blocking").spawn_blocking(f)
}
