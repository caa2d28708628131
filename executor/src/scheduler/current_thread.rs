//! The current-thread scheduler: every task runs on the thread that calls `block_on`.
//!
//! The *core* (local FIFO queue and driver) belongs to whichever thread is inside
//! `block_on`. Tasks run in the order they were scheduled, and a task that yields goes to
//! the back of the queue: the tutorial's func1/func2 interleave exactly as under asyncio.
//! Wakes from other threads, and spawns while no thread holds the core, go to a
//! mutex-protected injector that the core drains.
//!
//! # Protocol
//!
//! Cited by the code and the loom models (`tests/loom_runtime.rs`):
//!
//! 1. **One core holder.** The core is in `Shared::core` while no thread is inside
//!    `block_on`. A `block_on` takes it under the mutex and holds it until it returns or
//!    unwinds (`CoreGuard`), then puts it back under the mutex and wakes every waker in
//!    `core_waiters`.
//! 2. **Waiting for the core.** A `block_on` that finds no core polls its own future alone,
//!    with a thread waker. Before sleeping it registers that waker in `core_waiters`, then
//!    looks at the core again under the mutex: a core given back before the look is seen,
//!    and one given back after it finds the waker registered (rule 1 puts the core back
//!    before it takes the waiters).
//! 3. **Scheduling.** On the thread that holds the core (its context in `CURRENT`, the core
//!    not borrowed), a task goes to the back of the local queue. Anywhere else it goes to
//!    the injector under its mutex, and then the driver is unparked; the `Park` contract
//!    remembers an unpark that comes before the holder parks, so the holder never sleeps
//!    on a non-empty injector.
//! 4. **Shutdown.** `shutdown` sets the flag, closes the injector (`None`: later entries are
//!    released on the spot), cancels every owned task (task rule 9), and then, under the
//!    core mutex, shuts the core down if it is free: drops its queued entries and shuts the
//!    driver down. If a thread holds the core, that thread does it when it leaves `block_on`
//!    (rule 1's give-back checks the flag under the same mutex), so exactly one of the two
//!    shuts the core down, whoever holds it, and no queued entry is left to keep `Shared`
//!    alive through its task's scheduler reference.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Wake, Waker};

use crate::park::{Park, Unpark};
use crate::runtime::debug::DebugHooks;
use crate::sync::counter::AtomicU64 as CounterU64;
use crate::sync::{AtomicBool, Mutex, Ordering, StdArc};
use crate::task::list::OwnedTasks;
use crate::task::{Notified, Schedule, Task};

pub(crate) struct Shared {
    /// `None` once the runtime shut down.
    injector: Mutex<Option<VecDeque<Notified>>>,
    pub(crate) owned: OwnedTasks,
    core: Mutex<Option<Box<Core>>>,
    /// Wakers of `block_on` calls waiting for another thread to give the core back.
    core_waiters: Mutex<Vec<Waker>>,
    unparker: StdArc<dyn Unpark>,
    shutdown: AtomicBool,
    global_queue_interval: u32,
    event_interval: u32,
    pub(crate) polls: CounterU64,
    pub(crate) parks: CounterU64,
    pub(crate) local_depth: CounterU64,
    debug: Option<StdArc<DebugHooks>>,
}

struct Core {
    local: VecDeque<Notified>,
    tick: u32,
    driver: Option<Box<dyn Park>>,
    polls: u64,
    parks: u64,
}

struct Context_ {
    shared: *const Shared,
    core: RefCell<Option<Box<Core>>>,
}

loom_aware_thread_local! {
    static CURRENT: std::cell::Cell<*const Context_> = const { std::cell::Cell::new(std::ptr::null()) };
}

impl Shared {
    pub(crate) fn new(
        driver: Box<dyn Park>,
        global_queue_interval: u32,
        event_interval: u32,
        debug: Option<StdArc<DebugHooks>>,
    ) -> StdArc<Shared> {
        StdArc::new(Shared {
            injector: Mutex::new(Some(VecDeque::new())),
            owned: OwnedTasks::new(1),
            unparker: driver.unparker(),
            core: Mutex::new(Some(Box::new(Core {
                local: VecDeque::new(),
                tick: 0,
                driver: Some(driver),
                polls: 0,
                parks: 0,
            }))),
            core_waiters: Mutex::new(Vec::new()),
            shutdown: AtomicBool::new(false),
            global_queue_interval,
            event_interval,
            polls: CounterU64::new(0),
            parks: CounterU64::new(0),
            local_depth: CounterU64::new(0),
            debug,
        })
    }

