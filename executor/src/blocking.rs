//! The blocking pool: where `spawn_blocking` closures run (asyncio's `run_in_executor`).
//!
//! Threads are started on demand up to `max_blocking_threads`, and retire after
//! `keep_alive` without work. A closure becomes an ordinary task cell (so it gets a
//! `JoinHandle` for free) whose future runs the closure once; the pool's `schedule`
//! queues it.
//!
//! # Protocol (all under `state`'s mutex; cited by the loom models in `tests/loom_runtime.rs`)
//!
//! 1. A spawn queues the task, then either hands it to an idle thread (`idle -= 1`,
//!    `notified += 1`, one condvar signal) or starts a thread if below the limit; past
//!    the limit the task waits in the queue for the next free thread.
//! 2. A thread drains the queue before it idles; an idle thread that wakes consumes one
//!    `notified` token if there is one, else it is a time-out or a spurious wake-up.
//! 3. Shutdown sets `shutdown`, wakes everyone, and from then on queued tasks are cancelled
//!    rather than run; running closures finish. `shutdown` waits for every thread to exit,
//!    up to a deadline — except the calling thread when it is one of the pool's own (a
//!    runtime dropped inside `spawn_blocking`): that one exits once its closure returns, and
//!    waiting for it would wait forever.

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use crate::park::BlockingActivity;
use crate::runtime::Handle;
use crate::runtime::debug::DebugHooks;
use crate::sync::{Condvar, Mutex, StdArc};
use crate::task::{Id, JoinHandle, Notified, Schedule, Task, TaskMeta, new_task};

pub(crate) struct BlockingPool {
    inner: StdArc<Inner>,
}

struct Inner {
    state: Mutex<State>,
    condvar: Condvar,
    /// Signalled when the last thread exits after shutdown.
    exited: Condvar,
    max_threads: usize,
    keep_alive: Duration,
    thread_name: StdArc<dyn Fn() -> String + Send + Sync>,
    activity: BlockingActivity,
    /// Debug mode's unobserved-panic hook (a closure's one poll is slow by design).
    debug: Option<StdArc<DebugHooks>>,
}

#[derive(Default)]
struct State {
    queue: VecDeque<Notified>,
    num_threads: usize,
    num_idle: usize,
    num_notified: usize,
    shutdown: bool,
    threads: Vec<crate::sync::JoinHandle>,
}

/// The pool's `Schedule`: queueing a blocking task means handing it to a thread.
struct BlockingSchedule {
    inner: StdArc<Inner>,
    handle: Handle,
}

impl BlockingPool {
    pub(crate) fn new(
        max_threads: usize,
        keep_alive: Duration,
        thread_name: StdArc<dyn Fn() -> String + Send + Sync>,
        activity: BlockingActivity,
        debug: Option<&DebugHooks>,
    ) -> BlockingPool {
        BlockingPool {
            inner: StdArc::new(Inner {
                state: Mutex::new(State::default()),
                condvar: Condvar::new(),
                exited: Condvar::new(),
                max_threads: max_threads.max(1),
                keep_alive,
                thread_name,
                activity,
                debug: debug.and_then(DebugHooks::for_blocking),
            }),
        }
    }

    /// Queues `f`; fails only if no thread at all can be started to run it.
    pub(crate) fn spawn<F, R>(
        &self,
        f: F,
        handle: &Handle,
        meta: Option<TaskMeta>,
    ) -> std::io::Result<JoinHandle<R>>
    where
        F: FnOnce() -> R + Send + 'static,
        R: Send + 'static,
    {
        let scheduler = StdArc::new(BlockingSchedule {
            inner: self.inner.clone(),
            handle: handle.clone(),
        });
        let (_, notified, raw) = new_task(
            BlockingTask(Some(f)),
            scheduler.clone(),
            Id::next(),
            meta,
            false,
        );
        let join = JoinHandle::new(raw);
        scheduler.submit(notified)?;
        Ok(join)
    }

    pub(crate) fn num_threads(&self) -> usize {
        self.inner.state.lock().num_threads
    }

    pub(crate) fn num_idle(&self) -> usize {
        self.inner.state.lock().num_idle
    }

    pub(crate) fn queue_depth(&self) -> usize {
        self.inner.state.lock().queue.len()
    }

    /// Rule 3. Returns true if every thread exited before the deadline.
    pub(crate) fn shutdown(&self, deadline: Option<Instant>) -> bool {
        let on_own_thread = CURRENT_POOL
            .try_with(|pool| std::ptr::eq(pool.get(), StdArc::as_ptr(&self.inner)))
            .unwrap_or(false);
        let mut state = self.inner.state.lock();
        state.shutdown = true;
        self.inner.condvar.notify_all();
        while state.num_threads > usize::from(on_own_thread) {
            match deadline {
                None => self.inner.exited.wait(&mut state),
                Some(deadline) => {
                    let now = Instant::now();
                    if now >= deadline {
                        return false;
                    }
                    crate::sync::wait_timeout(&self.inner.exited, &mut state, deadline - now);
                }
            }
        }
        let threads = std::mem::take(&mut state.threads);
        drop(state);
        for thread in threads {
            if on_own_thread && thread_id(&thread) == current_thread_id() {
                // Rule 3: this thread; dropping its handle detaches it.
                continue;
            }
            // Each has decremented `num_threads` as its last act under the lock.
            let _ = thread.join();
        }
        true
    }
}

