//! Building and driving runtimes.

use std::fmt;
use std::future::Future;
use std::io;
use std::sync::Arc;
use std::time::Duration;

use spindle_executor::runtime::DriverParts;

pub use spindle_executor::runtime::{
    EnterGuard, Flavor, Handle, RuntimeMetrics, SlowPoll, TryCurrentError, UnobservedPanic,
};

use crate::task::JoinHandle;

/// A Spindle runtime: the executor with the timer and IO drivers stacked on it (asyncio's
/// event loop). Dropping it shuts it down: every task is cancelled and dropped, then the
/// drivers and the blocking pool stop.
///
/// ```
/// use std::time::Duration;
///
/// let rt = spindle::runtime::Runtime::new().unwrap();
/// let out = rt.block_on(async {
///     spindle::time::sleep(Duration::from_millis(1)).await;
///     spindle::spawn(async { "done" }).await.unwrap()
/// });
/// assert_eq!(out, "done");
/// ```
pub struct Runtime {
    inner: spindle_executor::runtime::Runtime,
}

impl Runtime {
    /// A multi-thread runtime with one worker per CPU, timers and IO.
    pub fn new() -> io::Result<Runtime> {
        Builder::new_multi_thread().build()
    }

    /// Runs a future to completion on this thread (asyncio's `loop.run_until_complete`). On
    /// a multi-thread runtime the spawned tasks run on the workers; on a current-thread
    /// runtime this thread runs them.
    ///
    /// # Panics
    ///
    /// Panics if called from a thread that is already driving a runtime.
    #[track_caller]
    pub fn block_on<F: Future>(&self, future: F) -> F::Output {
        self.inner.block_on(future)
    }

    /// Spawns a task on this runtime.
    #[track_caller]
    pub fn spawn<F>(&self, future: F) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.inner.spawn(future)
    }

    /// Runs a blocking closure on this runtime's blocking pool.
    #[track_caller]
    pub fn spawn_blocking<F, R>(&self, f: F) -> JoinHandle<R>
    where
        F: FnOnce() -> R + Send + 'static,
        R: Send + 'static,
    {
        self.inner.spawn_blocking(f)
    }

    /// A handle to this runtime, usable from any thread.
    pub fn handle(&self) -> &Handle {
        self.inner.handle()
    }

    /// Makes this runtime current on this thread until the guard is dropped, so that
    /// `spindle::spawn`, timers and sockets work outside `block_on`.
    pub fn enter(&self) -> EnterGuard<'_> {
        self.inner.enter()
    }

    /// A snapshot of the runtime's counters.
    pub fn metrics(&self) -> RuntimeMetrics {
        self.inner.metrics()
    }

    /// Shuts down, waiting at most `timeout` for worker and blocking threads to stop.
    pub fn shutdown_timeout(self, timeout: Duration) {
        self.inner.shutdown_timeout(timeout)
    }

    /// Shuts down without waiting for threads that are busy.
    pub fn shutdown_background(self) {
        self.inner.shutdown_background()
    }
}

impl fmt::Debug for Runtime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.inner.fmt(f)
    }
}

/// Configures and builds a [`Runtime`] with Spindle's timer and IO drivers stacked on the
/// executor.
///
/// ```
/// let rt = spindle::runtime::Builder::new_current_thread().build().unwrap();
/// assert_eq!(rt.block_on(async { 40 + 2 }), 42);
/// ```
#[derive(Debug)]
pub struct Builder {
    inner: spindle_executor::runtime::Builder,
    start_paused: bool,
}

impl Builder {
    /// A work-stealing runtime with one worker per CPU.
    pub fn new_multi_thread() -> Builder {
        Builder {
            inner: spindle_executor::runtime::Builder::new_multi_thread(),
            start_paused: false,
        }
    }

    /// A runtime whose tasks all run on the thread that calls `block_on`.
    pub fn new_current_thread() -> Builder {
        Builder {
            inner: spindle_executor::runtime::Builder::new_current_thread(),
            start_paused: false,
        }
    }

    /// Worker threads (multi-thread flavour; default: number of CPUs).
    #[track_caller]
    pub fn worker_threads(&mut self, n: usize) -> &mut Self {
        self.inner.worker_threads(n);
        self
    }

    /// Most blocking-pool threads at once (default 512).
    #[track_caller]
    pub fn max_blocking_threads(&mut self, n: usize) -> &mut Self {
        self.inner.max_blocking_threads(n);
        self
    }

    /// Names the runtime's threads.
    pub fn thread_name(&mut self, name: impl Into<String>) -> &mut Self {
        self.inner.thread_name(name);
        self
    }

    /// Names the runtime's threads with a function.
    pub fn thread_name_fn(&mut self, f: impl Fn() -> String + Send + Sync + 'static) -> &mut Self {
        self.inner.thread_name_fn(f);
        self
    }

