//! The paused clock: auto-advance, `advance`, `pause`/`resume`, and `Interval`'s missed-tick
//! behaviours, all deterministic.

// Not a library: `pub` items here are shared with the tests through `#[path]` modules,
// so the workspace's API lints (missing_docs, unreachable_pub, missing Debug) do not apply.
#![allow(missing_docs, unreachable_pub, missing_debug_implementations)]
// These run on real threads and parking_lot; the loom build has its own models.
#![cfg(not(loom))]

mod common;

use std::sync::atomic::Ordering;
use std::task::Context;
use std::time::Duration;

use futures_util::future::{Either, join, select};
use spindle_executor::park::{Flavor, Park, ThreadPark};
use spindle_timer::{
    Driver, Instant, MissedTickBehavior, advance, interval, interval_at, pause, resume, sleep,
    sleep_until, timeout,
};

use common::{CountingWaker, panic_message, paused_rt, rt};

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

const HOUR: Duration = Duration::from_secs(3_600);

#[test]
fn a_one_hour_timeout_finishes_at_once_at_exactly_one_hour() {
    let mut rt = paused_rt();
    let wall = std::time::Instant::now();
    let start = Instant::now();
    let result = rt.block_on(timeout(HOUR, std::future::pending::<()>()));
    assert!(result.is_err());
    assert_eq!(Instant::now() - start, HOUR);
    assert!(wall.elapsed() < Duration::from_secs(2));
}

#[test]
fn auto_advance_lands_on_each_exact_deadline_in_order() {
    let mut rt = paused_rt();
    let start = Instant::now();
    let at = |micros: u64| async move {
        sleep(Duration::from_micros(micros)).await;
        Instant::now() - start
    };
    let (a, (b, c)) = rt.block_on(join(at(2_500), join(at(700), at(90_000_001))));
    assert_eq!(a, Duration::from_micros(2_500));
    assert_eq!(b, Duration::from_micros(700));
    assert_eq!(c, Duration::from_micros(90_000_001));
}

#[test]
fn advance_moves_the_clock_by_exactly_d_and_fires_what_is_due() {
    let mut rt = paused_rt();
    let start = Instant::now();
    rt.block_on(async {
        let (counter, waker) = CountingWaker::new();
        let mut due = Box::pin(sleep(ms(1)));
        let mut later = Box::pin(sleep(ms(3)));
        let mut cx = Context::from_waker(&waker);
        assert!(std::future::Future::poll(due.as_mut(), &mut cx).is_pending());
        assert!(std::future::Future::poll(later.as_mut(), &mut cx).is_pending());

        advance(Duration::from_micros(1_500)).await;
        assert_eq!(Instant::now() - start, Duration::from_micros(1_500));
        assert_eq!(counter.count(), 1);
        assert!(due.is_elapsed());
        assert!(!later.is_elapsed());

        advance(Duration::from_micros(1_499)).await;
        assert_eq!(counter.count(), 1, "fired 1 ns early");
        advance(Duration::from_nanos(1_000)).await;
        assert_eq!(counter.count(), 2);
    });
}

#[test]
fn a_ten_year_sleep_fires_and_duration_max_never_does() {
    let mut rt = paused_rt();
    let start = Instant::now();
    let ten_years = Duration::from_secs(10 * 365 * 86_400);
    let winner = rt.block_on(async {
        match select(Box::pin(sleep(Duration::MAX)), Box::pin(sleep(ten_years))).await {
            Either::Left(_) => "Duration::MAX",
            Either::Right(_) => "ten years",
        }
    });
    assert_eq!(winner, "ten years");
    assert_eq!(Instant::now() - start, ten_years);
}

