//! Tasks (asyncio tutorial, "Tasks"): named tasks, awaiting them, `wait` with done/pending
//! and a timeout, `gather`, and cancelling.
//!
//! `cargo run --example tasks`

use std::time::Duration;

use spindle::task::{self, JoinHandle, ReturnWhen};
use spindle::time::{self, Instant};

/// A coroutine that takes `units` ticks of `unit` and returns its name, like the tutorial's
/// `foo(n)`.
async fn job(name: &'static str, units: u32, unit: Duration) -> &'static str {
    time::sleep(unit * units).await;
    name
}

/// What the walk-through saw, for the test to check.
#[derive(Debug, PartialEq, Eq)]
pub struct Report {
    /// Awaiting one named task: its result.
    pub awaited: &'static str,
    /// `wait(FirstCompleted)`: the names done, and the names still pending.
    pub first_done: Vec<&'static str>,
    pub first_pending: Vec<&'static str>,
    /// `wait(AllCompleted, timeout)` on those pending: done and still pending at the timeout.
    pub timeout_done: Vec<&'static str>,
    pub timeout_pending: usize,
    /// `gather` of three tasks: their results in the order given.
    pub gathered: Vec<&'static str>,
    /// The task left pending, aborted: its join error says it was cancelled.
    pub aborted_is_cancelled: bool,
    /// Time at the end, in units (exact on a paused clock).
    pub elapsed_units: u32,
}

/// Runs the walk-through, each job taking a few `unit`s. On a paused clock (the test) it
/// takes no real time.
pub async fn walk_through(unit: Duration) -> Report {
    let start = Instant::now();
    // asyncio.create_task(coro, name=...): a named task.
    let named = |name: &'static str, units: u32| -> JoinHandle<&'static str> {
        task::Builder::new()
            .name(name)
            .spawn(job(name, units, unit))
            .expect("spawning a task")
    };

    let n1 = named("n1", 1);
    println!("spawned task {:?} named n1", n1.id());
    let awaited = n1.await.unwrap();
    println!("awaited n1: {awaited:?}");

    // asyncio.wait({t1, t2, t3}, return_when=FIRST_COMPLETED)
    let names = ["slow", "fast", "slowest"];
    let handles = vec![named("slow", 3), named("fast", 1), named("slowest", 10)];
    let (done, pending) = task::wait(handles, ReturnWhen::FirstCompleted, None).await;
    let first_done: Vec<_> = done.iter().map(|f| *f.result.as_ref().unwrap()).collect();
    // `pending` keeps the input order, so the names of those not done are those left over.
    let first_pending: Vec<_> = names
        .iter()
        .copied()
        .filter(|n| !first_done.contains(n))
        .collect();
    println!("FIRST_COMPLETED: done {first_done:?}, pending {first_pending:?}");

    // asyncio.wait(pending, timeout=5): "slow" finishes, "slowest" does not.
    let (done, mut pending) = task::wait(pending, ReturnWhen::AllCompleted, Some(unit * 5)).await;
    let timeout_done: Vec<_> = done.iter().map(|f| *f.result.as_ref().unwrap()).collect();
    println!(
        "after a 5-unit timeout: done {timeout_done:?}, {} still pending",
        pending.len()
    );
    let timeout_pending = pending.len();

    // asyncio.gather(a, b, c): results in the order given, not in the order they finish.
    let gathered = task::gather(vec![named("a", 3), named("b", 1), named("c", 2)])
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect::<Vec<_>>();
    println!("gather: {gathered:?}");

    // task.cancel(): the straggler from the timed-out wait.
    let straggler = pending.pop().expect("one task was left pending");
    straggler.abort();
    let err = straggler.await.unwrap_err();
    println!("aborted: {err}");

    Report {
        awaited,
        first_done,
        first_pending,
        timeout_done,
        timeout_pending,
        gathered,
        aborted_is_cancelled: err.is_cancelled(),
        elapsed_units: (start.elapsed().as_secs_f64() / unit.as_secs_f64()).round() as u32,
    }
}

#[allow(dead_code)] // the tests include this file for its functions, not for `main`
#[spindle::main]
pub async fn main() {
    // Units of 200 ms: about 2 seconds in all (1 + 1 + 5 + 3 units).
    let report = walk_through(Duration::from_millis(200)).await;
    println!("{report:#?}");
}
