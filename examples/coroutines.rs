//! Coroutines (asyncio tutorial, "Coroutines" and the greenlet/`yield` sections).
//!
//! Two coroutines run on one thread and take turns: each records a number, gives the loop
//! back (`yield_now`, or a `sleep`), then records another, so the log reads 1, 3, 2, 4.
//! Then the same two coroutines as the hand-written `Future` state machines that an
//! `async fn` compiles to: Rust's answer to greenlets and generator-based coroutines.
//!
//! `cargo run --example coroutines`

// Not a library: `pub` items here are shared with the tests through `#[path]` modules,
// so the workspace's API lints (missing_docs, unreachable_pub, missing Debug) do not apply.
#![allow(missing_docs, unreachable_pub, missing_debug_implementations)]

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

/// What the coroutines record, in the order they ran.
pub type Log = Arc<Mutex<Vec<u32>>>;

fn record(log: &Log, n: u32) {
    println!("  {n}");
    log.lock().unwrap().push(n);
}

async fn func1(log: Log) {
    record(&log, 1);
    spindle::task::yield_now().await; // asyncio.sleep(0): let the other task run
    record(&log, 2);
}

async fn func2(log: Log) {
    record(&log, 3);
    spindle::task::yield_now().await;
    record(&log, 4);
}

/// func1 and func2 as two tasks that yield to each other. Run it on a current-thread
/// runtime (asyncio's single-threaded loop), where task order is the queue's order.
pub async fn with_yield_now() -> Vec<u32> {
    let log = Log::default();
    let tasks = vec![
        spindle::spawn(func1(log.clone())),
        spindle::spawn(func2(log.clone())),
    ];
    for result in spindle::task::gather(tasks).await {
        result.unwrap();
    }
    Arc::try_unwrap(log).unwrap().into_inner().unwrap()
}

/// The same interleaving by sleeping: func1 wakes after 1 s, func2 after 2 s.
pub async fn with_sleep() -> Vec<u32> {
    let log = Log::default();
    let l1 = log.clone();
    let t1 = spindle::spawn(async move {
        record(&l1, 1);
        spindle::time::sleep(Duration::from_secs(1)).await;
        record(&l1, 2);
    });
    let l2 = log.clone();
    let t2 = spindle::spawn(async move {
        record(&l2, 3);
        spindle::time::sleep(Duration::from_secs(2)).await;
        record(&l2, 4);
    });
    for result in spindle::task::gather(vec![t1, t2]).await {
        result.unwrap();
    }
    Arc::try_unwrap(log).unwrap().into_inner().unwrap()
}

/// `func1` written by hand: what the compiler generates for the `async fn`. Each `.await`
/// is a state; returning `Pending` is the "yield" of a generator-based coroutine.
pub struct Func1 {
    log: Log,
    state: Step,
}

/// Where a hand-written coroutine is between polls.
enum Step {
    Start,
    Yielded,
    Done,
}

impl Future for Func1 {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        match self.state {
            Step::Start => {
                record(&self.log, 1);
                self.state = Step::Yielded;
                // What `yield_now` does: ask to be polled again, after the others.
                cx.waker().wake_by_ref();
                Poll::Pending
            }
            Step::Yielded => {
                record(&self.log, 2);
                self.state = Step::Done;
                Poll::Ready(())
            }
            Step::Done => panic!("Func1 polled after it completed"),
        }
    }
}

/// `func2` by hand, with the state in a plain counter to show there is nothing more to it.
pub struct Func2 {
    log: Log,
    resumed: u8,
}

impl Future for Func2 {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        self.resumed += 1;
        match self.resumed {
            1 => {
                record(&self.log, 3);
                cx.waker().wake_by_ref();
                Poll::Pending
            }
            2 => {
                record(&self.log, 4);
                Poll::Ready(())
            }
            _ => panic!("Func2 polled after it completed"),
        }
    }
}

/// The hand-written state machines, spawned like the `async fn`s: the same order.
pub async fn with_state_machines() -> Vec<u32> {
    let log = Log::default();
    let tasks = vec![
        spindle::spawn(Func1 {
            log: log.clone(),
            state: Step::Start,
        }),
        spindle::spawn(Func2 {
            log: log.clone(),
            resumed: 0,
        }),
    ];
    for result in spindle::task::gather(tasks).await {
        result.unwrap();
    }
    Arc::try_unwrap(log).unwrap().into_inner().unwrap()
}

#[allow(dead_code)] // the tests include this file for its functions, not for `main`
#[spindle::main(flavor = "current_thread")]
pub async fn main() {
    println!("func1 and func2 yielding to each other:");
    println!("order: {:?}", with_yield_now().await);
    println!("func1 and func2 sleeping:");
    println!("order: {:?}", with_sleep().await);
    println!("the same coroutines as hand-written Future state machines:");
    println!("order: {:?}", with_state_machines().await);
}
