//! `JoinHandle` (await a task's output, abort it, detach it by dropping) and `AbortHandle`;
//! both are a counted pointer to the task cell, following the state protocol in [`super`].

use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::task::{Context, Poll};

use super::core::RawTask;
use super::error::JoinError;
use super::id::Id;
use super::{TaskState, state::Snapshot};

/// An owned permission to await a task's output.
///
/// Awaiting it gives `Ok(output)`, or a [`JoinError`] if the task was aborted or panicked.
/// It can be awaited from any task, any runtime or a plain thread
/// (`futures::executor::block_on`). Dropping it detaches the task, which runs on to
/// completion.
pub struct JoinHandle<T> {
    raw: RawTask,
    _output: PhantomData<T>,
}

// SAFETY: the handle moves `T` out of the task only (rule 7); `T: Send` makes that sound
// across threads. The raw pointer is reference-counted (rule 1).
unsafe impl<T: Send> Send for JoinHandle<T> {}
// SAFETY: `&JoinHandle` allows only `abort`, `is_finished` and `id`, all on the atomic state.
unsafe impl<T: Send> Sync for JoinHandle<T> {}

impl<T> Unpin for JoinHandle<T> {}

impl<T> JoinHandle<T> {
    pub(crate) fn new(raw: RawTask) -> JoinHandle<T> {
        JoinHandle {
            raw,
            _output: PhantomData,
        }
    }

    /// Cancels the task. If it is running, it is dropped when its current poll returns. A
    /// task that already finished keeps its output.
    pub fn abort(&self) {
        self.raw.cancel_remote();
    }

    /// Whether the task has finished (completed, panicked or been cancelled).
    pub fn is_finished(&self) -> bool {
        self.raw.header().state.load().is_complete()
    }

    /// The task's id.
    pub fn id(&self) -> Id {
        self.raw.header().id()
    }

    /// A handle that can abort the task but not await it.
    pub fn abort_handle(&self) -> AbortHandle {
        self.raw.header().state.ref_inc();
        AbortHandle { raw: self.raw }
    }
}

impl<T> Future for JoinHandle<T> {
    type Output = Result<T, JoinError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        std::task::ready!(crate::coop::poll_proceed(cx));
        let mut out: Poll<Result<T, JoinError>> = Poll::Pending;
        // SAFETY: `out` has the task's output type, and we are its JoinHandle.
        unsafe {
            self.raw
                .try_read_output(&mut out as *mut _ as *mut (), cx.waker())
        };
        out
    }
}

impl<T> Drop for JoinHandle<T> {
    fn drop(&mut self) {
        self.raw.drop_join_handle();
    }
}

impl<T> fmt::Debug for JoinHandle<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JoinHandle")
            .field("id", &self.id())
            .finish()
    }
}

/// Aborts a task without being able to await it. Cheap to clone.
pub struct AbortHandle {
    raw: RawTask,
}

impl AbortHandle {
    /// Cancels the task; see [`JoinHandle::abort`].
    pub fn abort(&self) {
        self.raw.cancel_remote();
    }

    /// Whether the task has finished.
    pub fn is_finished(&self) -> bool {
        self.raw.header().state.load().is_complete()
    }

    /// The task's id.
    pub fn id(&self) -> Id {
        self.raw.header().id()
    }
}

impl Clone for AbortHandle {
    fn clone(&self) -> Self {
        self.raw.header().state.ref_inc();
        AbortHandle { raw: self.raw }
    }
}

impl Drop for AbortHandle {
    fn drop(&mut self) {
        self.raw.drop_reference();
    }
}

impl fmt::Debug for AbortHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AbortHandle")
            .field("id", &self.id())
            .finish()
    }
}

pub(crate) fn task_state(snapshot: Snapshot) -> TaskState {
    if snapshot.is_complete() {
        TaskState::Complete
    } else if snapshot.is_cancelled() {
        TaskState::Cancelling
    } else if snapshot.is_running() {
        TaskState::Running
    } else if snapshot.is_notified() {
        TaskState::Scheduled
    } else {
        TaskState::Idle
    }
}
