//! The work-stealing scheduler.
//!
//! Each worker thread owns a FIFO `crossbeam_deque::Worker` and a LIFO slot. A task woken by
//! the task running on the same worker goes into the LIFO slot, so a message passed between
//! two tasks is handled while it is still in cache; the slot's previous occupant moves to
//! the back of the local queue. Wakes from outside the runtime go to the global injector.
//!
//! A worker looks for work in this order: every [`GLOBAL_QUEUE_INTERVAL`]th tick the
//! injector first (so it cannot starve), then the LIFO slot (at most [`MAX_LIFO_POLLS`] in a
//! row, so two tasks ping-ponging cannot starve the queue), its local queue, the injector,
//! and finally the other workers' queues, stealing half of a random victim's tasks. A worker
//! that finds nothing parks (see `idle.rs` for the sleep/wake protocol and `park.rs` for the
//! driver hand-off).

mod idle;
pub(crate) mod park;

use std::cell::RefCell;
use std::time::Instant;

use self::idle::Idle;
use self::park::{Parker, SharedDriver, Unparker};
use crate::park::Park;
use crate::runtime::Handle;
use crate::runtime::debug::DebugHooks;
use crate::runtime::metrics::WorkerMetrics;
use crate::sync::deque::{Injector, Steal, Stealer, Worker};
use crate::sync::{AtomicBool, Mutex, Ordering, StdArc, fence};
use crate::task::list::OwnedTasks;
use crate::task::{Notified, Schedule, Task};

/// Check the injector first every this many ticks.
pub(crate) const GLOBAL_QUEUE_INTERVAL: u32 = 61;
/// Poll the driver without blocking every this many ticks.
pub(crate) const EVENT_INTERVAL: u32 = 61;
/// Run the LIFO slot at most this many times in a row.
const MAX_LIFO_POLLS: u32 = 3;

pub(crate) struct Shared {
    injector: Injector<Notified>,
    remotes: Box<[Remote]>,
    idle: Idle,
    pub(crate) owned: OwnedTasks,
    driver: StdArc<SharedDriver>,
    shutdown: AtomicBool,
    global_queue_interval: u32,
    event_interval: u32,
    /// Worker threads, joined at shutdown.
    threads: Mutex<Vec<crate::sync::JoinHandle>>,
    debug: Option<StdArc<DebugHooks>>,
}

struct Remote {
    stealer: Stealer<Notified>,
    unparker: Unparker,
    metrics: WorkerMetrics,
}

/// What a worker thread owns.
struct Core {
    index: usize,
    local: Worker<Notified>,
    lifo: Option<Notified>,
    lifo_polls: u32,
    tick: u32,
    searching: bool,
    rng: FastRand,
    polls: u64,
    steals: u64,
    parks: u64,
}

/// A worker thread's view of itself, reachable from `schedule` through a thread-local.
struct WorkerContext {
    shared: StdArc<Shared>,
    core: RefCell<Core>,
    /// Outside the `RefCell`: while the worker is parked, the driver may wake tasks on this
    /// thread, and `schedule` then borrows the core.
    parker: Parker,
}

loom_aware_thread_local! {
    static CURRENT_WORKER: std::cell::Cell<*const WorkerContext> = const { std::cell::Cell::new(std::ptr::null()) };
}

pub(crate) struct Config {
    pub(crate) workers: usize,
    pub(crate) global_queue_interval: u32,
    pub(crate) event_interval: u32,
    pub(crate) debug: Option<StdArc<DebugHooks>>,
}

