//! `spindle::time` through the facade, as a user writes it.

// Not a library: `pub` items here are shared with the tests through `#[path]` modules,
// so the workspace's API lints (missing_docs, unreachable_pub, missing Debug) do not apply.
#![allow(missing_docs, unreachable_pub, missing_debug_implementations)]

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use common::runtimes;
use futures::StreamExt;
use spindle::runtime::Builder;
use spindle::time::{self, Instant, MissedTickBehavior};

#[spindle::test(start_paused = true)]
async fn sleeps_of_random_lengths_complete_in_deadline_order() {
    // A fixed pseudo-random sequence: deterministic, but no order in it.
    let mut x: u64 = 0x2545_F491_4F6C_DD1D;
    let mut lengths = Vec::new();
    for _ in 0..200 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        lengths.push(x % 10_000);
    }
    let order = Arc::new(std::sync::Mutex::new(Vec::new()));
    let start = Instant::now();
    let mut set = spindle::task::JoinSet::new();
    for (i, &ms) in lengths.iter().enumerate() {
        let order = order.clone();
        set.spawn(async move {
            time::sleep(Duration::from_millis(ms)).await;
            assert!(
                start.elapsed() >= Duration::from_millis(ms),
                "a sleep never completes early"
            );
            order.lock().unwrap().push((ms, i));
        });
    }
    while let Some(r) = set.join_next().await {
        r.unwrap();
    }
    let order = order.lock().unwrap();
    let fired: Vec<u64> = order.iter().map(|&(ms, _)| ms).collect();
    let mut sorted = fired.clone();
    sorted.sort();
    assert_eq!(fired, sorted, "timers fire in deadline order");
    assert_eq!(fired.len(), 200);
}

#[spindle::test(start_paused = true)]
async fn a_one_hour_timeout_is_instant_with_the_paused_clock() {
    let wall = std::time::Instant::now();
    let r = time::timeout(Duration::from_secs(3600), std::future::pending::<()>()).await;
    assert!(r.is_err());
    assert_eq!(r.unwrap_err().to_string(), "deadline has elapsed");
    assert!(wall.elapsed() < Duration::from_secs(5));
}

#[test]
fn timeout_on_ready_and_never_ready_futures() {
    for (flavor, rt) in runtimes() {
        rt.block_on(async {
            assert_eq!(
                time::timeout(Duration::from_millis(50), async { 5 })
                    .await
                    .unwrap(),
                5,
                "{flavor}"
            );
            let start = Instant::now();
            let err = time::timeout(Duration::from_millis(20), std::future::pending::<()>()).await;
            assert!(err.is_err(), "{flavor}");
            let waited = start.elapsed();
            assert!(
                waited >= Duration::from_millis(20) && waited < Duration::from_secs(2),
                "{flavor}: {waited:?}"
            );
        });
    }
}

#[test]
fn a_real_sleep_is_never_early() {
    for (flavor, rt) in runtimes() {
        rt.block_on(async {
            let start = std::time::Instant::now();
            time::sleep(Duration::from_millis(100)).await;
            let slept = start.elapsed();
            assert!(
                slept >= Duration::from_millis(100) && slept < Duration::from_secs(2),
                "{flavor}: {slept:?}"
            );
        });
    }
}

#[spindle::test(start_paused = true)]
async fn interval_missed_tick_behaviors() {
    for (behavior, expected) in [
        (MissedTickBehavior::Burst, [0, 10, 20, 30, 40]),
        (MissedTickBehavior::Delay, [0, 10, 20, 45, 55]),
        (MissedTickBehavior::Skip, [0, 10, 20, 40, 50]),
    ] {
        let start = Instant::now();
        let mut interval = time::interval(Duration::from_millis(10));
        interval.set_missed_tick_behavior(behavior);
        let mut ticks = Vec::new();
        for i in 0..5 {
            let at = interval.tick().await;
            ticks.push((at - start).as_millis() as u64);
            if i == 1 {
                // Busy for 25 ms: the tick at 20 ms is missed.
                time::advance(Duration::from_millis(25)).await;
            }
        }
        // A late tick reports the instant it was scheduled for (20 ms); what follows depends
        // on the behaviour: Burst catches up, Delay restarts from now (35 ms), Skip keeps the
        // phase and drops the ticks it missed.
        assert_eq!(ticks, expected, "{behavior:?}");
    }
}

#[spindle::test(start_paused = true)]
async fn interval_is_a_stream() {
    let start = Instant::now();
    let ticks: Vec<_> = time::interval(Duration::from_secs(1))
        .take(3)
        .collect()
        .await;
    let offsets: Vec<u64> = ticks.iter().map(|t| (*t - start).as_secs()).collect();
    assert_eq!(offsets, vec![0, 1, 2]);
}

