//! `task::Builder`: spawn with a name (asyncio's `create_task(coro, name=...)`).

use std::future::Future;
use std::io;

use super::JoinHandle;
use crate::runtime::Handle;

/// Configures a task before spawning it (asyncio's `create_task(coro, name=...)`).
///
/// ```
/// # let rt = spindle_executor::runtime::Builder::new_current_thread().build().unwrap();
/// # rt.block_on(async {
/// let task = spindle_executor::task::Builder::new().name("n1").spawn(async { 1 }).unwrap();
/// assert_eq!(task.await.unwrap(), 1);
/// # });
/// ```
#[derive(Debug, Default)]
pub struct Builder<'a> {
    name: Option<&'a str>,
}

impl<'a> Builder<'a> {
    /// A builder for an unnamed task.
    pub fn new() -> Self {
        Builder { name: None }
    }

    /// Names the task: the name shows in `Handle::tasks()` and in `JoinError` messages.
    pub fn name(self, name: &'a str) -> Self {
        Builder { name: Some(name) }
    }

    /// Spawns on the current runtime. Fails (rather than panicking) outside a runtime.
    #[track_caller]
    pub fn spawn<F>(self, future: F) -> io::Result<JoinHandle<F::Output>>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        let handle = Handle::try_current().map_err(io::Error::other)?;
        self.spawn_on(future, &handle)
    }

    /// Spawns on the given runtime.
    #[track_caller]
    pub fn spawn_on<F>(self, future: F, handle: &Handle) -> io::Result<JoinHandle<F::Output>>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        Ok(handle.spawn_named(future, self.name.map(Box::from)))
    }

    /// Runs a blocking closure on the current runtime's blocking pool.
    #[track_caller]
    pub fn spawn_blocking<F, R>(self, f: F) -> io::Result<JoinHandle<R>>
    where
        F: FnOnce() -> R + Send + 'static,
        R: Send + 'static,
    {
        let handle = Handle::try_current().map_err(io::Error::other)?;
        Ok(handle.spawn_blocking_named(f, self.name.map(Box::from)))
    }
}