impl Shared {
    /// Builds the scheduler; the worker threads are started by [`Shared::start`].
    pub(crate) fn new(config: &Config, driver: Box<dyn Park>) -> (StdArc<Shared>, Vec<WorkerSeed>) {
        let driver = StdArc::new(SharedDriver::new(driver));
        let mut remotes = Vec::with_capacity(config.workers);
        let mut cores = Vec::with_capacity(config.workers);
        for index in 0..config.workers {
            let local = Worker::new_fifo();
            let parker = Parker::new(driver.clone());
            remotes.push(Remote {
                stealer: local.stealer(),
                unparker: parker.unparker(),
                metrics: WorkerMetrics::default(),
            });
            cores.push(WorkerSeed {
                core: Core {
                    index,
                    local,
                    lifo: None,
                    lifo_polls: 0,
                    tick: 0,
                    searching: false,
                    rng: FastRand::new(index as u64 + 1),
                    polls: 0,
                    steals: 0,
                    parks: 0,
                },
                parker,
            });
        }
        let shared = StdArc::new(Shared {
            injector: Injector::new(),
            remotes: remotes.into_boxed_slice(),
            idle: Idle::new(config.workers),
            owned: OwnedTasks::new(config.workers),
            driver,
            shutdown: AtomicBool::new(false),
            global_queue_interval: config.global_queue_interval,
            event_interval: config.event_interval,
            threads: Mutex::new(Vec::new()),
            debug: config.debug.clone(),
        });
        (shared, cores)
    }

    /// Starts one thread per core. `handle` is this runtime's handle, installed as the
    /// threads' context.
    pub(crate) fn start(
        self: &StdArc<Self>,
        seeds: Vec<WorkerSeed>,
        handle: &Handle,
        thread_name: &dyn Fn() -> String,
    ) -> std::io::Result<()> {
        for seed in seeds {
            let shared = self.clone();
            let handle = handle.clone();
            let thread =
                crate::sync::spawn_thread(thread_name(), move || run_worker(shared, seed, handle))?;
            self.threads.lock().push(thread);
        }
        Ok(())
    }

    fn is_shutdown(&self) -> bool {
        self.shutdown.load(Ordering::Acquire)
    }

    /// Idle rules 1 and 2: work was published; wake a sleeper if nobody is looking.
    fn notify_parked(&self) {
        if let Some(worker) = self.idle.worker_to_notify() {
            self.remotes[worker].unparker.unpark();
        }
    }

    fn schedule_remote(&self, task: Notified) {
        self.injector.push(task);
        // Pairs with the fence in `shutdown`: either we see the flag and drain, or the
        // shutting-down thread's drain sees our task. A task left in the injector would keep
        // the runtime alive through its scheduler reference.
        fence(Ordering::SeqCst);
        if self.is_shutdown() {
            self.drain_injector();
            return;
        }
        self.notify_parked();
    }

    fn drain_injector(&self) {
        loop {
            match self.injector.steal() {
                Steal::Success(task) => drop(task),
                Steal::Empty => break,
                Steal::Retry => {}
            }
        }
    }

    fn has_work_anywhere(&self) -> bool {
        !self.injector.is_empty() || self.remotes.iter().any(|r| !r.stealer.is_empty())
    }

    /// Stops the workers, cancels every task, shuts the driver down. Waits for the worker
    /// threads until `deadline` (forever if `None`).
    pub(crate) fn shutdown(&self, deadline: Option<Instant>) {
        if self.shutdown.swap(true, Ordering::SeqCst) {
            return;
        }
        fence(Ordering::SeqCst);
        for remote in self.remotes.iter() {
            remote.unparker.unpark();
        }
        self.driver.unpark();
        let threads = std::mem::take(&mut *self.threads.lock());
        let mut all_stopped = true;
        for thread in threads {
            all_stopped &= join_until(thread, deadline);
        }
        self.owned.close_and_shutdown_all();
        self.drain_injector();
        if all_stopped {
            self.driver.shutdown();
        }
    }

    pub(crate) fn num_workers(&self) -> usize {
        self.remotes.len()
    }

    pub(crate) fn worker_metrics(&self, worker: usize) -> &WorkerMetrics {
        &self.remotes[worker].metrics
    }

    pub(crate) fn injector_depth(&self) -> usize {
        self.injector.len()
    }

    pub(crate) fn local_depth(&self, worker: usize) -> usize {
        self.remotes[worker].stealer.len()
    }
}

/// What a worker thread starts with, handed from `Shared::new` to `Shared::start`.
pub(crate) struct WorkerSeed {
    core: Core,
    parker: Parker,
}

