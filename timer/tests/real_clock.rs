//! Timers on the real clock, driven by `Driver<ThreadPark>` through a one-future test runtime.
//! Bounds on time are loose (a 2 s ceiling on 100 ms of sleeping): the machine is shared.

// Not a library: `pub` items here are shared with the tests through `#[path]` modules,
// so the workspace's API lints (missing_docs, unreachable_pub, missing Debug) do not apply.
#![allow(missing_docs, unreachable_pub, missing_debug_implementations)]
// These run on real threads and parking_lot; the loom build has its own models.
#![cfg(not(loom))]

mod common;

use std::pin::pin;
use std::sync::Mutex;
use std::task::{Context, Poll};
use std::time::Duration;

use futures_util::StreamExt;
use futures_util::future::{Either, join3, select};
use spindle_executor::park::Park;
use spindle_timer::{Handle, Instant, Sleep, interval, sleep, sleep_until, timeout, timeout_at};

use common::{CountingWaker, panic_message, rt};

const CEILING: Duration = Duration::from_secs(2);

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

#[test]
fn sleeps_complete_in_deadline_order_and_never_early() {
    let mut rt = rt();
    let order = Mutex::new(Vec::new());
    let start = std::time::Instant::now();
    let timed = |n: u64| {
        let order = &order;
        async move {
            sleep(ms(n)).await;
            let elapsed = start.elapsed();
            assert!(elapsed >= ms(n), "{n} ms sleep finished after {elapsed:?}");
            order.lock().unwrap().push(n);
        }
    };
    rt.block_on(join3(timed(60), timed(20), timed(40)));
    assert_eq!(*order.lock().unwrap(), vec![20, 40, 60]);
    assert!(start.elapsed() < ms(60) + CEILING);
}

#[test]
fn a_sleep_is_not_early_even_by_a_fraction_of_a_millisecond() {
    let mut rt = rt();
    for micros in [300, 1_500, 2_700] {
        let duration = Duration::from_micros(micros);
        let start = Instant::now();
        let deadline = rt.block_on(async {
            let sleep = sleep(duration);
            let deadline = sleep.deadline();
            sleep.await;
            deadline
        });
        assert!(Instant::now() >= deadline);
        assert!(start.elapsed() >= duration);
    }
}

#[test]
fn sleep_until_a_past_instant_is_ready_at_once() {
    let mut rt = rt();
    let past = Instant::now() - ms(5);
    rt.block_on(sleep_until(past));
    let sleep = sleep(Duration::ZERO);
    assert!(sleep.is_elapsed());
}

#[test]
fn timeout_on_a_never_ready_future_elapses() {
    let mut rt = rt();
    let start = std::time::Instant::now();
    let result = rt.block_on(timeout(ms(30), std::future::pending::<()>()));
    assert!(result.is_err());
    assert!(start.elapsed() >= ms(30));
    assert!(start.elapsed() < ms(30) + CEILING);
    assert_eq!(result.unwrap_err().to_string(), "deadline has elapsed");
    let elapsed: spindle_timer::error::Elapsed = result.unwrap_err();
    assert!(std::error::Error::source(&elapsed).is_none());
    let io: std::io::Error = result.unwrap_err().into();
    assert_eq!(io.kind(), std::io::ErrorKind::TimedOut);
}

#[test]
fn timeout_on_a_ready_future_gives_its_value() {
    let mut rt = rt();
    assert_eq!(rt.block_on(timeout(ms(30), async { 7 })), Ok(7));
    // Even at a deadline already past: the future is polled first.
    let past = Instant::now() - ms(1);
    assert_eq!(rt.block_on(timeout_at(past, async { 8 })), Ok(8));
    // A future that finishes before the deadline wins.
    let slow_ok = async {
        sleep(ms(10)).await;
        "done"
    };
    assert_eq!(rt.block_on(timeout(CEILING, slow_ok)), Ok("done"));
}

#[test]
fn timeout_accessors() {
    let _rt = rt();
    let mut t = timeout(ms(5), async { 1 });
    let _: &_ = t.get_ref();
    let _: &mut _ = t.get_mut();
    let inner = t.into_inner();
    let mut rt = rt();
    assert_eq!(rt.block_on(inner), 1);
}