#[test]
fn with_only_never_timers_the_driver_parks_until_woken() {
    let mut rt = paused_rt();
    let start = Instant::now();
    let (counter, waker) = CountingWaker::new();
    let mut never = Box::pin(sleep(Duration::MAX));
    assert!(
        std::future::Future::poll(never.as_mut(), &mut Context::from_waker(&waker)).is_pending()
    );
    let unparker = rt.driver.unparker();
    let waker_thread = std::thread::spawn(move || {
        std::thread::sleep(ms(30));
        unparker.unpark();
    });
    rt.driver.park(None); // must block (no spin, no panic) until the unpark
    waker_thread.join().unwrap();
    assert_eq!(
        Instant::now(),
        start,
        "the clock must not move toward \"never\""
    );
    assert_eq!(counter.count(), 0);
}

#[test]
fn park_zero_never_advances_the_clock() {
    let mut rt = paused_rt();
    let start = Instant::now();
    let (counter, waker) = CountingWaker::new();
    let mut pending = Box::pin(sleep(ms(10)));
    assert!(
        std::future::Future::poll(pending.as_mut(), &mut Context::from_waker(&waker)).is_pending()
    );
    for _ in 0..10 {
        rt.driver.park(Some(Duration::ZERO));
    }
    assert_eq!(Instant::now(), start);
    assert_eq!(counter.count(), 0);
    rt.driver.park(None);
    assert_eq!(Instant::now() - start, ms(10));
    assert_eq!(counter.count(), 1);
}

#[test]
fn auto_advance_waits_while_a_blocking_closure_runs() {
    let mut rt = paused_rt();
    let start = Instant::now();
    let (counter, waker) = CountingWaker::new();
    let mut pending = Box::pin(sleep(HOUR));
    assert!(
        std::future::Future::poll(pending.as_mut(), &mut Context::from_waker(&waker)).is_pending()
    );
    rt.blocking.store(1, Ordering::SeqCst);
    for _ in 0..5 {
        rt.driver.park(None); // a short real-time wait, no jump
    }
    assert_eq!(Instant::now(), start);
    assert_eq!(counter.count(), 0);
    rt.blocking.store(0, Ordering::SeqCst);
    rt.driver.park(None);
    assert_eq!(Instant::now() - start, HOUR);
    assert_eq!(counter.count(), 1);
}

#[test]
fn reset_on_the_paused_clock_is_exact() {
    let mut rt = paused_rt();
    let start = Instant::now();
    rt.block_on(async {
        let mut sleep = Box::pin(sleep(HOUR));
        let (_, waker) = CountingWaker::new();
        assert!(
            std::future::Future::poll(sleep.as_mut(), &mut Context::from_waker(&waker))
                .is_pending()
        );
        sleep.as_mut().reset(start + Duration::from_micros(1_234));
        sleep.as_mut().await;
        assert_eq!(Instant::now() - start, Duration::from_micros(1_234));
        sleep.as_mut().reset(start + HOUR);
        sleep.await;
        assert_eq!(Instant::now() - start, HOUR);
    });
}

#[test]
fn pause_and_resume_on_a_running_clock() {
    let mut rt = rt();
    rt.block_on(async {
        pause();
        let paused_at = Instant::now();
        std::thread::sleep(ms(5));
        assert_eq!(Instant::now(), paused_at);
        advance(ms(100)).await;
        assert_eq!(Instant::now() - paused_at, ms(100));
        // Auto-advance also works after a pause.
        sleep(HOUR).await;
        assert_eq!(Instant::now() - paused_at, ms(100) + HOUR);
        resume();
        std::thread::sleep(ms(2));
        assert!(
            Instant::now() - paused_at >= ms(102) + HOUR,
            "resumes from the paused time"
        );
    });
}

#[test]
fn pause_misuse_panics_clearly() {
    let mut rt = paused_rt();
    let twice = std::panic::catch_unwind(pause);
    assert!(panic_message(twice.unwrap_err()).contains("already paused"));
    rt.block_on(async {});
    resume();
    let not_paused = std::panic::catch_unwind(resume);
    assert!(panic_message(not_paused.unwrap_err()).contains("not paused"));
}

