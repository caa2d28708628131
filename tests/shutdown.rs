//! A `Runtime` may be dropped anywhere, and user code never takes down a worker.
//!
//! Each test here reproduces a way a user could drop a runtime or hand it a misbehaving
//! waker: on one of the runtime's own blocking threads, in a thread-local destructor, while
//! another thread holds the current-thread core, inside its own `block_on`, with tasks that
//! await each other's `JoinHandle`s, and with a `JoinHandle` waker that panics. Shutdown must
//! complete (tasks dropped, drivers shut down, nothing leaked) and return.
//!
//! Tests that count open file descriptors, or that would abort the process when they fail,
//! run in a child process (this same test binary, re-run with one test selected), so that a
//! failure is reported as a failed test and other tests' descriptors do not disturb the count.

// Not a library: `pub` items here are shared with the tests through `#[path]` modules,
// so the workspace's API lints (missing_docs, unreachable_pub, missing Debug) do not apply.
#![allow(missing_docs, unreachable_pub, missing_debug_implementations)]

use std::cell::RefCell;
use std::future::Future;
use std::pin::Pin;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::task::{Context, Wake, Waker};
use std::time::{Duration, Instant};

use spindle::runtime::{Builder, Runtime};
use spindle::sync::oneshot;

const CHILD_ENV: &str = "SPINDLE_SHUTDOWN_TEST_CHILD";

/// Runs `body` in a child process (this test binary with only `test` selected), and fails
/// if the child fails, aborts or runs longer than a minute.
fn in_child(test: &str, body: fn()) {
    if std::env::var(CHILD_ENV).as_deref() == Ok(test) {
        body();
        return;
    }
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([test, "--exact", "--nocapture", "--test-threads=1"])
        .env(CHILD_ENV, test)
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("{test}: the child process hung");
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    assert!(
        status.success(),
        "{test}: the child process failed: {status}"
    );
}

fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").unwrap().count()
}

fn runtime(current_thread: bool) -> Runtime {
    let mut builder = if current_thread {
        Builder::new_current_thread()
    } else {
        let mut b = Builder::new_multi_thread();
        b.worker_threads(2);
        b
    };
    builder.build().unwrap()
}

/// A runtime whose one worker (or one `block_on` thread) would die with a user panic.
fn one_worker(current_thread: bool) -> Runtime {
    let mut builder = if current_thread {
        Builder::new_current_thread()
    } else {
        let mut b = Builder::new_multi_thread();
        b.worker_threads(1);
        b
    };
    builder.build().unwrap()
}

/// Counts its drops, to check that a future was dropped exactly once.
struct DropCount(Arc<AtomicUsize>);

