//! A minimal runtime for the timer tests (the executor is a separate crate): one thread that
//! polls one future and parks in the time driver when the future is pending.

#![allow(dead_code)] // each test binary uses part of it

use std::future::Future;
use std::pin::pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::task::{Context, Poll, Wake, Waker};

use spindle_executor::park::{Flavor, Park, ThreadPark, Unpark};
use spindle_timer::{Driver, EnterGuard, Handle};

pub struct Rt {
    pub driver: Driver<ThreadPark>,
    pub handle: Handle,
    /// What the driver reads as the number of active blocking closures.
    pub blocking: Arc<AtomicUsize>,
    _entered: EnterGuard<'static>,
}

pub fn rt() -> Rt {
    build(false)
}

pub fn paused_rt() -> Rt {
    build(true)
}

fn build(start_paused: bool) -> Rt {
    let blocking = Arc::new(AtomicUsize::new(0));
    let count = blocking.clone();
    let (driver, handle) = Driver::with_parts(
        ThreadPark::new(),
        Flavor::CurrentThread,
        move || count.load(Ordering::SeqCst),
        start_paused,
    );
    let entered = handle.enter();
    Rt {
        driver,
        handle,
        blocking,
        _entered: entered,
    }
}

/// Wakes the test's one task: marks it woken and unparks the driver.
struct TaskWaker {
    woken: AtomicBool,
    unparker: Arc<dyn Unpark>,
}

impl Wake for TaskWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.woken.store(true, Ordering::SeqCst);
        self.unparker.unpark();
    }
}

impl Rt {
    /// Polls `future` to completion, parking in the driver (`park(None)`) while it is pending.
    pub fn block_on<F: Future>(&mut self, future: F) -> F::Output {
        let task = Arc::new(TaskWaker {
            woken: AtomicBool::new(true),
            unparker: self.driver.unparker(),
        });
        let waker = Waker::from(task.clone());
        let mut cx = Context::from_waker(&waker);
        let mut future = pin!(future);
        loop {
            if task.woken.swap(false, Ordering::SeqCst) {
                if let Poll::Ready(output) = future.as_mut().poll(&mut cx) {
                    return output;
                }
            } else {
                self.driver.park(None);
            }
        }
    }
}

/// A waker that counts its wakes.
#[derive(Default)]
pub struct CountingWaker(pub AtomicUsize);

impl Wake for CountingWaker {
    fn wake(self: Arc<Self>) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

impl CountingWaker {
    pub fn new() -> (Arc<Self>, Waker) {
        let counter = Arc::new(Self::default());
        let waker = Waker::from(counter.clone());
        (counter, waker)
    }

    pub fn count(&self) -> usize {
        self.0.load(Ordering::SeqCst)
    }
}

/// The panic message of a caught panic.
pub fn panic_message(payload: Box<dyn std::any::Any + Send>) -> String {
    match payload.downcast::<String>() {
        Ok(message) => *message,
        Err(payload) => payload
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .unwrap_or_default(),
    }
}