    /// How long an idle blocking thread waits for work before exiting (default 10 s).
    pub fn thread_keep_alive(&mut self, keep_alive: std::time::Duration) -> &mut Self {
        self.inner.thread_keep_alive(keep_alive);
        self
    }

    /// Check the global queue first every `n` ticks (default 61).
    #[track_caller]
    pub fn global_queue_interval(&mut self, n: u32) -> &mut Self {
        self.inner.global_queue_interval(n);
        self
    }

    /// Poll for IO and timer events every `n` ticks while busy (default 61).
    #[track_caller]
    pub fn event_interval(&mut self, n: u32) -> &mut Self {
        self.inner.event_interval(n);
        self
    }

    /// Start with the clock paused (current-thread flavour only): time advances only by
    /// `time::advance`, or jumps to the next timer when every task is idle.
    pub fn start_paused(&mut self, start_paused: bool) -> &mut Self {
        self.start_paused = start_paused;
        self
    }

    /// Debug mode: report every task poll longer than `threshold` (asyncio's
    /// `slow_callback_duration`) with the task's id, name and spawn location; by default one
    /// line on stderr. `SPINDLE_DEBUG=1` in the environment sets 100 ms.
    ///
    /// ```
    /// use std::sync::{Arc, Mutex};
    /// use std::time::Duration;
    ///
    /// let slow = Arc::new(Mutex::new(Vec::new()));
    /// let seen = slow.clone();
    /// let rt = spindle::runtime::Builder::new_current_thread()
    ///     .slow_poll_threshold(Duration::from_millis(20))
    ///     .on_slow_poll(move |poll| seen.lock().unwrap().push(poll.to_string()))
    ///     .build()
    ///     .unwrap();
    /// rt.block_on(async {
    ///     // A blocking call on the runtime by mistake: it holds the thread for 50 ms.
    ///     spindle::spawn(async { std::thread::sleep(Duration::from_millis(50)) }).await.unwrap();
    /// });
    /// assert!(slow.lock().unwrap()[0].contains("longer than the 20ms threshold"));
    /// ```
    pub fn slow_poll_threshold(&mut self, threshold: Duration) -> &mut Self {
        self.inner.slow_poll_threshold(threshold);
        self
    }

    /// Where slow polls are reported (turns the reports on, 100 ms unless
    /// [`slow_poll_threshold`](Self::slow_poll_threshold) says otherwise).
    pub fn on_slow_poll(
        &mut self,
        hook: impl Fn(&SlowPoll<'_>) + Send + Sync + 'static,
    ) -> &mut Self {
        self.inner.on_slow_poll(hook);
        self
    }

    /// Debug mode: report every task that panicked with nobody to see it (its
    /// `JoinHandle` dropped without reading the panic; asyncio's "Task exception was never
    /// retrieved"). `SPINDLE_DEBUG=1` turns it on with a hook that prints one line.
    pub fn on_unobserved_panic(
        &mut self,
        hook: impl Fn(&UnobservedPanic<'_>) + Send + Sync + 'static,
    ) -> &mut Self {
        self.inner.on_unobserved_panic(hook);
        self
    }

    /// Timers and IO are always on in Spindle: kept for familiarity, does nothing.
    pub fn enable_all(&mut self) -> &mut Self {
        self
    }

    /// Timers are always on: does nothing.
    pub fn enable_time(&mut self) -> &mut Self {
        self
    }

    /// IO is always on: does nothing.
    pub fn enable_io(&mut self) -> &mut Self {
        self
    }

    /// Builds the runtime and starts its threads.
    ///
    /// Fails with `ErrorKind::Unsupported` if `start_paused` is set on a multi-thread runtime
    /// (a paused clock needs to know when every task is idle, which only the current-thread
    /// flavour can tell), or with the OS error if the reactor or a thread cannot be created.
    pub fn build(&mut self) -> io::Result<Runtime> {
        let start_paused = self.start_paused;
        if start_paused && self.inner.flavor() == Flavor::MultiThread {
            return Err(io::Error::new(
                io::ErrorKind::Unsupported,
                "start_paused(true) needs a current-thread runtime: use Builder::new_current_thread()",
            ));
        }
        self.inner.driver(move |ctx| {
            // The IO reactor is innermost: it is what actually blocks (epoll_wait), for no
            // longer than the time driver allows.
            let (io_driver, io_handle) = spindle_io::Driver::new()?;
            let (time_driver, time_handle) =
                spindle_timer::Driver::new(io_driver, ctx, start_paused);
            Ok(DriverParts {
                park: Box::new(time_driver),
                // Found by `sleep`, `connect` and the rest in the runtime's context.
                handles: vec![Arc::new(io_handle), Arc::new(time_handle)],
            })
        });
        Ok(Runtime {
            inner: self.inner.build()?,
        })
    }
}
