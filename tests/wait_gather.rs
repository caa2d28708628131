//! `task::wait` and `task::gather`, as asyncio users reach for them. Timing is checked on
//! the paused clock, where "returned after 2 s" is exact.

// Not a library: `pub` items here are shared with the tests through `#[path]` modules,
// so the workspace's API lints (missing_docs, unreachable_pub, missing Debug) do not apply.
#![allow(missing_docs, unreachable_pub, missing_debug_implementations)]

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use spindle::task::{self, Finished, JoinHandle, Plain, ReturnWhen};
use spindle::time::{self, Instant};

fn sleeper<T: Send + 'static>(secs: u64, value: T) -> JoinHandle<T> {
    spindle::spawn(async move {
        time::sleep(Duration::from_secs(secs)).await;
        value
    })
}

fn indices<T>(done: &[Finished<T>]) -> Vec<usize> {
    let mut indices: Vec<usize> = done.iter().map(|f| f.index).collect();
    indices.sort_unstable();
    indices
}

#[spindle::test(start_paused = true)]
async fn all_completed_waits_for_every_task() {
    let start = Instant::now();
    let handles = vec![sleeper(3, 'a'), sleeper(1, 'b'), sleeper(2, 'c')];
    let ids: Vec<_> = handles.iter().map(JoinHandle::id).collect();
    let (done, pending) = task::wait(handles, ReturnWhen::AllCompleted, None).await;
    assert_eq!(start.elapsed(), Duration::from_secs(3));
    assert!(pending.is_empty());
    // Seen in the order they finished, each with its place in the input and its id.
    let order: Vec<(usize, char)> = done
        .iter()
        .map(|f| (f.index, *f.result.as_ref().unwrap()))
        .collect();
    assert_eq!(order, [(1, 'b'), (2, 'c'), (0, 'a')]);
    for f in &done {
        assert_eq!(f.id, ids[f.index]);
    }
}

#[spindle::test(start_paused = true)]
async fn first_completed_leaves_the_rest_running_untouched() {
    let start = Instant::now();
    let handles = vec![sleeper(5, 50u32), sleeper(1, 10), sleeper(9, 90)];
    let (done, pending) = task::wait(handles, ReturnWhen::FirstCompleted, None).await;
    assert_eq!(start.elapsed(), Duration::from_secs(1));
    assert_eq!(indices(&done), [1]);
    assert_eq!(*done[0].result.as_ref().unwrap(), 10);
    // Pending keeps the input order and the tasks were not aborted: they still finish.
    assert_eq!(pending.len(), 2);
    assert!(pending.iter().all(|h| !h.is_finished()));
    let rest = task::gather(pending).await;
    assert_eq!(
        rest.into_iter().map(Result::unwrap).collect::<Vec<_>>(),
        [50, 90]
    );
    assert_eq!(start.elapsed(), Duration::from_secs(9));
}

#[spindle::test(start_paused = true)]
async fn first_completed_reports_all_that_finished_together() {
    let handles = vec![sleeper(2, 0), sleeper(2, 1), sleeper(7, 2)];
    let (done, pending) = task::wait(handles, ReturnWhen::FirstCompleted, None).await;
    assert_eq!(indices(&done), [0, 1]);
    assert_eq!(pending.len(), 1);
    pending[0].abort();
}

#[spindle::test(start_paused = true)]
async fn timeout_returns_what_is_done_so_far() {
    let start = Instant::now();
    let handles = vec![sleeper(1, "one"), sleeper(10, "ten"), sleeper(3, "three")];
    let (done, pending) = task::wait(
        handles,
        ReturnWhen::AllCompleted,
        Some(Duration::from_secs(5)),
    )
    .await;
    assert_eq!(start.elapsed(), Duration::from_secs(5));
    assert_eq!(indices(&done), [0, 2]);
    assert_eq!(pending.len(), 1);
    // The timed-out task was not cancelled by the timeout.
    let mut pending = pending;
    assert_eq!(pending.pop().unwrap().await.unwrap(), "ten");
    assert_eq!(start.elapsed(), Duration::from_secs(10));
}

#[spindle::test(start_paused = true)]
async fn zero_timeout_polls_once() {
    let ready = spindle::spawn(async { 7 });
    task::yield_now().await; // let it run
    let slow = sleeper(1, 8);
    let (done, pending) = task::wait(
        vec![ready, slow],
        ReturnWhen::AllCompleted,
        Some(Duration::ZERO),
    )
    .await;
    assert_eq!(indices(&done), [0]);
    assert_eq!(pending.len(), 1);
}

#[spindle::test(start_paused = true)]
async fn first_exception_stops_on_an_err_output() {
    let start = Instant::now();
    let ok = |secs, v: i32| -> JoinHandle<Result<i32, String>> { sleeper(secs, Ok(v)) };
    let handles = vec![ok(1, 1), sleeper(2, Err("boom".to_string())), ok(10, 3)];
    let (done, pending) = task::wait(handles, ReturnWhen::FirstException, None).await;
    assert_eq!(start.elapsed(), Duration::from_secs(2));
    assert_eq!(indices(&done), [0, 1]);
    let failed = done.iter().find(|f| f.is_exception()).unwrap();
    assert_eq!(failed.index, 1);
    assert_eq!(failed.result.as_ref().unwrap(), &Err("boom".to_string()));
    assert_eq!(pending.len(), 1);
    assert!(!pending[0].is_finished());
}