#[test]
fn pause_on_a_multi_thread_runtime_panics() {
    let (_driver, handle) = Driver::with_parts(ThreadPark::new(), Flavor::MultiThread, || 0, false);
    let _entered = handle.enter();
    let message = panic_message(std::panic::catch_unwind(pause).unwrap_err());
    assert!(message.contains("current_thread"), "{message}");
    let start_paused = std::panic::catch_unwind(|| {
        Driver::with_parts(ThreadPark::new(), Flavor::MultiThread, || 0, true)
    });
    assert!(panic_message(start_paused.unwrap_err()).contains("current_thread"));
}

/// Ticks an interval of 10 ms, misses ticks by waiting 35 ms after the first, and returns
/// (scheduled instant, clock at completion) of the following ticks, relative to the start.
fn missed_ticks(behavior: MissedTickBehavior) -> Vec<(Duration, Duration)> {
    let mut rt = paused_rt();
    let start = Instant::now();
    rt.block_on(async {
        let mut ticks = interval(ms(10));
        assert_eq!(ticks.missed_tick_behavior(), MissedTickBehavior::Burst);
        ticks.set_missed_tick_behavior(behavior);
        assert_eq!(ticks.tick().await, start);
        advance(ms(35)).await;
        let mut seen = Vec::new();
        for _ in 0..4 {
            let scheduled = ticks.tick().await;
            seen.push((scheduled - start, Instant::now() - start));
        }
        seen
    })
}

#[test]
fn interval_burst_catches_up_at_once() {
    assert_eq!(
        missed_ticks(MissedTickBehavior::Burst),
        vec![
            (ms(10), ms(35)),
            (ms(20), ms(35)),
            (ms(30), ms(35)),
            (ms(40), ms(40))
        ]
    );
}

#[test]
fn interval_delay_restarts_the_schedule_from_the_late_tick() {
    assert_eq!(
        missed_ticks(MissedTickBehavior::Delay),
        vec![
            (ms(10), ms(35)),
            (ms(45), ms(45)),
            (ms(55), ms(55)),
            (ms(65), ms(65))
        ]
    );
}

#[test]
fn interval_skip_drops_missed_ticks_and_keeps_the_phase() {
    assert_eq!(
        missed_ticks(MissedTickBehavior::Skip),
        vec![
            (ms(10), ms(35)),
            (ms(40), ms(40)),
            (ms(50), ms(50)),
            (ms(60), ms(60))
        ]
    );
}

#[test]
fn interval_at_reset_and_period() {
    let mut rt = paused_rt();
    let start = Instant::now();
    rt.block_on(async {
        let mut ticks = interval_at(start + ms(5), ms(7));
        assert_eq!(ticks.period(), ms(7));
        assert_eq!(ticks.tick().await, start + ms(5));
        ticks.reset();
        assert_eq!(ticks.tick().await, start + ms(12));
        ticks.reset_after(ms(1));
        assert_eq!(ticks.tick().await, start + ms(13));
        ticks.reset_immediately();
        assert_eq!(ticks.tick().await, start + ms(13));
        ticks.reset_at(start + ms(100));
        assert_eq!(ticks.tick().await, start + ms(100));
        assert_eq!(ticks.tick().await, start + ms(107));
    });
}

#[test]
fn interval_tick_is_cancel_safe() {
    let mut rt = paused_rt();
    let start = Instant::now();
    rt.block_on(async {
        let mut ticks = interval_at(start + ms(10), ms(10));
        // Abandon tick() futures before they complete, many times.
        for _ in 0..5 {
            let raced = select(Box::pin(ticks.tick()), Box::pin(sleep(ms(1)))).await;
            assert!(matches!(raced, Either::Right(_)));
        }
        assert_eq!(ticks.tick().await, start + ms(10));
        assert_eq!(ticks.tick().await, start + ms(20));
    });
}

#[test]
fn sleep_until_and_timeout_on_the_paused_clock() {
    let mut rt = paused_rt();
    let start = Instant::now();
    rt.block_on(async {
        sleep_until(start + ms(3)).await;
        assert_eq!(Instant::now(), start + ms(3));
        let quick = async {
            sleep(ms(1)).await;
            5
        };
        assert_eq!(timeout(ms(2), quick).await, Ok(5));
        assert_eq!(Instant::now(), start + ms(4));
    });
}
