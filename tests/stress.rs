//! 100 000 tasks of every kind on both flavours, with exact accounting.
//!
//! Each task sleeps, yields, hops through a channel, calls `spawn_blocking`, panics, is
//! aborted, or is detached (its `JoinHandle` dropped). Every task must be accounted for
//! exactly once — completed, panicked or cancelled — and every future (and every blocking
//! closure) dropped exactly once. The second test does the same with `shutdown_timeout`
//! landing in the middle of the load.

// Not a library: `pub` items here are shared with the tests through `#[path]` modules,
// so the workspace's API lints (missing_docs, unreachable_pub, missing Debug) do not apply.
#![allow(missing_docs, unreachable_pub, missing_debug_implementations)]

use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use futures::FutureExt;
use spindle::runtime::{Builder, Runtime};
use spindle::task::JoinHandle;

const TASKS: usize = 100_000;

#[derive(Default)]
struct Ledger {
    created: AtomicUsize,
    dropped: AtomicUsize,
    /// Detached tasks that ran to their end (nobody awaits them).
    detached_done: AtomicUsize,
}

/// Lives inside each future or closure; its drop is the "dropped exactly once" count.
struct Entry(Arc<Ledger>);

impl Entry {
    fn new(ledger: &Arc<Ledger>) -> Entry {
        ledger.created.fetch_add(1, Ordering::SeqCst);
        Entry(ledger.clone())
    }
}

impl Drop for Entry {
    fn drop(&mut self) {
        self.0.dropped.fetch_add(1, Ordering::SeqCst);
    }
}

/// xorshift64: reproducible variety without a dependency.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Outcome {
    Completed,
    Panicked,
    Cancelled,
}

/// What the awaited handles report.
#[derive(Default, Debug, PartialEq, Eq)]
struct Tally {
    completed: usize,
    panicked: usize,
    cancelled: usize,
}

impl Tally {
    fn add(&mut self, outcome: Outcome) {
        match outcome {
            Outcome::Completed => self.completed += 1,
            Outcome::Panicked => self.panicked += 1,
            Outcome::Cancelled => self.cancelled += 1,
        }
    }
}

fn outcome<T>(result: Result<T, spindle::task::JoinError>) -> Outcome {
    match result {
        Ok(_) => Outcome::Completed,
        Err(err) if err.is_panic() => Outcome::Panicked,
        Err(err) => {
            assert!(err.is_cancelled(), "{err}");
            Outcome::Cancelled
        }
    }
}

/// Spawns `TASKS` tasks of mixed kinds. Returns the handles to await (detached tasks are
/// counted by the ledger instead) and how many were detached.
async fn spawn_load(
    ledger: &Arc<Ledger>,
    echo: &async_channel::Sender<(u64, spindle::sync::oneshot::Sender<u64>)>,
    seed: u64,
) -> (Vec<JoinHandle<()>>, usize) {
    let mut rng = Rng(seed | 1);
    let mut handles = Vec::with_capacity(TASKS);
    let mut detached = 0;
    for i in 0..TASKS {
        let entry = Entry::new(ledger);
        let kind = rng.below(8);
        let pause = rng.below(4);
        let echo = echo.clone();
        let ledger2 = ledger.clone();
        let handle = spindle::spawn(async move {
            let _entry = entry;
            match kind {
                0 => spindle::time::sleep(Duration::from_millis(pause)).await,
                1 => {
                    for _ in 0..=pause {
                        spindle::task::yield_now().await;
                    }
                }
                2 => {
                    let (tx, rx) = spindle::sync::oneshot::channel();
                    echo.send((i as u64, tx)).await.unwrap();
                    assert_eq!(rx.await.unwrap(), i as u64 + 1);
                }
                3 => {
                    let entry = Entry::new(&ledger2);
                    let n = spindle::spawn_blocking(move || {
                        let _entry = entry;
                        pause * 2
                    })
                    .await
                    .unwrap();
                    assert_eq!(n, pause * 2);
                }
                4 => {
                    spindle::task::yield_now().await;
                    panic!("task {i} panics on purpose");
                }
                // Aborted below, long before this sleep ends.
                5 => spindle::time::sleep(Duration::from_secs(3600)).await,
                // Detached: nobody awaits it; it reports its own end.
                _ => {
                    spindle::time::sleep(Duration::from_millis(pause)).await;
                    ledger2.detached_done.fetch_add(1, Ordering::SeqCst);
                }
            }
        });
        match kind {
            5 => {
                handle.abort();
                handles.push(handle);
            }
            6 | 7 => {
                drop(handle);
                detached += 1;
            }
            _ => handles.push(handle),
        }
        if i % 1024 == 0 {
            // Let the workers (or this thread, on a current-thread runtime) run.
            spindle::task::yield_now().await;
        }
    }
    (handles, detached)
}