#[cfg(not(loom))]
fn join_until(thread: crate::sync::JoinHandle, deadline: Option<Instant>) -> bool {
    if thread.thread().id() == std::thread::current().id() {
        // The runtime is being dropped by one of its own tasks: this worker exits when the
        // task returns to its loop.
        return false;
    }
    if let Some(deadline) = deadline {
        while !thread.is_finished() {
            if Instant::now() >= deadline {
                return false;
            }
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
    }
    // A worker never panics out of its loop (task panics are caught), so this only fails if
    // the runtime itself is broken; surface that.
    thread.join().expect("a Spindle worker thread panicked");
    true
}

#[cfg(loom)]
fn join_until(thread: crate::sync::JoinHandle, _deadline: Option<Instant>) -> bool {
    thread.join().expect("a Spindle worker thread panicked");
    true
}

impl Schedule for Shared {
    fn schedule(this: &StdArc<Self>, task: Notified, is_yield: bool) {
        let ctx = CURRENT_WORKER.with(|c| c.get());
        // SAFETY: the pointer is set by `run_worker` to a context on its stack and cleared
        // before that frame ends; it is only read on the same thread.
        if let Some(ctx) = unsafe { ctx.as_ref() } {
            if StdArc::ptr_eq(&ctx.shared, this) {
                if let Ok(mut core) = ctx.core.try_borrow_mut() {
                    if !this.is_shutdown() {
                        // The worker's context holds the scheduler: no reference needed.
                        ctx.shared.schedule_local(&mut core, task, is_yield);
                        return;
                    }
                }
            }
        }
        // Queued for another thread, which may free the task (and its reference to us)
        // before `schedule_remote` is done with `self`.
        StdArc::clone(this).schedule_remote(task);
    }

    fn release(&self, task: &Task) -> Option<Task> {
        self.owned.remove(task)
    }

    fn debug_hooks(&self) -> Option<&DebugHooks> {
        self.debug.as_deref()
    }
}

impl Shared {
    fn schedule_local(&self, core: &mut Core, task: Notified, is_yield: bool) {
        let published = if is_yield {
            core.local.push(task);
            true
        } else if let Some(prev) = core.lifo.replace(task) {
            core.local.push(prev);
            true
        } else {
            false
        };
        // The LIFO slot cannot be stolen, so only a push to the local queue is new work for
        // other workers (idle rule 1).
        if published {
            self.notify_parked();
        }
    }
}

fn run_worker(shared: StdArc<Shared>, seed: WorkerSeed, handle: Handle) {
    let _enter = crate::runtime::context::enter_runtime(&handle);
    let ctx = WorkerContext {
        shared,
        core: RefCell::new(seed.core),
        parker: seed.parker,
    };
    CURRENT_WORKER.with(|c| c.set(&ctx));
    struct Reset;
    impl Drop for Reset {
        fn drop(&mut self) {
            CURRENT_WORKER.with(|c| c.set(std::ptr::null()));
        }
    }
    let _reset = Reset;
    ctx.run();
    // Shutdown: release the queued entries; the owned list cancels the tasks themselves.
    let (lifo, local) = {
        let mut core = ctx.core.borrow_mut();
        let lifo = core.lifo.take();
        let mut local = Vec::new();
        while let Some(task) = core.local.pop() {
            local.push(task);
        }
        (lifo, local)
    };
    drop(lifo);
    drop(local);
}

impl WorkerContext {
    fn run(&self) {
        let shared = &*self.shared;
        while !shared.is_shutdown() {
            let task = {
                let mut core = self.core.borrow_mut();
                core.tick = core.tick.wrapping_add(1);
                if core.tick % shared.event_interval == 0 {
                    self.publish_metrics(&core);
                    drop(core);
                    // Idle rule 6 / park rule 6: keep timers and IO going while busy.
                    shared.driver.poll_nonblocking();
                    core = self.core.borrow_mut();
                }
                self.next_task(&mut core).or_else(|| self.steal(&mut core))
            };
            match task {
                Some(task) => self.run_task(task),
                None => self.park(),
            }
        }
        let core = self.core.borrow();
        self.publish_metrics(&core);
    }

    fn next_task(&self, core: &mut Core) -> Option<Notified> {
        let shared = &*self.shared;
        if core.tick % shared.global_queue_interval == 0 {
            if let Some(task) = shared.injector.steal().success() {
                return Some(task);
            }
        }
        if core.lifo_polls < MAX_LIFO_POLLS {
            if let Some(task) = core.lifo.take() {
                core.lifo_polls += 1;
                return Some(task);
            }
        } else if let Some(task) = core.lifo.take() {
            // Let the local queue run before the LIFO task again.
            core.local.push(task);
        }
        core.lifo_polls = 0;
        core.local
            .pop()
            .or_else(|| steal_retrying(|| shared.injector.steal_batch_and_pop(&core.local)))
    }

    /// Looks for work in other workers' queues and the injector (idle rules 1, 5).
    fn steal(&self, core: &mut Core) -> Option<Notified> {
        let shared = &*self.shared;
        if !core.searching {
            if !shared.idle.try_start_searching() {
                return None;
            }
            core.searching = true;
        }
        let n = shared.remotes.len();
        let start = core.rng.next(n as u32) as usize;
        for i in 0..n {
            let victim = (start + i) % n;
            if victim == core.index {
                continue;
            }
            if let Some(task) = steal_retrying(|| {
                shared.remotes[victim]
                    .stealer
                    .steal_batch_and_pop(&core.local)
            }) {
                core.steals += 1;
                return Some(task);
            }
        }
        steal_retrying(|| shared.injector.steal_batch_and_pop(&core.local))
    }

    fn run_task(&self, task: Notified) {
        let shared = &*self.shared;
        {
            let mut core = self.core.borrow_mut();
            core.polls += 1;
            if core.searching {
                core.searching = false;
                // Idle rule 1: the last searcher found work; wake another to keep looking,
                // since there may be more where this came from.
                if shared.idle.stop_searching() {
                    drop(core);
                    shared.notify_parked();
                }
            }
        }
        task.run();
    }

    fn park(&self) {
        let shared = &*self.shared;
        let (index, was_searching) = {
            let mut core = self.core.borrow_mut();
            core.parks += 1;
            (core.index, std::mem::replace(&mut core.searching, false))
        };
        // Idle rule 3: look once more after announcing the sleep.
        shared.idle.park(index, was_searching);
        if shared.has_work_anywhere() {
            shared.notify_parked();
        }
        loop {
            {
                let core = self.core.borrow();
                self.publish_metrics(&core);
            }
            // The core is not borrowed while parked: the driver may wake tasks on this
            // thread, and `schedule` puts them in this worker's queues.
            self.parker.park();
            if shared.is_shutdown() {
                return;
            }
            let mut core = self.core.borrow_mut();
            let has_local = core.lifo.is_some() || !core.local.is_empty();
            if has_local {
                // Idle rule 6: woken by our own driver with tasks to run.
                if shared.idle.unpark(index) {
                    core.searching = true;
                }
                return;
            }
            if !shared.idle.is_parked(index) {
                // Notified (idle rule 4): we count as searching.
                core.searching = true;
                return;
            }
        }
    }

    fn publish_metrics(&self, core: &Core) {
        let metrics = &self.shared.remotes[core.index].metrics;
        metrics.polls.store(core.polls, Ordering::Relaxed);
        metrics.steals.store(core.steals, Ordering::Relaxed);
        metrics.parks.store(core.parks, Ordering::Relaxed);
    }
}

fn steal_retrying(mut steal: impl FnMut() -> Steal<Notified>) -> Option<Notified> {
    loop {
        match steal() {
            Steal::Success(task) => return Some(task),
            Steal::Empty => return None,
            Steal::Retry => std::hint::spin_loop(),
        }
    }
}

/// xorshift: enough randomness to spread steal victims, no dependency, no lock.
struct FastRand(u64);

impl FastRand {
    fn new(seed: u64) -> FastRand {
        FastRand(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    fn next(&mut self, n: u32) -> u32 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        (((x >> 32) as u32 as u64 * n as u64) >> 32) as u32
    }
}
