//! The runtime: a scheduler, a blocking pool and a driver, and the handles that reach them.

mod builder;
pub(crate) mod context;
pub(crate) mod debug;
pub(crate) mod metrics;

use std::fmt;
use std::future::Future;
use std::io;
use std::time::{Duration, Instant};

pub use self::builder::{Builder, DriverParts};
pub use self::context::{
    DriverHandle, EnterGuard, current_driver, enter_drivers, with_current_driver,
};
pub use self::debug::{SlowPoll, UnobservedPanic};
pub use self::metrics::RuntimeMetrics;
pub use crate::park::Flavor;

use crate::blocking::BlockingPool;
use crate::scheduler::{current_thread, multi_thread};
use crate::sync::StdArc;
use crate::task::list::spawn_into;
use crate::task::{JoinHandle, TaskInfo, TaskMeta};

/// A running Spindle runtime. Dropping it shuts it down: every task is cancelled and
/// dropped, then the driver and the blocking pool stop.
pub struct Runtime {
    handle: Handle,
    /// Set by `shutdown_timeout`, so the drop that follows does not wait again.
    shut_down: bool,
}

/// A cheap, cloneable reference to a runtime, usable from any thread.
#[derive(Clone)]
pub struct Handle {
    pub(crate) inner: StdArc<HandleInner>,
}

pub(crate) struct HandleInner {
    scheduler: Scheduler,
    blocking: BlockingPool,
    /// The drivers' handles, made current with the runtime (`context::current_driver`).
    pub(crate) drivers: StdArc<[DriverHandle]>,
    /// Debug mode's hooks; `None` when it is off, and then tasks record no spawn location.
    pub(crate) debug: Option<StdArc<debug::DebugHooks>>,
}

enum Scheduler {
    MultiThread(StdArc<multi_thread::Shared>),
    CurrentThread(StdArc<current_thread::Shared>),
}

/// Why there is no runtime (or driver) to use on this thread: from [`Handle::try_current`],
/// and from the timer's and the reactor's `try_current`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TryCurrentError {
    #[doc(hidden)]
    NoContext,
    #[doc(hidden)]
    ThreadLocalDestroyed,
    /// The runtime has no driver of this type (a bare executor runtime has no timers or
    /// sockets; the `spindle` facade's runtimes have both).
    #[doc(hidden)]
    NoDriver(&'static str),
}

/// The one message for "no runtime here", wherever it is noticed.
pub const NO_RUNTIME: &str = "must be called from inside a Spindle runtime: use #[spindle::main], \
     spindle::run or Runtime::block_on (or enter one with Handle::enter)";

impl TryCurrentError {
    /// No runtime was entered on this thread.
    pub fn is_missing_context(&self) -> bool {
        matches!(self, TryCurrentError::NoContext)
    }

    /// The thread is exiting and its runtime context is already gone.
    pub fn is_thread_local_destroyed(&self) -> bool {
        matches!(self, TryCurrentError::ThreadLocalDestroyed)
    }
}

impl fmt::Display for TryCurrentError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TryCurrentError::NoContext => f.write_str(NO_RUNTIME),
            TryCurrentError::ThreadLocalDestroyed => write!(
                f,
                "{NO_RUNTIME}; this thread's runtime context was already destroyed (the thread \
                 is exiting)"
            ),
            TryCurrentError::NoDriver(driver) => write!(
                f,
                "must be called from inside a Spindle runtime with timers and IO: this runtime \
                 has no {driver} (build it with spindle::runtime::Builder, not \
                 spindle_executor's)"
            ),
        }
    }
}

impl std::error::Error for TryCurrentError {}

impl Runtime {
    /// A multi-thread runtime with default settings (no timer or IO driver: those come with
    /// the `spindle` facade).
    pub fn new() -> io::Result<Runtime> {
        Builder::new_multi_thread().build()
    }

    pub(crate) fn from_handle(handle: Handle) -> Runtime {
        Runtime {
            handle,
            shut_down: false,
        }
    }

    /// Runs a future to completion on this thread, and returns its output (asyncio's
    /// `loop.run_until_complete`). On a multi-thread runtime, spawned tasks run on the
    /// workers and this thread only waits; on a current-thread runtime, this thread runs
    /// them.
    ///
    /// # Panics
    ///
    /// Panics if called from a thread that is already driving a runtime (a task, or
    /// another `block_on`).
    #[track_caller]
    pub fn block_on<F: Future>(&self, future: F) -> F::Output {
        self.handle.block_on(future)
    }

