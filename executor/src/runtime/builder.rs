//! `runtime::Builder`: the runtime's settings (flavour, threads, intervals, debug mode) and
//! `build`, which starts the scheduler, the blocking pool and the driver the factory gives.

use std::fmt;
use std::io;
use std::time::Duration;

use super::context::DriverHandle;
use super::debug::{DebugHooks, SlowPoll, SlowPollHook, UnobservedPanic, UnobservedPanicHook};
use super::{Handle, HandleInner, Runtime, Scheduler};
use crate::blocking::BlockingPool;
use crate::park::{BlockingActivity, DriverContext, Flavor, Park, ThreadPark};
use crate::scheduler::{current_thread, multi_thread};
use crate::sync::StdArc as Arc;
use crate::sync::counter::{AtomicUsize, Ordering};

/// What a driver factory returns: the driver the idle worker parks in, and the handles that
/// code running on the runtime finds with `runtime::current_driver` (the facade gives the
/// time driver's and the reactor's).
pub struct DriverParts {
    /// The driver (drivers stack: the facade's is the time driver over the reactor).
    pub park: Box<dyn Park>,
    /// The drivers' handles, current wherever the runtime is.
    pub handles: Vec<DriverHandle>,
}

impl fmt::Debug for DriverParts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DriverParts")
            .field("handles", &self.handles.len())
            .finish_non_exhaustive()
    }
}

type DriverFactory = Arc<dyn Fn(&DriverContext) -> io::Result<DriverParts> + Send + Sync>;

/// Configures and builds a [`Runtime`].
///
/// ```
/// let rt = spindle_executor::runtime::Builder::new_multi_thread()
///     .worker_threads(2)
///     .thread_name("my-worker")
///     .build()
///     .unwrap();
/// assert_eq!(rt.block_on(async { 1 + 1 }), 2);
/// ```
pub struct Builder {
    flavor: Flavor,
    worker_threads: Option<usize>,
    max_blocking_threads: usize,
    thread_name: Arc<dyn Fn() -> String + Send + Sync>,
    keep_alive: Duration,
    global_queue_interval: u32,
    event_interval: u32,
    driver: Option<DriverFactory>,
    slow_poll_threshold: Option<Duration>,
    on_slow_poll: Option<SlowPollHook>,
    on_unobserved_panic: Option<UnobservedPanicHook>,
}

impl Builder {
    /// A work-stealing runtime with one worker per CPU.
    pub fn new_multi_thread() -> Builder {
        Builder::new(Flavor::MultiThread)
    }

    /// A runtime whose tasks all run on the thread that calls `block_on`.
    pub fn new_current_thread() -> Builder {
        Builder::new(Flavor::CurrentThread)
    }

    fn new(flavor: Flavor) -> Builder {
        Builder {
            flavor,
            worker_threads: None,
            max_blocking_threads: 512,
            thread_name: Arc::new(|| "spindle-worker".to_owned()),
            keep_alive: Duration::from_secs(10),
            global_queue_interval: multi_thread::GLOBAL_QUEUE_INTERVAL,
            event_interval: multi_thread::EVENT_INTERVAL,
            driver: None,
            slow_poll_threshold: None,
            on_slow_poll: None,
            on_unobserved_panic: None,
        }
    }

    /// Worker threads of a multi-thread runtime (default: the number of CPUs). Ignored by
    /// the current-thread flavour.
    ///
    /// # Panics
    ///
    /// Panics if `n` is 0.
    #[track_caller]
    pub fn worker_threads(&mut self, n: usize) -> &mut Self {
        assert!(n > 0, "worker_threads must be at least 1");
        self.worker_threads = Some(n);
        self
    }

    /// Most threads the blocking pool may run at once (default 512).
    ///
    /// # Panics
    ///
    /// Panics if `n` is 0.
    #[track_caller]
    pub fn max_blocking_threads(&mut self, n: usize) -> &mut Self {
        assert!(n > 0, "max_blocking_threads must be at least 1");
        self.max_blocking_threads = n;
        self
    }

    /// Names the runtime's threads.
    pub fn thread_name(&mut self, name: impl Into<String>) -> &mut Self {
        let name = name.into();
        self.thread_name = Arc::new(move || name.clone());
        self
    }

    /// Names the runtime's threads with a function (e.g. to number them).
    pub fn thread_name_fn(&mut self, f: impl Fn() -> String + Send + Sync + 'static) -> &mut Self {
        self.thread_name = Arc::new(f);
        self
    }

    /// How long an idle blocking-pool thread waits for work before it exits (default 10 s).
    pub fn thread_keep_alive(&mut self, keep_alive: Duration) -> &mut Self {
        self.keep_alive = keep_alive;
        self
    }

    /// Check the global queue first every `n` ticks (default 61).
    #[track_caller]
    pub fn global_queue_interval(&mut self, n: u32) -> &mut Self {
        assert!(n > 0, "global_queue_interval must be at least 1");
        self.global_queue_interval = n;
        self
    }

    /// Poll the driver for events every `n` ticks while busy (default 61).
    #[track_caller]
    pub fn event_interval(&mut self, n: u32) -> &mut Self {
        assert!(n > 0, "event_interval must be at least 1");
        self.event_interval = n;
        self
    }

