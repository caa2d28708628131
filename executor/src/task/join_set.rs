//! `JoinSet`: a set of tasks joined in the order they finish; dropping it aborts them.

use std::fmt;
use std::future::{Future, poll_fn};
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_core::Stream;
use futures_util::stream::FuturesUnordered;

use super::{AbortHandle, JoinError, JoinHandle};
use crate::runtime::Handle;

/// A set of tasks awaited in completion order.
///
/// Dropping the set aborts every task still in it.
///
/// ```
/// # let rt = spindle_executor::runtime::Builder::new_current_thread().build().unwrap();
/// # rt.block_on(async {
/// use spindle_executor::task::JoinSet;
///
/// let mut set = JoinSet::new();
/// for i in 0..10 {
///     set.spawn(async move { i });
/// }
/// let mut sum = 0;
/// while let Some(result) = set.join_next().await {
///     sum += result.unwrap();
/// }
/// assert_eq!(sum, 45);
/// # });
/// ```
pub struct JoinSet<T> {
    // FuturesUnordered polls only the handles whose tasks woke it: join_next is O(ready),
    // not O(len).
    handles: FuturesUnordered<JoinHandle<T>>,
}

impl<T> JoinSet<T> {
    /// An empty set.
    pub fn new() -> Self {
        JoinSet {
            handles: FuturesUnordered::new(),
        }
    }

    /// How many tasks are in the set (finished ones not yet joined included).
    pub fn len(&self) -> usize {
        self.handles.len()
    }

    /// Whether the set holds no task.
    pub fn is_empty(&self) -> bool {
        self.handles.is_empty()
    }

    /// Aborts every task in the set. They stay in it; `join_next` returns their
    /// cancellation errors (or outputs, for those that finished first).
    pub fn abort_all(&self) {
        self.handles.iter().for_each(JoinHandle::abort);
    }

    /// Removes every task from the set without aborting them.
    pub fn detach_all(&mut self) {
        self.handles.clear();
    }

    /// Waits for the next task to finish. `None` when the set is empty.
    pub async fn join_next(&mut self) -> Option<Result<T, JoinError>> {
        poll_fn(|cx| self.poll_join_next(cx)).await
    }

    /// Polls for the next finished task.
    pub fn poll_join_next(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<T, JoinError>>> {
        Pin::new(&mut self.handles).poll_next(cx)
    }

    /// Returns a finished task's result without waiting, if there is one.
    pub fn try_join_next(&mut self) -> Option<Result<T, JoinError>> {
        let mut cx = Context::from_waker(std::task::Waker::noop());
        match self.poll_join_next(&mut cx) {
            Poll::Ready(result) => result,
            Poll::Pending => None,
        }
    }

    /// Aborts every task and waits until all have finished.
    pub async fn shutdown(&mut self) {
        self.abort_all();
        while self.join_next().await.is_some() {}
    }

    /// Waits for every task and returns their outputs in completion order.
    ///
    /// # Panics
    ///
    /// Re-raises the panic of a task that panicked, like awaiting it directly would.
    pub async fn join_all(mut self) -> Vec<T> {
        let mut outputs = Vec::with_capacity(self.len());
        while let Some(result) = self.join_next().await {
            match result {
                Ok(output) => outputs.push(output),
                Err(err) if err.is_panic() => std::panic::resume_unwind(err.into_panic()),
                Err(err) => panic!("{err}"),
            }
        }
        outputs
    }
}

impl<T: Send + 'static> JoinSet<T> {
    /// Spawns a task on the current runtime into the set.
    ///
    /// # Panics
    ///
    /// Panics outside a Spindle runtime.
    #[track_caller]
    pub fn spawn<F>(&mut self, future: F) -> AbortHandle
    where
        F: Future<Output = T> + Send + 'static,
    {
        self.insert(Handle::current_for("JoinSet::spawn").spawn(future))
    }

    /// Spawns a task on the given runtime into the set.
    #[track_caller]
    pub fn spawn_on<F>(&mut self, future: F, handle: &Handle) -> AbortHandle
    where
        F: Future<Output = T> + Send + 'static,
    {
        self.insert(handle.spawn(future))
    }

    /// Runs a blocking closure on the current runtime's blocking pool, into the set.
    #[track_caller]
    pub fn spawn_blocking<F>(&mut self, f: F) -> AbortHandle
    where
        F: FnOnce() -> T + Send + 'static,
    {
        self.insert(Handle::current_for("JoinSet::spawn_blocking").spawn_blocking(f))
    }

    fn insert(&mut self, handle: JoinHandle<T>) -> AbortHandle {
        let abort = handle.abort_handle();
        self.handles.push(handle);
        abort
    }
}

impl<T> Default for JoinSet<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T> Drop for JoinSet<T> {
    fn drop(&mut self) {
        self.abort_all();
    }
}

impl<T> fmt::Debug for JoinSet<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JoinSet").field("len", &self.len()).finish()
    }
}

impl<T: Send + 'static, F> Extend<F> for JoinSet<T>
where
    F: Future<Output = T> + Send + 'static,
{
    fn extend<I: IntoIterator<Item = F>>(&mut self, iter: I) {
        for future in iter {
            self.spawn(future);
        }
    }
}