impl BlockingSchedule {
    /// Rule 1.
    fn submit(&self, task: Notified) -> std::io::Result<()> {
        let inner = &self.inner;
        let mut state = inner.state.lock();
        if state.shutdown {
            drop(state);
            // Rule 3: never started, so cancelled.
            task.shutdown();
            return Ok(());
        }
        inner.activity.begin();
        state.queue.push_back(task);
        if state.num_idle > 0 {
            state.num_idle -= 1;
            state.num_notified += 1;
            inner.condvar.notify_one();
        } else if state.num_threads < inner.max_threads {
            state.num_threads += 1;
            let pool = inner.clone();
            let handle = self.handle.clone();
            match crate::sync::spawn_thread((inner.thread_name)(), move || run_thread(pool, handle))
            {
                Ok(thread) => state.threads.push(thread),
                Err(_) if state.num_threads > 1 => {
                    // Out of threads for now: an existing thread will get to the task.
                    state.num_threads -= 1;
                }
                Err(err) => {
                    // No thread at all can run it: cancel it rather than leave it queued
                    // forever, and tell the caller why.
                    state.num_threads -= 1;
                    let task = state.queue.pop_back().expect("just queued");
                    drop(state);
                    inner.activity.end();
                    task.shutdown();
                    return Err(std::io::Error::new(
                        err.kind(),
                        format!("spawn_blocking could not start a blocking-pool thread: {err}"),
                    ));
                }
            }
        }
        Ok(())
    }
}

impl Schedule for BlockingSchedule {
    fn schedule(this: &StdArc<Self>, task: Notified, _is_yield: bool) {
        // Only reached if a blocking task is woken after its one poll, which cannot happen
        // (it never returns Pending); queue it like a spawn to stay correct regardless.
        if let Err(err) = StdArc::clone(this).submit(task) {
            panic!("{err}");
        }
    }

    fn release(&self, _task: &Task) -> Option<Task> {
        // Blocking tasks are not in the owned list: shutdown waits for them instead.
        None
    }

    fn debug_hooks(&self) -> Option<&DebugHooks> {
        self.inner.debug.as_deref()
    }
}

loom_aware_thread_local! {
    /// The pool this thread belongs to, if it is a blocking-pool thread (rule 3).
    static CURRENT_POOL: std::cell::Cell<*const Inner> = const { std::cell::Cell::new(std::ptr::null()) };
}

fn run_thread(inner: StdArc<Inner>, handle: Handle) {
    CURRENT_POOL.with(|pool| pool.set(StdArc::as_ptr(&inner)));
    let _enter = handle.enter();
    let mut state = inner.state.lock();
    loop {
        // Rule 2: drain before idling.
        while let Some(task) = state.queue.pop_front() {
            let shutdown = state.shutdown;
            drop(state);
            if shutdown {
                task.shutdown();
            } else {
                task.run();
            }
            inner.activity.end();
            state = inner.state.lock();
        }
        if state.shutdown {
            break;
        }
        state.num_idle += 1;
        let mut timed_out = false;
        loop {
            if state.num_notified > 0 {
                state.num_notified -= 1;
                break;
            }
            if state.shutdown || timed_out {
                state.num_idle -= 1;
                break;
            }
            timed_out = crate::sync::wait_timeout(&inner.condvar, &mut state, inner.keep_alive);
        }
        if timed_out && state.queue.is_empty() && !state.shutdown {
            // Retire after keep-alive with nothing to do.
            break;
        }
    }
    state.num_threads -= 1;
    if state.shutdown && state.num_threads == 0 {
        inner.exited.notify_all();
    }
    // A retiring thread detaches itself: its JoinHandle is dropped, not joined.
    if !state.shutdown {
        let me = current_thread_id();
        state.threads.retain(|t| thread_id(t) != me);
    }
}

#[cfg(not(loom))]
fn current_thread_id() -> Option<std::thread::ThreadId> {
    Some(std::thread::current().id())
}

#[cfg(not(loom))]
fn thread_id(thread: &crate::sync::JoinHandle) -> Option<std::thread::ThreadId> {
    Some(thread.thread().id())
}

#[cfg(loom)]
fn current_thread_id() -> Option<std::thread::ThreadId> {
    None
}

#[cfg(loom)]
fn thread_id(_thread: &crate::sync::JoinHandle) -> Option<std::thread::ThreadId> {
    Some(std::thread::current().id())
}

/// A future that runs its closure once, the first time it is polled.
struct BlockingTask<F>(Option<F>);

impl<F> Unpin for BlockingTask<F> {}

impl<F, R> Future for BlockingTask<F>
where
    F: FnOnce() -> R,
{
    type Output = R;

    fn poll(mut self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<R> {
        let f = self.0.take().expect("a blocking task is polled once");
        // A blocking closure is not cooperative: it must not run out of budget halfway.
        Poll::Ready(crate::coop::unconstrained(f))
    }
}