    /// Timers and IO are always on in Spindle: kept for familiarity, does nothing.
    pub fn enable_all(&mut self) -> &mut Self {
        self
    }

    /// Sets the driver the runtime parks in (default: a plain thread parker). Used by the
    /// `spindle` facade to stack the timer and IO drivers.
    pub fn driver(
        &mut self,
        factory: impl Fn(&DriverContext) -> io::Result<DriverParts> + Send + Sync + 'static,
    ) -> &mut Self {
        self.driver = Some(Arc::new(factory));
        self
    }

    /// Debug mode: report every task poll that takes longer than `threshold` (asyncio's
    /// `slow_callback_duration`), with the task's id, name and spawn location, to the
    /// [`on_slow_poll`](Self::on_slow_poll) hook (default: one line on stderr). A slow poll
    /// is usually a blocking call on a worker, which stalls every task behind it.
    /// `SPINDLE_DEBUG=1` in the environment sets 100 ms.
    pub fn slow_poll_threshold(&mut self, threshold: Duration) -> &mut Self {
        self.slow_poll_threshold = Some(threshold);
        self
    }

    /// Where slow polls are reported (turns the reports on, with a 100 ms threshold unless
    /// [`slow_poll_threshold`](Self::slow_poll_threshold) says otherwise). A panic in the
    /// hook is contained.
    pub fn on_slow_poll(
        &mut self,
        hook: impl Fn(&SlowPoll<'_>) + Send + Sync + 'static,
    ) -> &mut Self {
        self.on_slow_poll = Some(Arc::new(hook));
        self
    }

    /// Debug mode: report every task that panicked with nobody to see it — its
    /// `JoinHandle` dropped before or after the panic, without reading it (asyncio's "Task
    /// exception was never retrieved"). `SPINDLE_DEBUG=1` turns this on with a hook that
    /// prints one line on stderr. A panic in the hook is contained.
    pub fn on_unobserved_panic(
        &mut self,
        hook: impl Fn(&UnobservedPanic<'_>) + Send + Sync + 'static,
    ) -> &mut Self {
        self.on_unobserved_panic = Some(Arc::new(hook));
        self
    }

    /// The flavour this builder builds.
    pub fn flavor(&self) -> Flavor {
        self.flavor
    }

    /// Builds the runtime and starts its threads.
    pub fn build(&mut self) -> io::Result<Runtime> {
        let activity = BlockingActivity::default();
        let ctx = DriverContext {
            flavor: self.flavor,
            blocking: activity.clone(),
        };
        let parts = match &self.driver {
            Some(factory) => factory(&ctx)?,
            None => DriverParts {
                park: Box::new(ThreadPark::new()),
                handles: Vec::new(),
            },
        };
        let debug = DebugHooks::new(
            self.slow_poll_threshold,
            self.on_slow_poll.clone(),
            self.on_unobserved_panic.clone(),
        );
        let blocking = BlockingPool::new(
            self.max_blocking_threads,
            self.keep_alive,
            blocking_thread_name(self.thread_name.clone()),
            activity,
            debug.as_deref(),
        );
        match self.flavor {
            Flavor::CurrentThread => {
                let shared = current_thread::Shared::new(
                    parts.park,
                    self.global_queue_interval,
                    self.event_interval,
                    debug.clone(),
                );
                let inner = HandleInner {
                    scheduler: Scheduler::CurrentThread(shared),
                    blocking,
                    drivers: parts.handles.into(),
                    debug,
                };
                Ok(Runtime::from_handle(Handle {
                    inner: Arc::new(inner),
                }))
            }
            Flavor::MultiThread => {
                let config = multi_thread::Config {
                    workers: self.worker_threads.unwrap_or_else(num_cpus::get).max(1),
                    global_queue_interval: self.global_queue_interval,
                    event_interval: self.event_interval,
                    debug: debug.clone(),
                };
                let (shared, seeds) = multi_thread::Shared::new(&config, parts.park);
                let inner = HandleInner {
                    scheduler: Scheduler::MultiThread(shared.clone()),
                    blocking,
                    drivers: parts.handles.into(),
                    debug,
                };
                let runtime = Runtime::from_handle(Handle {
                    inner: Arc::new(inner),
                });
                // On failure, dropping `runtime` stops the workers already started.
                shared.start(seeds, runtime.handle(), &*self.thread_name)?;
                Ok(runtime)
            }
        }
    }
}

/// Blocking threads are named after the workers, with a number, so a thread dump tells
/// them apart.
fn blocking_thread_name(
    base: Arc<dyn Fn() -> String + Send + Sync>,
) -> Arc<dyn Fn() -> String + Send + Sync> {
    let next = AtomicUsize::new(0);
    Arc::new(move || {
        format!(
            "{}-blocking-{}",
            base(),
            next.fetch_add(1, Ordering::Relaxed)
        )
    })
}

impl fmt::Debug for Builder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Builder")
            .field("flavor", &self.flavor)
            .field("worker_threads", &self.worker_threads)
            .field("max_blocking_threads", &self.max_blocking_threads)
            .field("keep_alive", &self.keep_alive)
            .finish_non_exhaustive()
    }
}