#[test]
fn duration_max_and_far_future_mean_never_without_overflow() {
    let mut rt = rt();
    let never = sleep(Duration::MAX);
    assert!(never.deadline() > Instant::now() + Duration::from_secs(86_400 * 365 * 29));
    assert!(!never.is_elapsed());
    let far = sleep_until(Instant::now() + Duration::from_secs(86_400 * 365 * 100));
    let raced = rt.block_on(async {
        match select(pin!(select(pin!(never), pin!(far))), pin!(sleep(ms(20)))).await {
            Either::Left(_) => "never fired",
            Either::Right(_) => "short sleep won",
        }
    });
    assert_eq!(raced, "short sleep won");
    assert_eq!(rt.block_on(timeout(Duration::MAX, async { 3 })), Ok(3));
    let mut ticks = interval(Duration::MAX);
    rt.block_on(ticks.tick()); // the first tick is immediate; the next one is "never"
}

#[test]
fn reset_moves_the_deadline_both_ways() {
    let mut rt = rt();
    let start = std::time::Instant::now();
    rt.block_on(async {
        let mut sleep = pin!(sleep(Duration::from_secs(3_600)));
        // Register it at the far deadline, then pull it in.
        let poll = std::future::poll_fn(|cx| Poll::Ready(sleep.as_mut().poll_pending(cx)));
        poll.await;
        sleep.as_mut().reset(Instant::now() + ms(20));
        sleep.as_mut().await;
        assert!(sleep.is_elapsed());
        // Reset after completion: it waits again.
        let again = Instant::now() + ms(20);
        sleep.as_mut().reset(again);
        assert!(!sleep.is_elapsed());
        sleep.as_mut().await;
        assert!(Instant::now() >= again);
    });
    assert!(start.elapsed() >= ms(40));
    assert!(start.elapsed() < CEILING);
}