    /// Spawns a task on this runtime.
    #[track_caller]
    pub fn spawn<F>(&self, future: F) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.handle.spawn(future)
    }

    /// Runs a blocking closure on this runtime's blocking pool.
    #[track_caller]
    pub fn spawn_blocking<F, R>(&self, f: F) -> JoinHandle<R>
    where
        F: FnOnce() -> R + Send + 'static,
        R: Send + 'static,
    {
        self.handle.spawn_blocking(f)
    }

    /// A handle to this runtime, usable from any thread.
    pub fn handle(&self) -> &Handle {
        &self.handle
    }

    /// Makes this runtime current on this thread until the guard is dropped.
    pub fn enter(&self) -> EnterGuard<'_> {
        self.handle.enter()
    }

    /// A snapshot of the runtime's counters.
    pub fn metrics(&self) -> RuntimeMetrics {
        self.handle.metrics()
    }

    /// Shuts down, waiting at most `timeout` for worker and blocking threads to stop.
    /// Threads still busy after that (a task stuck in a blocking call) are left behind.
    pub fn shutdown_timeout(mut self, timeout: Duration) {
        self.handle.shutdown(Some(Instant::now() + timeout));
        self.shut_down = true;
    }

    /// Shuts down without waiting for threads that are busy.
    pub fn shutdown_background(self) {
        self.shutdown_timeout(Duration::ZERO)
    }
}

impl Drop for Runtime {
    fn drop(&mut self) {
        if !self.shut_down {
            self.handle.shutdown(None);
        }
    }
}

impl fmt::Debug for Runtime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Runtime")
            .field("flavor", &self.handle.flavor())
            .finish()
    }
}

impl Handle {
    /// The handle of the runtime this thread is in.
    ///
    /// # Panics
    ///
    /// Panics outside a runtime, with a message that says how to get one.
    #[track_caller]
    pub fn current() -> Handle {
        Self::current_for("Handle::current()")
    }

    #[track_caller]
    pub(crate) fn current_for(what: &str) -> Handle {
        match context::current() {
            Ok(handle) => handle,
            Err(err) => panic!("{what} {err}"),
        }
    }

    /// The handle of the runtime this thread is in, or why there is none.
    pub fn try_current() -> Result<Handle, TryCurrentError> {
        context::current()
    }