    pub(crate) fn injector_depth(&self) -> usize {
        self.injector.lock().as_ref().map_or(0, VecDeque::len)
    }

    /// Runs `future` to completion on this thread, running the runtime's tasks meanwhile.
    pub(crate) fn block_on<F: Future>(&self, future: F) -> F::Output {
        let mut future = pin!(future);
        loop {
            let core = self.core.lock().take();
            if let Some(core) = core {
                let ctx = Context_ {
                    shared: self,
                    core: RefCell::new(Some(core)),
                };
                let _guard = CoreGuard {
                    shared: self,
                    ctx: &ctx,
                    prev: CURRENT.with(|c| c.replace(&ctx)),
                };
                return ctx.run(future.as_mut());
            }
            // Another thread is driving the runtime: drive our future alone until it is
            // done or the core comes back.
            let notify = StdArc::new(ThreadNotify::new());
            let waker = Waker::from(notify.clone());
            let mut cx = Context::from_waker(&waker);
            if let Poll::Ready(output) = crate::coop::with_budget(|| future.as_mut().poll(&mut cx))
            {
                return output;
            }
            self.core_waiters.lock().push(waker.clone());
            if self.core.lock().is_none() {
                notify.wait();
            }
        }
    }

    /// Cancels every task and shuts the core down, now if it is free, else when its holder
    /// leaves `block_on` (rule 4).
    pub(crate) fn shutdown(&self) {
        if self.shutdown.swap(true, Ordering::SeqCst) {
            return;
        }
        let queued = self.injector.lock().take();
        self.owned.close_and_shutdown_all();
        drop(queued);
        let core = self.core.lock().take();
        if let Some(mut core) = core {
            shutdown_core(&mut core);
        }
    }
}

/// Rule 4: releases the core's queued entries and shuts its driver down.
fn shutdown_core(core: &mut Core) {
    core.local.clear();
    if let Some(driver) = core.driver.as_mut() {
        driver.shutdown();
    }
}

/// Gives the core back when `block_on` returns or unwinds, and wakes anyone waiting for it.
struct CoreGuard<'a> {
    shared: &'a Shared,
    ctx: &'a Context_,
    prev: *const Context_,
}

impl Drop for CoreGuard<'_> {
    fn drop(&mut self) {
        CURRENT.with(|c| c.set(self.prev));
        if let Some(mut core) = self.ctx.core.borrow_mut().take() {
            let mut slot = self.shared.core.lock();
            if self.shared.shutdown.load(Ordering::SeqCst) {
                // Rule 4: the runtime shut down while this thread held the core.
                drop(slot);
                // The shutting-down thread may still be cancelling tasks: finish that before
                // the driver goes, so no task sees its driver shut down while still alive
                // (a pass over empty shards once that thread is done).
                self.shared.owned.close_and_shutdown_all();
                shutdown_core(&mut core);
            } else {
                *slot = Some(core);
            }
        }
        for waker in std::mem::take(&mut *self.shared.core_waiters.lock()) {
            waker.wake();
        }
    }
}

/// Wakes the `block_on` future: a flag, then a poke at the driver.
struct MainWaker {
    woken: AtomicBool,
    unparker: StdArc<dyn Unpark>,
}

impl Wake for MainWaker {
    fn wake(self: StdArc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &StdArc<Self>) {
        self.woken.store(true, Ordering::Release);
        self.unparker.unpark();
    }
}

impl Context_ {
    fn shared(&self) -> &Shared {
        // SAFETY: set from `&Shared` in `block_on`, whose frame outlives this context.
        unsafe { &*self.shared }
    }

