//! loom models of the entry protocol (the numbered rules in `entry.rs`).
//!
//! Run with:
//! `RUSTFLAGS="--cfg loom" LOOM_MAX_PREEMPTIONS=3 cargo test -p spindle-timer --release --lib loom`

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll, Wake, Waker};
use std::time::Duration;

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

/// A waker that counts its wakes. The counters are std atomics: they are read only after the
/// threads that wake have been joined, so they need no modelling and add no interleavings.
#[derive(Default)]
struct CountingWaker(AtomicUsize);

impl Wake for CountingWaker {
    fn wake(self: std::sync::Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &std::sync::Arc<Self>) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

impl CountingWaker {
    fn wakes(&self) -> usize {
        self.0.load(Ordering::SeqCst)
    }

    /// Clones of the waker still held anywhere (an entry's waker slot, a wake batch), the
    /// test's own handle on the counter aside: a waker the protocol leaks keeps this above 0.
    fn live(self: &std::sync::Arc<Self>) -> usize {
        std::sync::Arc::strong_count(self) - 1
    }
}

fn counting_waker() -> (std::sync::Arc<CountingWaker>, Waker) {
    let counter = std::sync::Arc::new(CountingWaker::default());
    (counter.clone(), Waker::from(counter))
}

fn poll(sleep: Pin<&mut Sleep>, waker: &Waker) -> Poll<()> {
    sleep.poll(&mut Context::from_waker(waker))
}

/// A poll that panicked with the timer's "runtime has shut down" message.
fn is_shutdown_panic(payload: &(dyn std::any::Any + Send)) -> bool {
    payload
        .downcast_ref::<String>()
        .is_some_and(|message| message == crate::driver::SHUT_DOWN)
}

/// Runs `f`, catching a panic. The models expect the timer's shutdown panic (rule 8), so the
/// panic hook is told to stay quiet about that one; any other panic is still printed.
fn catch<R>(f: impl FnOnce() -> R) -> std::thread::Result<R> {
    static QUIET: std::sync::Once = std::sync::Once::new();
    QUIET.call_once(|| {
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if !is_shutdown_panic(info.payload()) {
                default(info);
            }
        }));
    });
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(f))
}

