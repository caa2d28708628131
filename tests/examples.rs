//! The asyncio-tutorial examples, each run through its core function (the example file is
//! included as a module) with assertions on what it shows. The crawler's test is in
//! `tests/crawler.rs` (it needs the `hyper` feature).

// Not a library: `pub` items here are shared with the tests through `#[path]` modules,
// so the workspace's API lints (missing_docs, unreachable_pub, missing Debug) do not apply.
#![allow(missing_docs, unreachable_pub, missing_debug_implementations)]

use std::time::Duration;

#[path = "../examples/coroutines.rs"]
mod coroutines;

#[path = "../examples/tasks.rs"]
mod tasks;

#[path = "../examples/futures.rs"]
mod futures_example;

#[path = "../examples/async_iterator.rs"]
mod async_iterator;

#[path = "../examples/async_context_manager.rs"]
mod async_context_manager;

#[path = "../examples/run_in_executor.rs"]
mod run_in_executor;

#[path = "../examples/fast_loop.rs"]
mod fast_loop;

#[spindle::test]
async fn coroutines_interleave_when_yielding() {
    assert_eq!(coroutines::with_yield_now().await, [1, 3, 2, 4]);
}

#[spindle::test(start_paused = true)]
async fn coroutines_interleave_when_sleeping() {
    assert_eq!(coroutines::with_sleep().await, [1, 3, 2, 4]);
}

#[spindle::test]
async fn hand_written_state_machines_interleave_the_same_way() {
    assert_eq!(coroutines::with_state_machines().await, [1, 3, 2, 4]);
}

#[spindle::test(start_paused = true)]
async fn tasks_wait_reports_done_and_pending() {
    let report = tasks::walk_through(Duration::from_secs(1)).await;
    // `pending` is what `wait` handed back; `running` is what the tasks themselves say. They
    // must agree: a finished task in `pending`, or a running one missing from it, is a bug.
    assert_eq!(report.first_pending, report.first_running, "{report:#?}");
    assert_eq!(
        report.timeout_pending, report.timeout_running,
        "{report:#?}"
    );
    assert_eq!(
        report,
        tasks::Report {
            awaited: "n1",
            first_done: vec!["fast"],
            first_pending: vec!["slow", "slowest"],
            first_running: vec!["slow", "slowest"],
            timeout_done: vec!["slow"],
            timeout_pending: vec!["slowest"],
            timeout_running: vec!["slowest"],
            gathered: vec!["a", "b", "c"],
            aborted: "slowest",
            aborted_is_cancelled: true,
            // n1 (1) + first completed (1) + the timeout (5) + gather (3)
            elapsed_units: 10,
        }
    );
}

#[spindle::test(start_paused = true)]
async fn future_is_set_by_another_task_after_two_seconds() {
    let (value, waited) = futures_example::set_after(Duration::from_secs(2), "done!").await;
    assert_eq!(value, "done!");
    assert_eq!(waited, Duration::from_secs(2));
}

#[spindle::test(start_paused = true)]
async fn reader_stream_yields_each_line() {
    let start = spindle::time::Instant::now();
    let lines = async_iterator::read_all(4, Duration::from_secs(1)).await;
    assert_eq!(lines, [1, 2, 3, 4]);
    assert_eq!(start.elapsed(), Duration::from_secs(4));
}

#[spindle::test(start_paused = true)]
async fn connection_closes_on_every_way_out() {
    use async_context_manager::{Log, QueryError};

    let take = |log: &Log| std::mem::take(&mut *log.lock().unwrap());
    let log = Log::default();

    assert_eq!(async_context_manager::normal(log.clone()).await, Ok(16));
    assert_eq!(
        take(&log),
        ["open", "query select 1", "query select 2", "close"]
    );

    assert_eq!(
        async_context_manager::early_return(log.clone()).await,
        Ok(12)
    );
    assert_eq!(take(&log), ["open", "query select count", "close"]);

    assert_eq!(
        async_context_manager::error(log.clone()).await,
        Err(QueryError("select fail".into()))
    );
    assert_eq!(take(&log), ["open", "query select fail", "close"]);

    assert!(async_context_manager::panic(log.clone()).await);
    assert_eq!(take(&log), ["open", "query select 1", "close (drop)"]);
}

// Real time: blocking threads really sleep. Bounds are loose on purpose.
#[spindle::test(flavor = "multi_thread", worker_threads = 2)]
async fn blocking_work_leaves_the_loop_responsive() {
    let report = run_in_executor::run(
        Duration::from_millis(300),
        2,
        vec![20_000, 10_000, 5_000, 100],
    )
    .await;
    assert!(report.ticks > 0, "the ticker never ran: {report:?}");
    assert_eq!(report.fetched, "hello from the event loop");
    assert_eq!(report.primes, [2262, 1229, 669, 25]);
    assert!(
        report.max_parallel >= 1 && report.max_parallel <= 2,
        "{report:?}"
    );
    assert!(report.elapsed >= Duration::from_millis(300));
}

// Plain #[test]: the example builds its own debug-mode runtime.
#[test]
fn debug_mode_names_the_task_that_blocked_the_loop() {
    let reports = run_in_executor::debug_mode_catches_a_blocking_call();
    assert_eq!(reports.len(), 1, "{reports:?}");
    assert!(
        reports[0].contains("'requests.get on the loop'")
            && reports[0].contains("examples/run_in_executor.rs")
            && reports[0].contains("longer than the 50ms threshold"),
        "{reports:?}"
    );
}

// Plain #[test]: the example builds its own Spindle and tokio runtimes.
#[test]
fn fast_loop_reports_a_ratio_per_workload() {
    let sizes = spindle_bench::workloads::Sizes {
        spawn_tasks: 50,
        yield_tasks: 4,
        yields_per_task: 10,
        echo_conns: 2,
        echo_round_trips: 5,
        ..spindle_bench::workloads::Sizes::quick()
    };
    let rows = fast_loop::compare(&sizes, 2, 2);
    let names: Vec<_> = rows.iter().map(|r| r.name).collect();
    assert_eq!(names, fast_loop::SHOWN);
    // The runtimes take turns going first: round after round, and workload after workload.
    let firsts: Vec<_> = rows.iter().map(|r| r.firsts.clone()).collect();
    assert_eq!(
        firsts,
        [
            ["spindle", "tokio"],
            ["tokio", "spindle"],
            ["spindle", "tokio"]
        ]
    );
    for row in rows {
        assert!(row.ratio().is_finite() && row.ratio() > 0.0, "{row:?}");
    }
}