#[spindle::test(start_paused = true)]
async fn reset_moves_a_sleep() {
    let start = Instant::now();
    let sleep = time::sleep(Duration::from_secs(10));
    let mut sleep = std::pin::pin!(sleep);
    sleep.as_mut().reset(start + Duration::from_secs(2));
    sleep.as_mut().await;
    assert_eq!(start.elapsed(), Duration::from_secs(2));
}

#[spindle::test(start_paused = true)]
async fn duration_max_never_fires_and_ten_years_does() {
    let start = Instant::now();
    let ten_years = Duration::from_secs(10 * 365 * 24 * 3600);
    let never = time::timeout(Duration::MAX, async {
        time::sleep(ten_years).await;
        "ten years"
    })
    .await;
    assert_eq!(never.unwrap(), "ten years");
    assert!(start.elapsed() >= ten_years);
    let r = time::timeout(Duration::from_secs(1), time::sleep(Duration::MAX)).await;
    assert!(r.is_err(), "Duration::MAX never fires");
}

#[test]
fn a_busy_task_still_lets_a_timer_fire_on_a_current_thread_runtime() {
    // Before the runtime's clock starts: a sleep until then has fired at its first poll.
    let past = Instant::now();
    let rt = Builder::new_current_thread().build().unwrap();
    rt.block_on(async {
        let fired = Arc::new(AtomicBool::new(false));
        let f = fired.clone();
        spindle::spawn(async move {
            time::sleep(Duration::from_millis(20)).await;
            f.store(true, Ordering::SeqCst);
        });
        // A busy task: sleeps into the past are always ready, so it never yields by itself
        // (a `sleep(Duration::ZERO)` would: it is due only at the driver's next turn). Only
        // the cooperative budget lets the timer task in, by making one of these sleeps return
        // `Pending` once the budget is spent. Each `Pending` is counted, with whether the
        // budget was spent, so the test can tell who yielded.
        let (mut budget_yields, mut own_yields) = (0u32, 0u32);
        // A starved timer would spin this loop forever; give up after a generous while.
        let give_up = std::time::Instant::now() + Duration::from_secs(10);
        while !fired.load(Ordering::SeqCst) && std::time::Instant::now() < give_up {
            let mut ready = std::pin::pin!(time::sleep_until(past));
            std::future::poll_fn(|cx| {
                let spent = !spindle::coop::has_budget_remaining();
                let poll = ready.as_mut().poll(cx);
                match (poll.is_pending(), spent) {
                    (true, true) => budget_yields += 1,
                    (true, false) => own_yields += 1,
                    (false, _) => {}
                }
                poll
            })
            .await;
        }
        assert!(
            fired.load(Ordering::SeqCst),
            "the timer never fired in 10 s: the busy task starved it \
             ({budget_yields} yields for the budget)"
        );
        assert_eq!(
            own_yields, 0,
            "the busy task was not busy: it yielded by itself"
        );
        assert!(
            budget_yields > 0,
            "the timer fired, yet the busy task never yielded"
        );
    });
}

#[test]
fn sleep_outside_a_runtime_panics_with_advice() {
    let err = std::panic::catch_unwind(|| {
        drop(time::sleep(Duration::from_millis(1)));
    })
    .unwrap_err();
    let msg = err
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| err.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_default();
    assert!(
        msg.contains("must be called from inside a Spindle runtime: use #[spindle::main]"),
        "{msg}"
    );
}

#[test]
fn start_paused_on_multi_thread_is_a_clear_error() {
    let err = Builder::new_multi_thread()
        .start_paused(true)
        .build()
        .unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::Unsupported);
    assert!(err.to_string().contains("current-thread"), "{err}");
}

#[test]
fn timer_types_are_send_and_sync() {
    fn send_sync<T: Send + Sync>(_: &T) {}
    fn send<T: Send>(_: &T) {}
    let rt = Builder::new_current_thread().build().unwrap();
    let _enter = rt.enter();
    send_sync(&time::sleep(Duration::from_millis(1)));
    send(&time::timeout(Duration::from_millis(1), async {}));
    let mut interval = time::interval(Duration::from_millis(1));
    send(&interval.tick());
}

#[spindle::test]
async fn spindle_test_defaults_to_current_thread() {
    assert_eq!(
        spindle::runtime::Handle::current().flavor(),
        spindle::runtime::Flavor::CurrentThread
    );
}

#[spindle::test(flavor = "multi_thread", worker_threads = 2)]
async fn spindle_test_multi_thread() {
    let h = spindle::runtime::Handle::current();
    assert_eq!(h.flavor(), spindle::runtime::Flavor::MultiThread);
    assert_eq!(h.metrics().workers, 2);
    time::sleep(Duration::from_millis(1)).await;
}
