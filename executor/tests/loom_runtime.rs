//! loom models of the schedulers' handshakes, through the public API.
//!
//! Run with `RUSTFLAGS="--cfg loom" LOOM_MAX_PREEMPTIONS=2 cargo test -p spindle-executor --release --test loom_runtime`.
//! A lost wake-up shows up as a deadlock (every loom thread blocked), which loom reports.

// Not a library: `pub` items here are shared with the tests through `#[path]` modules,
// so the workspace's API lints (missing_docs, unreachable_pub, missing Debug) do not apply.
#![allow(missing_docs, unreachable_pub, missing_debug_implementations)]
#![cfg(loom)]

use std::future::poll_fn;
use std::task::{Poll, Waker};

use loom::sync::atomic::{AtomicBool, Ordering};
use loom::sync::{Arc, Mutex};
use spindle_executor::runtime::Builder;

fn model(f: impl Fn() + Sync + Send + 'static) {
    let mut builder = loom::model::Builder::new();
    if builder.preemption_bound.is_none() {
        builder.preemption_bound = Some(2);
    }
    builder.check(f);
}

/// Idle rules 1-4 and park rules 1-5: a task spawned from outside while both workers are
/// going to sleep is run, and its completion wakes the `block_on` thread.
#[test]
fn spawn_while_workers_go_idle() {
    model(|| {
        let rt = Builder::new_multi_thread()
            .worker_threads(2)
            .build()
            .unwrap();
        let out = rt.block_on(async { spindle_executor::spawn(async { 7 }).await.unwrap() });
        assert_eq!(out, 7);
        drop(rt);
    });
}

/// A task woken by a thread outside the runtime, racing the workers' sleep: the wake must
/// reach a worker (idle rule 1 via the injector).
#[test]
fn wake_from_outside_while_worker_parks() {
    model(|| {
        let rt = Builder::new_multi_thread()
            .worker_threads(1)
            .build()
            .unwrap();
        let set = Arc::new(AtomicBool::new(false));
        let slot: Arc<Mutex<Option<Waker>>> = Arc::new(Mutex::new(None));
        let (s, w) = (set.clone(), slot.clone());
        let task = rt.spawn(poll_fn(move |cx| {
            *w.lock().unwrap() = Some(cx.waker().clone());
            if s.load(Ordering::SeqCst) {
                Poll::Ready(())
            } else {
                Poll::Pending
            }
        }));
        let waker_thread = loom::thread::spawn(move || {
            set.store(true, Ordering::SeqCst);
            let waker = slot.lock().unwrap().take();
            if let Some(waker) = waker {
                waker.wake();
            }
        });
        rt.block_on(task).unwrap();
        waker_thread.join().unwrap();
        drop(rt);
    });
}

/// Blocking-pool rules 1-3: a closure queued just before shutdown either runs or is
/// cancelled, its handle resolves, and every pool thread exits.
#[test]
fn blocking_pool_shutdown() {
    model(|| {
        let rt = Builder::new_current_thread().build().unwrap();
        let ran = Arc::new(AtomicBool::new(false));
        let r = ran.clone();
        let handle = rt.spawn_blocking(move || r.store(true, Ordering::SeqCst));
        drop(rt);
        match loom::future::block_on(handle) {
            Ok(()) => assert!(ran.load(Ordering::SeqCst)),
            Err(err) => assert!(err.is_cancelled() && !ran.load(Ordering::SeqCst)),
        }
    });
}

/// A driver that counts its shutdowns and holds a loom `Arc` (so does its unparker), so a
/// driver or a scheduler that is never freed (kept alive by a reference cycle through a
/// queued task) fails the model as a leak.
struct TrackedPark {
    inner: spindle_executor::park::ThreadPark,
    shutdowns: Arc<std::sync::atomic::AtomicUsize>,
    _alive: Arc<()>,
}

impl spindle_executor::park::Park for TrackedPark {
    fn park(&mut self, timeout: Option<std::time::Duration>) {
        self.inner.park(timeout)
    }

    fn unparker(&self) -> std::sync::Arc<dyn spindle_executor::park::Unpark> {
        // The scheduler keeps the unparker: a leaked scheduler leaks this loom `Arc` too.
        std::sync::Arc::new(TrackedUnpark {
            inner: self.inner.unparker(),
            _alive: self._alive.clone(),
        })
    }

    fn shutdown(&mut self) {
        self.shutdowns
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    }
}

struct TrackedUnpark {
    inner: std::sync::Arc<dyn spindle_executor::park::Unpark>,
    _alive: Arc<()>,
}

impl spindle_executor::park::Unpark for TrackedUnpark {
    fn unpark(&self) {
        self.inner.unpark()
    }
}