    /// Makes this runtime current on this thread until the guard is dropped, so that
    /// `spindle::spawn`, timers and sockets work from plain threads.
    pub fn enter(&self) -> EnterGuard<'_> {
        context::enter(self)
    }

    /// Which scheduler this runtime runs.
    pub fn flavor(&self) -> Flavor {
        match &self.inner.scheduler {
            Scheduler::MultiThread(_) => Flavor::MultiThread,
            Scheduler::CurrentThread(_) => Flavor::CurrentThread,
        }
    }

    /// Spawns a task on this runtime. After shutdown, the task is cancelled at once and its
    /// handle reports it.
    #[track_caller]
    pub fn spawn<F>(&self, future: F) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.spawn_named(future, None)
    }

    #[track_caller]
    pub(crate) fn spawn_named<F>(&self, future: F, name: Option<Box<str>>) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        let meta = TaskMeta::new(name, self.spawned_at());
        match &self.inner.scheduler {
            Scheduler::MultiThread(shared) => spawn_into(&shared.owned, shared, future, meta),
            Scheduler::CurrentThread(shared) => spawn_into(&shared.owned, shared, future, meta),
        }
    }

    /// The caller's location when debug mode is on (its reports say where a task came from).
    #[track_caller]
    pub(crate) fn spawned_at(&self) -> Option<&'static std::panic::Location<'static>> {
        // Not `bool::then(Location::caller)`: called through a function pointer, `caller`
        // would report the closure call inside `then`.
        if self.inner.debug.is_some() {
            Some(std::panic::Location::caller())
        } else {
            None
        }
    }

    /// Runs a blocking closure on the blocking pool.
    ///
    /// # Panics
    ///
    /// Panics if no thread can be started to run it (the error says why).
    #[track_caller]
    pub fn spawn_blocking<F, R>(&self, f: F) -> JoinHandle<R>
    where
        F: FnOnce() -> R + Send + 'static,
        R: Send + 'static,
    {
        self.spawn_blocking_named(f, None)
    }

    #[track_caller]
    pub(crate) fn spawn_blocking_named<F, R>(&self, f: F, name: Option<Box<str>>) -> JoinHandle<R>
    where
        F: FnOnce() -> R + Send + 'static,
        R: Send + 'static,
    {
        let meta = TaskMeta::new(name, self.spawned_at());
        match self.inner.blocking.spawn(f, self, meta) {
            Ok(join) => join,
            Err(err) => panic!("{err}"),
        }
    }

    /// Runs a future to completion on this thread; see [`Runtime::block_on`].
    #[track_caller]
    pub fn block_on<F: Future>(&self, future: F) -> F::Output {
        context::assert_not_driving();
        let _guard = context::enter_runtime(self);
        match &self.inner.scheduler {
            Scheduler::MultiThread(_) => block_on_thread(future),
            Scheduler::CurrentThread(shared) => shared.block_on(future),
        }
    }

    /// A snapshot of every live task: id, name and state.
    pub fn tasks(&self) -> Vec<TaskInfo> {
        self.owned().snapshot()
    }

    fn owned(&self) -> &crate::task::list::OwnedTasks {
        match &self.inner.scheduler {
            Scheduler::MultiThread(shared) => &shared.owned,
            Scheduler::CurrentThread(shared) => &shared.owned,
        }
    }

    /// Counters: workers, live and spawned tasks, polls, steals, parks, queue depths,
    /// blocking threads.
    pub fn metrics(&self) -> RuntimeMetrics {
        let owned = self.owned();
        let blocking = &self.inner.blocking;
        let mut metrics = RuntimeMetrics {
            live_tasks: owned.len(),
            spawned_tasks: owned.spawned(),
            blocking_threads: blocking.num_threads(),
            idle_blocking_threads: blocking.num_idle(),
            blocking_queue_depth: blocking.queue_depth(),
            ..RuntimeMetrics::default()
        };
        match &self.inner.scheduler {
            Scheduler::MultiThread(shared) => {
                metrics.workers = shared.num_workers();
                metrics.global_queue_depth = shared.injector_depth();
                for worker in 0..shared.num_workers() {
                    let (polls, steals, parks) = shared.worker_metrics(worker).load();
                    metrics.polls += polls;
                    metrics.steals += steals;
                    metrics.parks += parks;
                    metrics.local_queue_depths.push(shared.local_depth(worker));
                }
            }
            Scheduler::CurrentThread(shared) => {
                use crate::sync::Ordering::Relaxed;
                metrics.workers = 1;
                metrics.global_queue_depth = shared.injector_depth();
                metrics.polls = shared.polls.load(Relaxed);
                metrics.parks = shared.parks.load(Relaxed);
                metrics
                    .local_queue_depths
                    .push(shared.local_depth.load(Relaxed) as usize);
            }
        }
        metrics
    }

    fn shutdown(&self, deadline: Option<Instant>) {
        // Futures dropped here may use the runtime's drivers in their destructors.
        let _enter = self.enter();
        match &self.inner.scheduler {
            Scheduler::MultiThread(shared) => shared.shutdown(deadline),
            Scheduler::CurrentThread(shared) => shared.shutdown(),
        }
        self.inner.blocking.shutdown(deadline);
    }
}

/// Runtime-neutral spawning: a library written against `futures_task::Spawn` (or
/// `futures::task::SpawnExt`) spawns onto this runtime. The task is detached, as with a
/// dropped `JoinHandle`; `SpawnExt::spawn_with_handle` gives a handle of its own. After the
/// runtime has shut down, spawning fails with `SpawnError::shutdown()`.
impl futures_task::Spawn for Handle {
    fn spawn_obj(
        &self,
        future: futures_task::FutureObj<'static, ()>,
    ) -> Result<(), futures_task::SpawnError> {
        self.status()?;
        drop(self.spawn(future));
        Ok(())
    }

    fn status(&self) -> Result<(), futures_task::SpawnError> {
        if self.owned().is_closed() {
            Err(futures_task::SpawnError::shutdown())
        } else {
            Ok(())
        }
    }
}

impl fmt::Debug for Handle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Handle")
            .field("flavor", &self.flavor())
            .finish()
    }
}

/// Blocks this thread (not a worker) until `future` completes.
fn block_on_thread<F: Future>(future: F) -> F::Output {
    use std::task::{Context, Poll, Waker};
    let mut future = std::pin::pin!(future);
    let notify = StdArc::new(current_thread::ThreadNotify::new());
    let waker = Waker::from(notify.clone());
    let mut cx = Context::from_waker(&waker);
    loop {
        if let Poll::Ready(output) = crate::coop::with_budget(|| future.as_mut().poll(&mut cx)) {
            return output;
        }
        notify.wait();
    }
}
