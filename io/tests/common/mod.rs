//! A minimal single-threaded executor for the tests: the executor crate's runtime is not
//! this crate's to depend on, so the driver is parked by hand, as a runtime would.

#![allow(dead_code)]

use std::future::Future;
use std::pin::pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll, Wake, Waker};
use std::time::{Duration, Instant};

use spindle_executor::park::{Park, Unpark};
use spindle_io::Driver;

/// Any test taking longer than this has lost a wake-up.
const WATCHDOG: Duration = Duration::from_secs(120);

struct Notify {
    woken: AtomicBool,
    unpark: Arc<dyn Unpark>,
}

impl Wake for Notify {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.woken.store(true, Ordering::SeqCst);
        self.unpark.unpark();
    }
}

/// Runs `fut` to completion on this thread with an edge-triggered driver.
pub fn block_on<F: Future>(fut: F) -> F::Output {
    run(Driver::new().expect("driver"), fut)
}

/// Runs `fut` with a driver forced onto the oneshot re-arm path.
pub fn block_on_oneshot<F: Future>(fut: F) -> F::Output {
    run(Driver::new_oneshot().expect("driver"), fut)
}

fn run<F: Future>((mut driver, handle): (Driver, spindle_io::Handle), fut: F) -> F::Output {
    let _enter = handle.enter();
    let notify = Arc::new(Notify {
        woken: AtomicBool::new(true),
        unpark: driver.unparker(),
    });
    let waker = Waker::from(notify.clone());
    let mut cx = Context::from_waker(&waker);
    let mut fut = pin!(fut);
    let deadline = Instant::now() + WATCHDOG;
    loop {
        if notify.woken.swap(false, Ordering::SeqCst) {
            if let Poll::Ready(output) = fut.as_mut().poll(&mut cx) {
                return output;
            }
            continue;
        }
        let now = Instant::now();
        assert!(
            now < deadline,
            "test future never completed: a wake-up was lost"
        );
        driver.park(Some(deadline - now));
    }
}

/// Polls `fut` once with a waker that does nothing.
pub fn poll_once<F: Future + Unpin>(fut: &mut F) -> Poll<F::Output> {
    std::pin::Pin::new(fut).poll(&mut Context::from_waker(Waker::noop()))
}

/// Returns `Pending` once, so every other future joined with the caller gets polled first.
pub async fn yield_now() {
    let mut yielded = false;
    std::future::poll_fn(|cx| {
        if yielded {
            Poll::Ready(())
        } else {
            yielded = true;
            cx.waker().wake_by_ref();
            Poll::Pending
        }
    })
    .await
}

/// Raises the soft RLIMIT_NOFILE towards `want`; returns the limit in force afterwards.
pub fn raise_fd_limit(want: libc::rlim_t) -> libc::rlim_t {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes one rlimit into the struct we own.
    let rc = unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) };
    assert_eq!(rc, 0);
    if limit.rlim_cur < want {
        limit.rlim_cur = limit.rlim_max.min(want);
        // SAFETY: setrlimit reads the struct we own.
        assert_eq!(unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &limit) }, 0);
    }
    limit.rlim_cur
}

/// A path for a Unix socket that no other test (or earlier run) uses.
pub fn socket_path(name: &str) -> std::path::PathBuf {
    let path = std::env::temp_dir().join(format!("spindle-io-{}-{name}.sock", std::process::id()));
    let _ = std::fs::remove_file(&path);
    path
}