    fn run<F: Future>(&self, mut future: std::pin::Pin<&mut F>) -> F::Output {
        let shared = self.shared();
        let main = StdArc::new(MainWaker {
            woken: AtomicBool::new(true),
            unparker: shared.unparker.clone(),
        });
        let waker = Waker::from(main.clone());
        let mut cx = Context::from_waker(&waker);
        loop {
            if main.woken.swap(false, Ordering::AcqRel) {
                if let Poll::Ready(output) =
                    crate::coop::with_budget(|| future.as_mut().poll(&mut cx))
                {
                    return output;
                }
            }
            // Run a batch of tasks before looking at the main future again, even if it was
            // woken: a `block_on` future that yields must let the tasks make progress.
            let mut idle = true;
            for _ in 0..shared.event_interval {
                let Some(task) = self.next_task() else {
                    break;
                };
                task.run();
                idle = false;
            }
            self.park(idle && !main.woken.load(Ordering::Acquire));
        }
    }

    fn next_task(&self) -> Option<Notified> {
        let shared = self.shared();
        let mut core = self.core.borrow_mut();
        let core = core.as_mut().expect("the core is held while block_on runs");
        core.tick = core.tick.wrapping_add(1);
        let remote = || {
            shared
                .injector
                .lock()
                .as_mut()
                .and_then(VecDeque::pop_front)
        };
        let task = if core.tick % shared.global_queue_interval == 0 {
            remote().or_else(|| core.local.pop_front())
        } else {
            core.local.pop_front().or_else(remote)
        };
        // A poll is counted when there is a task to poll, not for every look at the queues.
        core.polls += u64::from(task.is_some());
        task
    }

    /// Parks in the driver: until an event or a wake if `idle`, else just polls it.
    fn park(&self, idle: bool) {
        let shared = self.shared();
        let mut driver = {
            let mut core = self.core.borrow_mut();
            let core = core.as_mut().expect("the core is held while block_on runs");
            core.parks += u64::from(idle);
            shared.polls.store(core.polls, Ordering::Relaxed);
            shared.parks.store(core.parks, Ordering::Relaxed);
            shared
                .local_depth
                .store(core.local.len() as u64, Ordering::Relaxed);
            core.driver.take().expect("the driver is in the core")
        };
        // The core stays borrowable while we park: the driver wakes tasks on this thread and
        // `schedule` queues them locally.
        let timeout = if idle {
            None
        } else {
            Some(std::time::Duration::ZERO)
        };
        driver.park(timeout);
        self.core
            .borrow_mut()
            .as_mut()
            .expect("the core is held while block_on runs")
            .driver = Some(driver);
    }
}

impl Schedule for Shared {
    fn schedule(this: &StdArc<Self>, task: Notified, _is_yield: bool) {
        let ctx = CURRENT.with(|c| c.get());
        // SAFETY: CURRENT points to a live context on this thread's stack (`block_on`), or
        // is null.
        if let Some(ctx) = unsafe { ctx.as_ref() } {
            if std::ptr::eq(ctx.shared, &**this) {
                if let Ok(mut core) = ctx.core.try_borrow_mut() {
                    if let Some(core) = core.as_mut() {
                        core.local.push_back(task);
                        return;
                    }
                }
            }
        }
        // Queued for the thread that holds the core, which may free the task (and its
        // reference to us) before the unpark below: hold a reference of our own.
        let this = StdArc::clone(this);
        let mut injector = this.injector.lock();
        match injector.as_mut() {
            Some(queue) => {
                queue.push_back(task);
                drop(injector);
                this.unparker.unpark();
            }
            // Shut down: the entry is released, the task was cancelled by the shutdown.
            None => {
                drop(injector);
                drop(task);
            }
        }
    }

    fn release(&self, task: &Task) -> Option<Task> {
        self.owned.remove(task)
    }

    fn debug_hooks(&self) -> Option<&DebugHooks> {
        self.debug.as_deref()
    }
}

/// Parks a thread that is not driving the runtime until its waker fires.
pub(crate) struct ThreadNotify {
    notified: Mutex<bool>,
    condvar: crate::sync::Condvar,
}

impl ThreadNotify {
    pub(crate) fn new() -> ThreadNotify {
        ThreadNotify {
            notified: Mutex::new(false),
            condvar: crate::sync::Condvar::new(),
        }
    }

    pub(crate) fn wait(&self) {
        let mut notified = self.notified.lock();
        while !*notified {
            self.condvar.wait(&mut notified);
        }
        *notified = false;
    }
}

impl Wake for ThreadNotify {
    fn wake(self: StdArc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &StdArc<Self>) {
        *self.notified.lock() = true;
        self.condvar.notify_one();
    }
}
