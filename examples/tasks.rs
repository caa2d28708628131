//! Tasks (asyncio tutorial, "Tasks"): named tasks, awaiting them, `wait` with done/pending
//! and a timeout, `gather`, and cancelling.
//!
//! `cargo run --example tasks`

// Not a library: `pub` items here are shared with the tests through `#[path]` modules,
// so the workspace's API lints (missing_docs, unreachable_pub, missing Debug) do not apply.
#![allow(missing_docs, unreachable_pub, missing_debug_implementations)]

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use spindle::task::{self, AbortHandle, Id, JoinHandle, ReturnWhen};
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
    /// `wait(FirstCompleted)`: the names done, and the names of the handles `wait` returned
    /// as pending (looked up by task id).
    pub first_done: Vec<&'static str>,
    pub first_pending: Vec<&'static str>,
    /// The tasks really still running when that `wait` returned, seen through their own
    /// abort handles: what `first_pending` must name.
    pub first_running: Vec<&'static str>,
    /// `wait(AllCompleted, timeout)` on those pending: done and still pending at the timeout,
    /// and the tasks really still running then.
    pub timeout_done: Vec<&'static str>,
    pub timeout_pending: Vec<&'static str>,
    pub timeout_running: Vec<&'static str>,
    /// `gather` of three tasks: their results in the order given.
    pub gathered: Vec<&'static str>,
    /// The task left pending, by name, aborted: its join error says it was cancelled.
    pub aborted: &'static str,
    /// Its join error says it was cancelled.
    pub aborted_is_cancelled: bool,
    /// Time at the end, in units (exact on a paused clock).
    pub elapsed_units: u32,
}

/// Runs the walk-through, each job taking a few `unit`s. On a paused clock (the test) it
/// takes no real time.
pub async fn walk_through(unit: Duration) -> Report {
    let start = Instant::now();
    // Every task's id and name, to name the handles `wait` gives back.
    let names = Mutex::new(HashMap::<Id, &'static str>::new());
    let name_of = |id: Id| -> &'static str { names.lock().unwrap()[&id] };
    // asyncio.create_task(coro, name=...): a named task.
    let named = |name: &'static str, units: u32| -> JoinHandle<&'static str> {
        let handle = task::Builder::new()
            .name(name)
            .spawn(job(name, units, unit))
            .expect("spawning a task");
        names.lock().unwrap().insert(handle.id(), name);
        handle
    };
    // The names of the watched tasks not finished yet, asked of the tasks themselves.
    let running = |watched: &[AbortHandle]| -> Vec<&'static str> {
        watched
            .iter()
            .filter(|task| !task.is_finished())
            .map(|task| name_of(task.id()))
            .collect()
    };

    let n1 = named("n1", 1);
    println!("spawned task {:?} named n1", n1.id());
    let awaited = n1.await.unwrap();
    println!("awaited n1: {awaited:?}");

    // asyncio.wait({t1, t2, t3}, return_when=FIRST_COMPLETED)
    let handles = vec![named("slow", 3), named("fast", 1), named("slowest", 10)];
    let watched: Vec<AbortHandle> = handles.iter().map(JoinHandle::abort_handle).collect();
    let (done, pending) = task::wait(handles, ReturnWhen::FirstCompleted, None).await;
    let first_running = running(&watched);
    let first_done: Vec<_> = done.iter().map(|f| *f.result.as_ref().unwrap()).collect();
    // The handles `wait` gave back as pending, in input order, named by their task ids.
    let first_pending: Vec<_> = pending.iter().map(|h| name_of(h.id())).collect();
    println!("FIRST_COMPLETED: done {first_done:?}, pending {first_pending:?}");

    // asyncio.wait(pending, timeout=5): "slow" finishes, "slowest" does not.
    let (done, mut pending) = task::wait(pending, ReturnWhen::AllCompleted, Some(unit * 5)).await;
    let timeout_running = running(&watched);
    let timeout_done: Vec<_> = done.iter().map(|f| *f.result.as_ref().unwrap()).collect();
    let timeout_pending: Vec<_> = pending.iter().map(|h| name_of(h.id())).collect();
    println!("after a 5-unit timeout: done {timeout_done:?}, still pending {timeout_pending:?}");

    // asyncio.gather(a, b, c): results in the order given, not in the order they finish.
    let gathered = task::gather(vec![named("a", 3), named("b", 1), named("c", 2)])
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect::<Vec<_>>();
    println!("gather: {gathered:?}");

    // task.cancel(): the straggler from the timed-out wait.
    let straggler = pending.pop().expect("one task was left pending");
    let aborted = name_of(straggler.id());
    straggler.abort();
    let err = straggler.await.unwrap_err();
    println!("aborted {aborted}: {err}");

    Report {
        awaited,
        first_done,
        first_pending,
        first_running,
        timeout_done,
        timeout_pending,
        timeout_running,
        gathered,
        aborted,
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