/// Answers every channel hop with `n + 1`.
fn spawn_echo(rt: &Runtime) -> async_channel::Sender<(u64, spindle::sync::oneshot::Sender<u64>)> {
    let (tx, rx) = async_channel::unbounded::<(u64, spindle::sync::oneshot::Sender<u64>)>();
    rt.spawn(async move {
        while let Ok((n, reply)) = rx.recv().await {
            let _ = reply.send(n + 1);
        }
    });
    tx
}

fn runtime(current_thread: bool) -> Runtime {
    if current_thread {
        Builder::new_current_thread().build().unwrap()
    } else {
        Builder::new_multi_thread()
            .worker_threads(2)
            .build()
            .unwrap()
    }
}

/// Silences the panic hook for the tasks that panic on purpose; other panics still print.
fn quiet_panics() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let on_purpose = info
            .payload()
            .downcast_ref::<String>()
            .is_some_and(|m| m.ends_with("panics on purpose"));
        if !on_purpose {
            default(info);
        }
    }));
}

fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[test]
fn every_task_is_accounted_for_exactly_once() {
    quiet_panics();
    for current_thread in [true, false] {
        let rt = runtime(current_thread);
        let ledger = Arc::new(Ledger::default());
        let echo = spawn_echo(&rt);
        let (tally, detached) = rt.block_on(async {
            let (handles, detached) =
                spawn_load(&ledger, &echo, 0x5eed + current_thread as u64).await;
            let mut tally = Tally::default();
            for handle in handles {
                tally.add(outcome(handle.await));
            }
            (tally, detached)
        });
        assert_eq!(
            tally.completed + tally.panicked + tally.cancelled + detached,
            TASKS
        );
        eprintln!("current_thread={current_thread}: {tally:?}, detached: {detached}");
        assert!(
            tally.panicked > 0 && tally.cancelled > 0 && detached > 0,
            "{tally:?}"
        );
        // Each panicking task panicked and each aborted one was cancelled: nothing else.
        wait_for("the detached tasks", || {
            ledger.detached_done.load(Ordering::SeqCst) == detached
        });
        drop(echo);
        drop(rt);
        let created = ledger.created.load(Ordering::SeqCst);
        assert_eq!(
            ledger.dropped.load(Ordering::SeqCst),
            created,
            "current_thread={current_thread}"
        );
    }
}

#[test]
fn shutdown_timeout_in_the_middle_of_the_load_loses_nothing() {
    quiet_panics();
    for current_thread in [true, false] {
        let rt = runtime(current_thread);
        let ledger = Arc::new(Ledger::default());
        let echo = spawn_echo(&rt);
        let (handles, _detached) =
            rt.block_on(spawn_load(&ledger, &echo, 0xfeed + current_thread as u64));
        // Some tasks have finished, most have not: shut down now.
        rt.shutdown_timeout(Duration::from_millis(100));
        let mut tally = Tally::default();
        for handle in handles {
            // Every handle resolves: from any thread, with no runtime left.
            let result = futures::executor::block_on(AssertUnwindSafe(handle).catch_unwind())
                .expect("awaiting a JoinHandle never panics");
            tally.add(outcome(result));
        }
        eprintln!("current_thread={current_thread}, shut down mid-load: {tally:?}");
        assert!(tally.cancelled > 0, "{tally:?}");
        drop(echo);
        // A blocking closure still running when the deadline passed finishes on its own.
        wait_for("every future and closure to be dropped", || {
            ledger.dropped.load(Ordering::SeqCst) == ledger.created.load(Ordering::SeqCst)
        });
        // And none is dropped twice.
        std::thread::sleep(Duration::from_millis(20));
        assert_eq!(
            ledger.dropped.load(Ordering::SeqCst),
            ledger.created.load(Ordering::SeqCst)
        );
    }
}
