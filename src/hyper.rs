//! hyper on Spindle: an executor and a timer for hyper's `rt` traits (the net types implement
//! `hyper::rt::Read`/`Write` themselves), so `hyper::server::conn::http1`/`http2` and
//! `hyper::client::conn` run unchanged.
//!
//! ```no_run
//! # async fn serve() -> std::io::Result<()> {
//! use hyper::server::conn::http1;
//! use hyper::service::service_fn;
//!
//! let listener = spindle::net::TcpListener::bind("127.0.0.1:8080").await?;
//! loop {
//!     let (stream, _) = listener.accept().await?;
//!     spindle::spawn(async move {
//!         let service = service_fn(|_req| async {
//!             Ok::<_, std::convert::Infallible>(hyper::Response::new(String::from("hello")))
//!         });
//!         let _ = http1::Builder::new()
//!             .timer(spindle::hyper::Timer::new())
//!             .serve_connection(stream, service)
//!             .await;
//!     });
//! }
//! # }
//! ```

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use crate::runtime::Handle;

/// Spawns hyper's background futures (HTTP/2 connection tasks, client dispatchers) as Spindle
/// tasks on the runtime that was current when the executor was made, or on the current one.
#[derive(Clone, Debug, Default)]
pub struct Executor {
    handle: Option<Handle>,
}

impl Executor {
    /// Spawns on whichever runtime is current when hyper hands it a future.
    pub fn new() -> Executor {
        Executor { handle: None }
    }

    /// Spawns on the given runtime, from any thread.
    pub fn with_handle(handle: Handle) -> Executor {
        Executor {
            handle: Some(handle),
        }
    }
}

impl<F> hyper::rt::Executor<F> for Executor
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    fn execute(&self, future: F) {
        match &self.handle {
            Some(handle) => drop(handle.spawn(future)),
            None => drop(crate::spawn(future)),
        }
    }
}

/// hyper's timer (header-read timeouts, keep-alive pings) on Spindle's timer wheel.
#[derive(Clone, Copy, Debug, Default)]
pub struct Timer;

impl Timer {
    /// hyper's timer, backed by Spindle's timer wheel.
    pub fn new() -> Timer {
        Timer
    }
}

/// A Spindle `Sleep` as a `hyper::rt::Sleep`.
struct HyperSleep(Pin<Box<crate::time::Sleep>>);

impl Future for HyperSleep {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        self.0.as_mut().poll(cx)
    }
}

impl hyper::rt::Sleep for HyperSleep {}

impl hyper::rt::Timer for Timer {
    fn sleep(&self, duration: Duration) -> Pin<Box<dyn hyper::rt::Sleep>> {
        Box::pin(HyperSleep(Box::pin(crate::time::sleep(duration))))
    }

    fn sleep_until(&self, deadline: Instant) -> Pin<Box<dyn hyper::rt::Sleep>> {
        Box::pin(HyperSleep(Box::pin(crate::time::sleep_until(
            crate::time::Instant::from_std(deadline),
        ))))
    }

    fn reset(&self, sleep: &mut Pin<Box<dyn hyper::rt::Sleep>>, new_deadline: Instant) {
        // Reset in place when it is one of ours: no new timer entry, no allocation.
        if let Some(ours) = sleep.as_mut().downcast_mut_pin::<HyperSleep>() {
            ours.get_mut()
                .0
                .as_mut()
                .reset(crate::time::Instant::from_std(new_deadline));
        } else {
            *sleep = self.sleep_until(new_deadline);
        }
    }
}
