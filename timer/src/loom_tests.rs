//! loom models of the entry protocol (the numbered rules in `entry.rs`).
//!
//! Run with:
//! `RUSTFLAGS="--cfg loom" LOOM_MAX_PREEMPTIONS=3 cargo test -p spindle-timer --release --lib loom`

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, Wake, Waker};
use std::time::Duration;

use loom::sync::atomic::{AtomicUsize, Ordering};
use loom::sync::{Condvar, Mutex};
use loom::thread;
use spindle_executor::park::{Flavor, Park, Unpark};

use crate::{Driver, Handle, Sleep};

/// A parker on loom's primitives. Time does not pass in a model, so a wait shorter than
/// [`BLOCKS_FROM`] is taken to have timed out at once, and a longer one (or `None`) blocks
/// until unparked: a lost wake-up then shows up as a loom deadlock.
struct LoomPark {
    shared: std::sync::Arc<LoomUnpark>,
}

const BLOCKS_FROM: Duration = Duration::from_secs(600);

struct LoomUnpark {
    notified: Mutex<bool>,
    condvar: Condvar,
}

impl LoomPark {
    fn new() -> Self {
        Self {
            shared: std::sync::Arc::new(LoomUnpark {
                notified: Mutex::new(false),
                condvar: Condvar::new(),
            }),
        }
    }
}

impl Park for LoomPark {
    fn park(&mut self, timeout: Option<Duration>) {
        let mut notified = self.shared.notified.lock().unwrap();
        let blocks = timeout.is_none_or(|timeout| timeout >= BLOCKS_FROM);
        if blocks {
            while !*notified {
                notified = self.shared.condvar.wait(notified).unwrap();
            }
        }
        *notified = false;
    }

    fn unparker(&self) -> std::sync::Arc<dyn Unpark> {
        self.shared.clone()
    }
}

impl Unpark for LoomUnpark {
    fn unpark(&self) {
        *self.notified.lock().unwrap() = true;
        self.condvar.notify_one();
    }
}

#[derive(Default)]
struct CountingWaker(AtomicUsize);

impl Wake for CountingWaker {
    fn wake(self: std::sync::Arc<Self>) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

fn counting_waker() -> (std::sync::Arc<CountingWaker>, Waker) {
    let counter = std::sync::Arc::new(CountingWaker::default());
    (counter.clone(), Waker::from(counter))
}

fn poll(sleep: Pin<&mut Sleep>, waker: &Waker) -> Poll<()> {
    sleep.poll(&mut Context::from_waker(waker))
}

fn driver(start_paused: bool) -> (Driver<LoomPark>, Handle) {
    Driver::with_parts(LoomPark::new(), Flavor::CurrentThread, || 0, start_paused)
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// Rules 3, 4, 5: the owner drops a due sleep while the driver fires it. Whichever wins, the
/// driver never touches a freed entry (loom checks the cells' accesses) and the waker runs at
/// most once.
#[test]
fn loom_cancel_races_fire() {
    loom::model(|| {
        let (mut driver, handle) = driver(true);
        let mut sleep = Box::pin(Sleep::new_in(handle.clone(), handle.now() + ms(1)));
        let (counter, waker) = counting_waker();
        assert!(poll(sleep.as_mut(), &waker).is_pending());
        handle.shared.clock.advance(ms(2));

        let owner = thread::spawn(move || drop(sleep));
        driver.park(Some(Duration::ZERO));
        owner.join().unwrap();
        assert!(counter.0.load(Ordering::SeqCst) <= 1);
    });
}

/// Rules 3, 5, 6: the owner resets a due sleep to a later deadline while the driver fires
/// it. Whichever wins, the sleep must then wait for the new deadline (no stale `fired`), and
/// fire for it.
#[test]
fn loom_reset_races_fire() {
    loom::model(|| {
        let (driver, handle) = driver(true);
        let start = handle.now();
        let mut sleep = Box::pin(Sleep::new_in(handle.clone(), start + ms(1)));
        let (counter, waker) = counting_waker();
        assert!(poll(sleep.as_mut(), &waker).is_pending());
        handle.shared.clock.advance(ms(2));

        let firing = thread::spawn(move || {
            let mut driver = driver;
            driver.park(Some(Duration::ZERO));
            driver
        });
        sleep.as_mut().reset(start + ms(5));
        let mut driver = firing.join().unwrap();

        assert!(
            poll(sleep.as_mut(), &waker).is_pending(),
            "stale fire after reset"
        );
        let wakes_before = counter.0.load(Ordering::SeqCst);
        handle.shared.clock.advance(ms(3));
        driver.park(Some(Duration::ZERO));
        assert_eq!(counter.0.load(Ordering::SeqCst), wakes_before + 1);
        assert!(poll(sleep.as_mut(), &waker).is_ready());
    });
}

/// Rule 7: a timer registered from another thread, earlier than the deadline the driver is
/// going to sleep toward, must end that sleep. If the wake-up were lost, the driver would
/// block on its one-hour timer and loom would report a deadlock.
#[test]
fn loom_registration_races_driver_going_to_sleep() {
    loom::model(|| {
        let (mut driver, handle) = driver(false);
        let (_, idle) = counting_waker();
        let mut far = Box::pin(Sleep::new_in(
            handle.clone(),
            handle.now() + Duration::from_secs(3_600),
        ));
        assert!(poll(far.as_mut(), &idle).is_pending());

        let remote = thread::spawn({
            let handle = handle.clone();
            move || {
                let (_, waker) = counting_waker();
                // Far enough that it cannot pass while the model runs, near enough that a
                // driver that sees it parks for less than `BLOCKS_FROM`.
                let deadline = handle.now() + Duration::from_secs(60);
                let mut near = Box::pin(Sleep::new_in(handle, deadline));
                assert!(poll(near.as_mut(), &waker).is_pending());
                // Kept alive until the driver has returned: dropping it would cancel it.
                near
            }
        });
        driver.park(None);
        let near = remote.join().unwrap();
        drop((near, far));
    });
}