fn driver(start_paused: bool) -> (Driver<LoomPark>, Handle) {
    Driver::with_parts(LoomPark::new(), Flavor::CurrentThread, || 0, start_paused)
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// Whether no entry is linked in the driver's wheel.
fn wheel_is_empty(handle: &Handle) -> bool {
    handle.shared.state.lock().wheel.next_wake_ns().is_none()
}

/// Rules 2, 3 and 5: the owner drops a due sleep while the driver fires it. Whichever wins,
/// the driver never touches a freed entry (loom checks the cells' accesses), the entry ends up
/// unlinked, the waker is woken exactly as many times as the driver fired the entry (once if
/// the fire won, never if the cancel did: no wake-up after the cancel unlinked it), and no
/// clone of the waker is left behind.
#[test]
fn loom_cancel_races_fire() {
    loom::model(|| {
        let (driver, handle) = driver(true);
        let mut sleep = Box::pin(Sleep::new_in(handle.clone(), handle.now() + ms(1)));
        let (counter, waker) = counting_waker();
        assert!(poll(sleep.as_mut(), &waker).is_pending());
        drop(waker);
        handle.shared.clock.advance(ms(2));

        let owner = thread::spawn(move || drop(sleep));
        // What `driver.park(Some(Duration::ZERO))` runs, with the count of entries it fired.
        let fired = handle.shared.fire_expired(handle.shared.now_ns());
        owner.join().unwrap();

        assert_eq!(
            counter.wakes(),
            fired,
            "a fire that reached the entry must wake it once; a cancelled entry is never woken"
        );
        assert_eq!(counter.live(), 0, "a clone of the waker was left behind");
        assert!(wheel_is_empty(&handle), "the entry is still linked");
        drop(driver);
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
        let wakes_before = counter.wakes();
        handle.shared.clock.advance(ms(3));
        driver.park(Some(Duration::ZERO));
        assert_eq!(counter.wakes(), wakes_before + 1);
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

/// Rule 6 (with rules 3 and 5), on three threads: a task polls a due sleep while the driver
/// fires it and another task drops a second sleep of the same wheel slot. It polls first with
/// the waker stored at registration (the waker-id fast path, which must still see `fired`
/// first), then, if still pending, with a new one (it moved to another worker: the lock path).
/// That poll either sees the fire (before its lock, or by reading `fired` again under it) or
/// leaves its new waker where the fire finds it; a poll that stored its waker after the fire
/// took the old one would never be woken, and the poller would park for good (a loom
/// deadlock), as would one the fast path answered `Pending` after the fire. The cancelled
/// sleep is woken once if the fire reached it and never otherwise; no waker is left behind.
#[test]
fn loom_poll_races_fire_and_cancel() {
    loom::model(|| {
        let (driver, handle) = driver(true);
        let deadline = handle.now() + ms(1);
        let mut polled = Box::pin(Sleep::new_in(handle.clone(), deadline));
        let mut cancelled = Box::pin(Sleep::new_in(handle.clone(), deadline));
        let (first, first_waker) = counting_waker();
        let (other, other_waker) = counting_waker();
        assert!(poll(polled.as_mut(), &first_waker).is_pending());
        assert!(poll(cancelled.as_mut(), &other_waker).is_pending());
        drop(other_waker);
        handle.shared.clock.advance(ms(2));

        let firing = thread::spawn({
            let handle = handle.clone();
            move || handle.shared.fire_expired(handle.shared.now_ns())
        });
        let canceller = thread::spawn(move || drop(cancelled));
        // The waker stored at registration: the fast path, racing the fire.
        if poll(polled.as_mut(), &first_waker).is_pending() {
            // A new waker (the task moved): the lock path, racing the fire.
            spindle_executor::sync::park_on(std::future::poll_fn(|cx| polled.as_mut().poll(cx)));
        }
        drop(first_waker);
        canceller.join().unwrap();
        let fired = firing.join().unwrap();

        // `polled` completed, so the fire reached it; it reached `cancelled` only if it won.
        assert_eq!(other.wakes(), fired - 1, "the cancelled sleep's wake-ups");
        assert!(first.wakes() <= 1);
        drop(polled);
        assert_eq!(first.live() + other.live(), 0, "a waker was left behind");
        assert!(wheel_is_empty(&handle));
        drop(driver);
    });
}

/// Rule 8 (with rule 5), on three threads: the driver shuts down while one task polls a
/// registered sleep with a new waker and drops it, and another resets a second one.
/// Whatever the order, the poll ends in the shutdown panic: never `Ready` (no deadline
/// passed), never `Pending` for good (the poller would park for good: a loom deadlock), which
/// needs shutdown to wake the waker it finds, the atomic copy of the flag for the fast path,
/// and the flag under the lock for a poll that stores its waker. The polled sleep's drop may
/// race the end of shutdown. A reset that returned re-linked the entry before shutdown, so
/// shutdown must have taken and woken the waker the reset kept; a reset after shutdown panics.
/// Drops after shutdown find their entries unlinked, and no waker is left behind.
#[test]
fn loom_shutdown_races_poll_reset_and_drop() {
    loom::model(|| {
        let (driver, handle) = driver(true);
        // The clock never moves: neither deadline passes.
        let deadline = handle.now() + ms(5);
        let mut polled = Box::pin(Sleep::new_in(handle.clone(), deadline));
        let mut reset = Box::pin(Sleep::new_in(handle.clone(), deadline));
        let (first, first_waker) = counting_waker();
        let (kept, kept_waker) = counting_waker();
        assert!(poll(polled.as_mut(), &first_waker).is_pending());
        assert!(poll(reset.as_mut(), &kept_waker).is_pending());
        drop((first_waker, kept_waker));

        // `Driver::drop` shuts the timer down.
        let shutdown = thread::spawn(move || drop(driver));
        let resetter = thread::spawn(move || {
            match catch(|| reset.as_mut().reset(deadline + ms(1))) {
                // Re-linked before shutdown: kept alive until shutdown is over.
                Ok(()) => Some(reset),
                Err(payload) => {
                    assert!(is_shutdown_panic(&*payload), "reset panicked otherwise");
                    None
                }
            }
        });
        let outcome = spindle_executor::sync::park_on(std::future::poll_fn(|cx| {
            match catch(|| polled.as_mut().poll(cx)) {
                Ok(Poll::Pending) => Poll::Pending,
                Ok(Poll::Ready(())) => Poll::Ready(None),
                Err(payload) => Poll::Ready(Some(payload)),
            }
        }));
        match outcome {
            None => panic!("a sleep completed at shutdown although its deadline never passed"),
            Some(payload) => assert!(is_shutdown_panic(&*payload), "poll panicked otherwise"),
        }
        drop(polled);
        shutdown.join().unwrap();
        if let Some(reset) = resetter.join().unwrap() {
            assert_eq!(kept.wakes(), 1, "shutdown missed the waker the reset kept");
            drop(reset);
        }
        assert!(first.wakes() <= 1 && kept.wakes() <= 1);
        assert_eq!(first.live() + kept.live(), 0, "a waker was left behind");
        assert!(wheel_is_empty(&handle));
    });
}
