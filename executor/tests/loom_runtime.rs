//! loom models of the schedulers' handshakes, through the public API.
//!
//! Run with `RUSTFLAGS="--cfg loom" LOOM_MAX_PREEMPTIONS=2 cargo test -p spindle-executor --release --test loom_runtime`.
//! A lost wake-up shows up as a deadlock (every loom thread blocked), which loom reports.
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