/// A current-thread runtime whose driver reports its shutdowns into the returned counter.
fn tracked_current_thread() -> (
    spindle_executor::runtime::Runtime,
    Arc<std::sync::atomic::AtomicUsize>,
) {
    let shutdowns = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = shutdowns.clone();
    let rt = Builder::new_current_thread()
        .driver(move |_| {
            Ok(spindle_executor::runtime::DriverParts {
                park: Box::new(TrackedPark {
                    inner: spindle_executor::park::ThreadPark::new(),
                    shutdowns: counter.clone(),
                    _alive: Arc::new(()),
                }),
                handles: Vec::new(),
            })
        })
        .build()
        .unwrap();
    (rt, shutdowns)
}

/// Current-thread rules 1-3, three threads: two threads call `block_on` on a runtime whose
/// core a third is using. Each spawns a task and awaits it; whoever lacks the core polls
/// alone, queues through the injector, and must get the core (or its task's result) once
/// the holder leaves. A lost hand-off shows up as a deadlock.
#[test]
fn current_thread_core_hand_off() {
    model(|| {
        let rt = Builder::new_current_thread().build().unwrap();
        let joiners: Vec<_> = [1, 2]
            .into_iter()
            .map(|n| {
                let handle = rt.handle().clone();
                loom::thread::spawn(move || {
                    handle.block_on(async move {
                        spindle_executor::spawn(async move { n }).await.unwrap()
                    })
                })
            })
            .collect();
        let mine = rt.block_on(async { 3 });
        let sum: i32 = joiners.into_iter().map(|t| t.join().unwrap()).sum();
        assert_eq!(sum + mine, 6);
        drop(rt);
    });
}

/// Current-thread rule 4: the runtime dropped while another thread holds the core (inside
/// `block_on`, with tasks queued on the core). Whichever side comes second shuts the core
/// down, exactly once, and nothing is left to keep the runtime alive (the driver's loom
/// `Arc` would leak).
#[test]
fn current_thread_shutdown_while_core_is_held() {
    model(|| {
        let (rt, shutdowns) = tracked_current_thread();
        let handle = rt.handle().clone();
        let holder = loom::thread::spawn(move || {
            handle.block_on(async {
                // Queued on the core if this thread holds it; never run if the future is
                // done first.
                drop(spindle_executor::spawn(async {}));
            })
        });
        drop(rt);
        holder.join().unwrap();
        assert_eq!(shutdowns.load(std::sync::atomic::Ordering::SeqCst), 1);
    });
}

/// Current-thread rules 3-4: a task woken from a foreign thread (an injector push) while
/// the runtime shuts down: the entry is either drained by shutdown or released on the
/// spot, the future is dropped once, and the driver is shut down once.
#[test]
fn current_thread_injector_races_shutdown() {
    model(|| {
        let (rt, shutdowns) = tracked_current_thread();
        let slot: Arc<Mutex<Option<Waker>>> = Arc::new(Mutex::new(None));
        let alive = Arc::new(());
        let (w, guard) = (slot.clone(), alive.clone());
        let task = rt.spawn(poll_fn(move |cx| {
            let _keep = &guard;
            *w.lock().unwrap() = Some(cx.waker().clone());
            Poll::<()>::Pending
        }));
        // Poll the task once so that it leaves its waker.
        rt.block_on(async {
            while slot.lock().unwrap().is_none() {
                spindle_executor::task::yield_now().await;
            }
        });
        let waker = slot.lock().unwrap().take().unwrap();
        let waker_thread = loom::thread::spawn(move || waker.wake());
        drop(rt);
        waker_thread.join().unwrap();
        assert!(loom::future::block_on(task).unwrap_err().is_cancelled());
        assert_eq!(Arc::strong_count(&alive), 1, "the future was dropped");
        assert_eq!(shutdowns.load(std::sync::atomic::Ordering::SeqCst), 1);
    });
}

/// Blocking-pool rules 1-2, three threads, with one pool thread at most and no keep-alive
/// (under loom a zero keep-alive times out at once, after letting others run): two
/// closures spawned from two threads while the pool's only thread drains the queue, goes
/// idle, times out and retires. A spawn that hands its closure to an idle thread just as
/// it times out must not be lost (the notified token outranks the time-out), a spawn past
/// the thread limit waits for the running thread to drain it, and a thread that retired
/// is replaced by the next spawn.
#[test]
fn blocking_pool_retire_and_thread_limit() {
    model(|| {
        let rt = Builder::new_current_thread()
            .max_blocking_threads(1)
            .thread_keep_alive(std::time::Duration::ZERO)
            .build()
            .unwrap();
        let handle = rt.handle().clone();
        let spawner = loom::thread::spawn(move || handle.spawn_blocking(|| 1));
        let mine = rt.spawn_blocking(|| 2);
        let theirs = spawner.join().unwrap();
        let sum = loom::future::block_on(mine).unwrap() + loom::future::block_on(theirs).unwrap();
        assert_eq!(sum, 3);
        // The pool's books balance (a token consumed twice, or a time-out that also takes a
        // token, shows up here).
        let metrics = rt.metrics();
        assert!(metrics.idle_blocking_threads <= metrics.blocking_threads);
        assert!(metrics.blocking_threads <= 1, "the thread limit holds");
        drop(rt);
    });
}