/// Polls once and reports whether it was pending.
trait PollPending {
    fn poll_pending(self, cx: &mut Context<'_>) -> bool;
}

impl PollPending for std::pin::Pin<&mut Sleep> {
    fn poll_pending(self, cx: &mut Context<'_>) -> bool {
        std::future::Future::poll(self, cx).is_pending()
    }
}

#[test]
fn dropping_a_sleep_cancels_it() {
    let mut rt = rt();
    let (counter, waker) = CountingWaker::new();
    {
        let mut cancelled = Box::pin(sleep(ms(5)));
        assert!(
            cancelled
                .as_mut()
                .poll_pending(&mut Context::from_waker(&waker))
        );
    }
    // Wait well past its deadline: the dropped timer must never wake anyone.
    rt.block_on(sleep(ms(40)));
    assert_eq!(counter.count(), 0);
    // A kept one with the same deadline does fire.
    let mut kept = Box::pin(sleep(ms(5)));
    assert!(kept.as_mut().poll_pending(&mut Context::from_waker(&waker)));
    rt.block_on(sleep(ms(40)));
    assert_eq!(counter.count(), 1);
}

#[test]
fn many_timers_cancelled_and_fired_in_bulk() {
    let mut rt = rt();
    let (counter, waker) = CountingWaker::new();
    let mut cx = Context::from_waker(&waker);
    // Deadlines spread over ~10 ms, starting far enough out that none passes while they are
    // created and registered.
    let base = Instant::now() + ms(100);
    let mut sleeps: Vec<_> = (0..2_000u64)
        .map(|i| Box::pin(sleep_until(base + Duration::from_micros((i % 97) * 100))))
        .collect();
    for sleep in &mut sleeps {
        assert!(sleep.as_mut().poll_pending(&mut cx));
    }
    // Cancel every other one.
    let kept: Vec<_> = sleeps.into_iter().step_by(2).collect();
    rt.block_on(sleep_until(base + ms(30)));
    assert_eq!(counter.count(), kept.len());
    assert!(kept.iter().all(|sleep| sleep.is_elapsed()));
}

#[test]
fn a_registration_from_another_thread_wakes_the_driver_early() {
    let mut rt = rt();
    // The driver's only timer is an hour away: without a wake it would sleep that long.
    let (_, idle_waker) = CountingWaker::new();
    let mut far = Box::pin(sleep(Duration::from_secs(3_600)));
    assert!(
        far.as_mut()
            .poll_pending(&mut Context::from_waker(&idle_waker))
    );

    let (counter, waker) = CountingWaker::new();
    let handle = rt.handle.clone();
    let remote = std::thread::spawn({
        let counter = counter.clone();
        move || {
            std::thread::sleep(ms(50));
            let _entered = handle.enter();
            let mut near = Box::pin(sleep(ms(20)));
            assert!(near.as_mut().poll_pending(&mut Context::from_waker(&waker)));
            while counter.count() == 0 {
                std::thread::sleep(ms(1));
            }
            assert!(near.is_elapsed());
        }
    });
    let start = std::time::Instant::now();
    // The driver fires the remote timer (calling its waker) from inside `park`.
    while counter.count() == 0 {
        rt.driver.park(None);
        assert!(
            start.elapsed() < CEILING,
            "the driver slept through an earlier deadline"
        );
    }
    remote.join().unwrap();
}

#[test]
fn outside_a_runtime_timers_panic_with_a_helpful_message() {
    let result = std::thread::spawn(|| drop(sleep(ms(1)))).join();
    let message = panic_message(result.unwrap_err());
    assert!(
        message.contains("must be called from inside a Spindle runtime"),
        "{message}"
    );
    assert!(message.contains("spindle::run"), "{message}");
    assert!(Handle::try_current().is_err());
    // `Instant::now()` works anywhere.
    let _ = Instant::now();
    let result = std::thread::spawn(|| drop(timeout(ms(1), async {}))).join();
    assert!(
        panic_message(result.unwrap_err()).contains("must be called from inside a Spindle runtime")
    );
    let result = std::thread::spawn(|| drop(interval(ms(1)))).join();
    assert!(
        panic_message(result.unwrap_err()).contains("must be called from inside a Spindle runtime")
    );
}

#[test]
fn enter_guards_nest_and_restore() {
    let outer = rt();
    let inner = rt();
    let inner_paused = {
        let _guard = inner.handle.enter();
        Handle::current().is_paused()
    };
    assert!(!inner_paused);
    assert!(Handle::try_current().is_ok());
    drop(inner);
    drop(outer);
}

#[test]
fn timers_fail_loudly_once_the_driver_is_gone() {
    let mut rt = rt();
    let (_, waker) = CountingWaker::new();
    let mut pending = Box::pin(sleep(Duration::from_secs(60)));
    assert!(
        pending
            .as_mut()
            .poll_pending(&mut Context::from_waker(&waker))
    );
    rt.driver.shutdown();
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        pending
            .as_mut()
            .poll_pending(&mut Context::from_waker(&waker))
    }));
    assert!(panic_message(result.unwrap_err()).contains("shut down"));
    drop(pending); // cancelling after shutdown is fine
}

#[test]
fn interval_ticks_on_schedule_and_is_a_stream() {
    let mut rt = rt();
    let start = Instant::now();
    let ticks = rt.block_on(async {
        let mut ticks = interval(ms(15));
        let first = ticks.tick().await;
        let second = ticks.tick().await;
        let third = ticks.next().await.unwrap();
        [first, second, third]
    });
    assert!(ticks[0] - start < ms(15), "the first tick is immediate");
    assert_eq!(ticks[1] - ticks[0], ms(15));
    assert_eq!(ticks[2] - ticks[1], ms(15));
    assert!(Instant::now() >= ticks[2]);
}

#[test]
fn futures_are_send_and_sleep_is_sync() {
    fn send<T: Send>(_: &T) {}
    fn send_sync<T: Send + Sync>() {}
    send_sync::<Sleep>();
    send_sync::<Handle>();
    send_sync::<spindle_timer::Interval>();
    send_sync::<spindle_timer::Timeout<std::future::Ready<()>>>();
    let _rt = rt();
    send(&sleep(ms(1)));
    send(&timeout(ms(1), async {}));
    let mut ticks = interval(ms(1));
    send(&ticks.tick());
    send(&spindle_timer::advance(ms(1)));
}