impl Drop for DropCount {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

/// Spawns a task that would wait an hour on a timer and forever on a listener, holding a
/// `DropCount`: what a shutdown must cancel and tell the drivers about.
fn spawn_pending_work(rt: &Runtime, drops: &Arc<AtomicUsize>) {
    let guard = DropCount(drops.clone());
    rt.spawn(async move {
        let _guard = guard;
        spindle::time::sleep(Duration::from_secs(3600)).await;
    });
    let guard = DropCount(drops.clone());
    rt.spawn(async move {
        let _guard = guard;
        let listener = spindle::net::TcpListener::bind("127.0.0.1:0")
            .await
            .unwrap();
        let _ = listener.accept().await;
    });
}

/// Lets the spawned tasks register their timer and socket.
fn settle(rt: &Runtime) {
    rt.block_on(async {
        for _ in 0..10 {
            spindle::task::yield_now().await;
        }
        spindle::time::sleep(Duration::from_millis(5)).await;
    });
}

#[test]
fn runtime_dropped_on_its_own_blocking_thread_shuts_down_and_returns() {
    for current_thread in [true, false] {
        let rt = runtime(current_thread);
        let drops = Arc::new(AtomicUsize::new(0));
        spawn_pending_work(&rt, &drops);
        settle(&rt);
        let handle = rt.handle().clone();
        let (done_tx, done_rx) = mpsc::channel();
        handle.spawn_blocking(move || {
            drop(rt);
            done_tx.send(()).unwrap();
        });
        done_rx
            .recv_timeout(Duration::from_secs(20))
            .unwrap_or_else(|_| {
                panic!("current_thread={current_thread}: drop on a blocking thread hung")
            });
        assert_eq!(
            drops.load(Ordering::SeqCst),
            2,
            "every task was dropped once"
        );
        let late = futures::executor::block_on(handle.spawn(async { 1 }));
        assert!(late.unwrap_err().is_cancelled(), "spawn after shutdown");
    }
}

thread_local! {
    static PARKED_RUNTIME: RefCell<Option<Runtime>> = const { RefCell::new(None) };
}

fn drop_in_thread_local_destructor(current_thread: bool, store_first: bool) {
    let drops = Arc::new(AtomicUsize::new(0));
    let task_drops = drops.clone();
    std::thread::spawn(move || {
        if store_first {
            // Registers this thread-local's destructor before the runtime's own
            // thread-locals, so they are destroyed first (destructors run in reverse).
            PARKED_RUNTIME.with(|_| {});
        }
        let rt = runtime(current_thread);
        spawn_pending_work(&rt, &task_drops);
        settle(&rt);
        PARKED_RUNTIME.with(|slot| *slot.borrow_mut() = Some(rt));
    })
    .join()
    .expect("the thread dropping the runtime in a destructor panicked");
    assert_eq!(
        drops.load(Ordering::SeqCst),
        2,
        "every task was dropped once"
    );
}

#[test]
fn runtime_dropped_in_a_thread_local_destructor_shuts_down_cleanly() {
    in_child(
        "runtime_dropped_in_a_thread_local_destructor_shuts_down_cleanly",
        || {
            for current_thread in [true, false] {
                for store_first in [true, false] {
                    drop_in_thread_local_destructor(current_thread, store_first);
                }
            }
        },
    );
}

/// A waker that panics when woken: user code the runtime must contain.
struct PanickingWaker;

impl Wake for PanickingWaker {
    fn wake(self: Arc<Self>) {
        panic!("this waker panics on purpose");
    }
}

#[test]
fn a_panicking_join_waker_does_not_take_down_the_worker() {
    for current_thread in [true, false] {
        let rt = one_worker(current_thread);
        let drops = Arc::new(AtomicUsize::new(0));
        let guard = DropCount(drops.clone());
        let (tx, rx) = oneshot::channel::<u32>();
        let mut join = rt.spawn(async move {
            let _guard = guard;
            rx.await.unwrap() + 1
        });
        let waker = Waker::from(Arc::new(PanickingWaker));
        let mut cx = Context::from_waker(&waker);
        assert!(Pin::new(&mut join).poll(&mut cx).is_pending());

        tx.send(41).unwrap();
        // The task completes on the worker (or inside this block_on), and its completion
        // wakes the panicking waker. The runtime must go on serving.
        let (out_tx, out_rx) = mpsc::channel();
        let handle = rt.handle().clone();
        let checker = std::thread::spawn(move || {
            let sum: u32 = handle.block_on(async {
                let mut sum = 0;
                for i in 0..100u32 {
                    sum += spindle::spawn(async move { i }).await.unwrap();
                }
                sum
            });
            out_tx.send(sum).unwrap();
        });
        if current_thread {
            // This thread drives a current-thread runtime: give it the core until the task
            // has completed and the checker has run.
            rt.block_on(async {
                while !join.is_finished() {
                    spindle::task::yield_now().await;
                }
            });
        }
        let sum = out_rx
            .recv_timeout(Duration::from_secs(20))
            .expect("the runtime stopped serving after a waker panicked");
        assert_eq!(sum, 4950);
        checker.join().unwrap();
        assert_eq!(futures::executor::block_on(join).unwrap(), 42);
        assert_eq!(
            drops.load(Ordering::SeqCst),
            1,
            "the future was dropped once"
        );
        drop(rt);
    }
}

/// Builds a current-thread runtime with pending work, runs `scenario` on it, and checks that
/// after 20 rounds no file descriptor (epoll, eventfd, sockets) is left open.
fn no_fd_leak(rounds: usize, scenario: fn(Runtime, &Arc<AtomicUsize>)) {
    // One warm-up round: lazily opened process-wide descriptors are not leaks.
    scenario(runtime(true), &Arc::new(AtomicUsize::new(0)));
    let before = open_fds();
    for _ in 0..rounds {
        let drops = Arc::new(AtomicUsize::new(0));
        scenario(runtime(true), &drops);
        assert_eq!(
            drops.load(Ordering::SeqCst),
            2,
            "every task was dropped once"
        );
    }
    let after = open_fds();
    assert!(
        after <= before + 2,
        "{} file descriptors leaked over {rounds} runtimes",
        after - before
    );
}

/// Spawns tasks from inside a current-thread `block_on`, which queues them on its core.
fn queue_local_tasks() {
    for _ in 0..3 {
        spindle::spawn(async { spindle::task::yield_now().await });
    }
}

#[test]
fn current_thread_shutdown_while_another_thread_holds_the_core() {
    in_child(
        "current_thread_shutdown_while_another_thread_holds_the_core",
        || {
            no_fd_leak(20, |rt, drops| {
                spawn_pending_work(&rt, drops);
                settle(&rt);
                let handle = rt.handle().clone();
                let (inside_tx, inside_rx) = mpsc::channel();
                let (dropped_tx, dropped_rx) = mpsc::channel::<()>();
                let holder = std::thread::spawn(move || {
                    handle.block_on(async move {
                        // Tasks queued on the core's local queue, never run: their entries
                        // are still queued when this `block_on` gives the core back.
                        queue_local_tasks();
                        inside_tx.send(()).unwrap();
                        dropped_rx.recv().unwrap();
                    })
                });
                inside_rx.recv().unwrap();
                drop(rt);
                dropped_tx.send(()).unwrap();
                holder.join().unwrap();
            })
        },
    );
}

#[test]
fn runtime_dropped_inside_its_own_block_on() {
    in_child("runtime_dropped_inside_its_own_block_on", || {
        no_fd_leak(20, |rt, drops| {
            spawn_pending_work(&rt, drops);
            settle(&rt);
            let handle = rt.handle().clone();
            handle.block_on(async move {
                spindle::task::yield_now().await;
                queue_local_tasks();
                drop(rt);
            });
        })
    });
}

#[test]
fn tasks_awaiting_each_other_do_not_keep_the_runtime_alive() {
    in_child(
        "tasks_awaiting_each_other_do_not_keep_the_runtime_alive",
        || {
            for current_thread in [true, false] {
                let before = open_fds();
                for _ in 0..40 {
                    let rt = runtime(current_thread);
                    let drops = Arc::new(AtomicUsize::new(0));
                    let (a_tx, a_rx) = oneshot::channel::<spindle::task::JoinHandle<()>>();
                    let (b_tx, b_rx) = oneshot::channel::<spindle::task::JoinHandle<()>>();
                    let guard = DropCount(drops.clone());
                    let a = rt.spawn(async move {
                        let _guard = guard;
                        let _ = a_rx.await.unwrap().await;
                    });
                    let guard = DropCount(drops.clone());
                    let b = rt.spawn(async move {
                        let _guard = guard;
                        let _ = b_rx.await.unwrap().await;
                    });
                    a_tx.send(b).unwrap();
                    b_tx.send(a).unwrap();
                    settle(&rt);
                    drop(rt);
                    assert_eq!(drops.load(Ordering::SeqCst), 2);
                }
                let after = open_fds();
                assert!(
                    after <= before + 2,
                    "current_thread={current_thread}: {} file descriptors leaked over 40 runtimes",
                    after - before
                );
            }
        },
    );
}

/// Polls `future` once with a waker that panics when woken, and keeps it alive.
fn poll_with_panicking_waker<F: Future + Unpin>(future: &mut F) {
    let waker = Waker::from(Arc::new(PanickingWaker));
    assert!(
        Pin::new(future)
            .poll(&mut Context::from_waker(&waker))
            .is_pending()
    );
}

#[test]
fn panicking_wakers_woken_by_the_drivers_do_not_take_down_the_worker() {
    for current_thread in [true, false] {
        let rt = one_worker(current_thread);
        let (out_tx, out_rx) = mpsc::channel();
        let handle = rt.handle().clone();
        let runner = std::thread::spawn(move || {
            let out = handle.block_on(async {
                // A timer and a socket each hold a waker that panics when they fire.
                let mut sleep = Box::pin(spindle::time::sleep(Duration::from_millis(5)));
                poll_with_panicking_waker(&mut sleep);
                let listener = spindle::net::TcpListener::bind("127.0.0.1:0")
                    .await
                    .unwrap();
                let addr = listener.local_addr().unwrap();
                let mut accept = Box::pin(listener.accept());
                poll_with_panicking_waker(&mut accept);
                let _client = spindle::net::TcpStream::connect(addr).await.unwrap();
                // Both fire; the runtime goes on serving timers, tasks and sockets.
                spindle::time::sleep(Duration::from_millis(20)).await;
                let mut sum = 0;
                for i in 0..10u32 {
                    sum += spindle::spawn(async move {
                        spindle::time::sleep(Duration::from_millis(1)).await;
                        i
                    })
                    .await
                    .unwrap();
                }
                drop((sleep, accept));
                sum
            });
            out_tx.send(out).unwrap();
        });
        let sum = out_rx
            .recv_timeout(Duration::from_secs(20))
            .expect("the runtime stopped serving after a driver woke a panicking waker");
        assert_eq!(sum, 45);
        runner.join().unwrap();
        drop(rt);
    }
}