/// A driver with one timer: `park` fires it once it is due (set by a "clock" thread, which
/// then unparks the driver), waking the task that waits on it from inside the driver, as
/// the time driver does.
struct TimerPark {
    timer: std::sync::Arc<Timer>,
}

struct Timer {
    due: AtomicBool,
    fired: AtomicBool,
    waker: Mutex<Option<Waker>>,
    unparked: Mutex<bool>,
    condvar: loom::sync::Condvar,
}

impl spindle_executor::park::Park for TimerPark {
    fn park(&mut self, timeout: Option<std::time::Duration>) {
        let timer = &*self.timer;
        {
            let mut unparked = timer.unparked.lock().unwrap();
            if timeout.is_none() {
                while !*unparked {
                    unparked = timer.condvar.wait(unparked).unwrap();
                }
            }
            *unparked = false;
        }
        if timer.due.load(Ordering::SeqCst) && !timer.fired.swap(true, Ordering::SeqCst) {
            let waker = timer.waker.lock().unwrap().take();
            if let Some(waker) = waker {
                waker.wake();
            }
        }
    }

    fn unparker(&self) -> std::sync::Arc<dyn spindle_executor::park::Unpark> {
        self.timer.clone()
    }
}

impl spindle_executor::park::Unpark for Timer {
    fn unpark(&self) {
        *self.unparked.lock().unwrap() = true;
        self.condvar.notify_one();
    }
}

/// Idle rule 6 and park rule 6, three threads: a worker asleep in the driver is woken by
/// the driver's own event (a timer firing that wakes a task on the worker's thread). It
/// must leave the sleepers and count itself unparked, so that a task spawned from outside
/// afterwards still wakes it. (A worker that stays registered as asleep while it runs
/// corrupts the counts, and the second spawn is never run.)
#[test]
fn driver_event_wakes_a_task_on_the_parked_worker() {
    model(|| {
        let timer = std::sync::Arc::new(Timer {
            due: AtomicBool::new(false),
            fired: AtomicBool::new(false),
            waker: Mutex::new(None),
            unparked: Mutex::new(false),
            condvar: loom::sync::Condvar::new(),
        });
        let driver_timer = timer.clone();
        let rt = Builder::new_multi_thread()
            .worker_threads(1)
            .event_interval(2)
            .driver(move |_| {
                Ok(spindle_executor::runtime::DriverParts {
                    park: Box::new(TimerPark {
                        timer: driver_timer.clone(),
                    }),
                    handles: Vec::new(),
                })
            })
            .build()
            .unwrap();
        let task_timer = timer.clone();
        let sleeper = rt.spawn(poll_fn(move |cx| {
            if task_timer.fired.load(Ordering::SeqCst) {
                return Poll::Ready(());
            }
            *task_timer.waker.lock().unwrap() = Some(cx.waker().clone());
            if task_timer.fired.load(Ordering::SeqCst) {
                Poll::Ready(())
            } else {
                Poll::Pending
            }
        }));
        let clock = {
            let timer = timer.clone();
            loom::thread::spawn(move || {
                timer.due.store(true, Ordering::SeqCst);
                spindle_executor::park::Unpark::unpark(&*timer);
            })
        };
        rt.block_on(sleeper).unwrap();
        clock.join().unwrap();
        assert_eq!(rt.block_on(rt.spawn(async { 5 })).unwrap(), 5);
        drop(rt);
    });
}

/// Idle rules 1-3: a task spawns three tasks in one poll (the first two go to its worker's
/// stealable queue, the third to the LIFO slot) and then blocks its worker until the first
/// two have run, so that worker cannot run them itself: the other worker, whatever it was
/// doing (searching, refused a search by rule 5, going to sleep), must. A stranded task shows
/// up as a deadlock. (It did, before rule 3 made every worker look again before it sleeps.)
#[test]
fn a_burst_of_spawns_reaches_the_other_worker() {
    model(|| {
        let rt = Builder::new_multi_thread()
            .worker_threads(2)
            .build()
            .unwrap();
        let ran = Arc::new((Mutex::new(0), loom::sync::Condvar::new()));
        let outer_ran = ran.clone();
        let outer = rt.spawn(async move {
            for _ in 0..3 {
                let ran = outer_ran.clone();
                drop(spindle_executor::spawn(async move {
                    *ran.0.lock().unwrap() += 1;
                    ran.1.notify_all();
                }));
            }
            // The third spawn sits in this worker's LIFO slot, which no one else may take;
            // the first two are in its stealable queue.
            let mut count = outer_ran.0.lock().unwrap();
            while *count < 2 {
                count = outer_ran.1.wait(count).unwrap();
            }
        });
        rt.block_on(outer).unwrap();
        drop(rt);
    });
}