#[spindle::test(start_paused = true)]
async fn first_exception_stops_on_a_panic_with_plain_outputs() {
    let start = Instant::now();
    let panicker = spindle::spawn(async {
        time::sleep(Duration::from_secs(4)).await;
        panic!("task failed");
    });
    let handles: Vec<JoinHandle<i32>> = vec![sleeper(1, 1), panicker, sleeper(8, 3)];
    let (done, pending) = task::wait(handles, ReturnWhen::FirstException, None).await;
    assert_eq!(start.elapsed(), Duration::from_secs(4));
    let failed = done.iter().find(|f| f.index == 1).unwrap();
    assert!(failed.result.as_ref().unwrap_err().is_panic());
    assert_eq!(pending.len(), 1);
}

#[spindle::test(start_paused = true)]
async fn first_exception_counts_a_cancelled_task() {
    let victim = sleeper(100, 0u8);
    let abort = victim.abort_handle();
    spindle::spawn(async move {
        time::sleep(Duration::from_secs(3)).await;
        abort.abort();
    });
    let (done, pending) = task::wait(
        vec![sleeper(50, 1u8), victim],
        ReturnWhen::FirstException,
        None,
    )
    .await;
    assert_eq!(done.len(), 1);
    assert_eq!(done[0].index, 1);
    assert!(done[0].result.as_ref().unwrap_err().is_cancelled());
    assert_eq!(pending.len(), 1);
}

#[spindle::test(start_paused = true)]
async fn first_exception_without_failures_waits_for_all() {
    let handles = vec![sleeper(1, Plain(vec![1u8])), sleeper(2, Plain(vec![2u8]))];
    let (done, pending) = task::wait(handles, ReturnWhen::FirstException, None).await;
    assert_eq!(indices(&done), [0, 1]);
    assert!(done.iter().all(|f| !f.is_exception()));
    assert!(pending.is_empty());
}

#[spindle::test]
async fn empty_input_returns_at_once() {
    let (done, pending) = task::wait(
        Vec::<JoinHandle<()>>::new(),
        ReturnWhen::FirstCompleted,
        None,
    )
    .await;
    assert!(done.is_empty() && pending.is_empty());
    assert!(task::gather(Vec::<JoinHandle<()>>::new()).await.is_empty());
}

#[spindle::test(start_paused = true)]
async fn gather_keeps_the_order_given_and_reports_failures_in_place() {
    let start = Instant::now();
    let panicker: JoinHandle<u64> = spindle::spawn(async {
        time::sleep(Duration::from_secs(1)).await;
        panic!("second task panics");
    });
    let handles = vec![sleeper(3, 1u64), panicker, sleeper(2, 3)];
    let results = task::gather(handles).await;
    assert_eq!(start.elapsed(), Duration::from_secs(3));
    assert_eq!(*results[0].as_ref().unwrap(), 1);
    assert!(results[1].as_ref().unwrap_err().is_panic());
    assert_eq!(*results[2].as_ref().unwrap(), 3);
}

#[spindle::test(start_paused = true)]
async fn dropping_wait_early_detaches_instead_of_aborting() {
    let finished = Arc::new(AtomicBool::new(false));
    let flag = finished.clone();
    let task = spindle::spawn(async move {
        time::sleep(Duration::from_secs(10)).await;
        flag.store(true, Ordering::SeqCst);
    });
    let waiting = task::wait(vec![task], ReturnWhen::AllCompleted, None);
    assert!(
        time::timeout(Duration::from_secs(1), waiting)
            .await
            .is_err()
    );
    time::sleep(Duration::from_secs(20)).await;
    assert!(
        finished.load(Ordering::SeqCst),
        "the task ran to completion"
    );
}

#[test]
fn many_tasks_on_the_multi_thread_runtime() {
    let rt = spindle::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap();
    rt.block_on(async {
        let handles = (0..2_000u64)
            .map(|i| {
                spindle::spawn(async move {
                    task::yield_now().await;
                    i
                })
            })
            .collect();
        let results = task::gather(handles).await;
        let outputs: Vec<u64> = results.into_iter().map(Result::unwrap).collect();
        assert_eq!(outputs, (0..2_000).collect::<Vec<_>>());

        let handles = (0..2_000u64)
            .map(|i| spindle::spawn(async move { i }))
            .collect();
        let (done, pending) = task::wait(handles, ReturnWhen::AllCompleted, None).await;
        assert!(pending.is_empty());
        assert_eq!(indices(&done), (0..2_000).collect::<Vec<_>>());
    });
}

#[test]
fn wait_future_is_send() {
    fn assert_send<T: Send>(_: &T) {}
    let rt = spindle::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    rt.block_on(async {
        let fut = task::wait(
            vec![spindle::spawn(async { 1 })],
            ReturnWhen::AllCompleted,
            None,
        );
        assert_send(&fut);
        let g = task::gather(vec![spindle::spawn(async { 1 })]);
        assert_send(&g);
        fut.await;
        g.await;
    });
}
