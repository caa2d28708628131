//! [`Timeout`], [`timeout`] and [`timeout_at`].

use std::future::{Future, IntoFuture};
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use pin_project_lite::pin_project;
use spindle_executor::coop;

use crate::error::Elapsed;
use crate::{Instant, Sleep, sleep, sleep_until};

/// Requires `future` to complete within `duration`, else resolves to `Err(Elapsed)`.
///
/// The future is polled before the deadline is checked, so one that is ready wins even at
/// the deadline. `Duration::MAX` means no deadline. Dropping the `Timeout` drops the future.
///
/// # Panics
/// Outside a Spindle runtime.
#[track_caller]
pub fn timeout<F: IntoFuture>(duration: Duration, future: F) -> Timeout<F::IntoFuture> {
    Timeout::new(future.into_future(), sleep(duration))
}

/// Requires `future` to complete before `deadline`, else resolves to `Err(Elapsed)`.
///
/// # Panics
/// Outside a Spindle runtime.
#[track_caller]
pub fn timeout_at<F: IntoFuture>(deadline: Instant, future: F) -> Timeout<F::IntoFuture> {
    Timeout::new(future.into_future(), sleep_until(deadline))
}

pin_project! {
    /// The future returned by [`timeout`] and [`timeout_at`].
    #[must_use = "futures do nothing unless you `.await` or poll them"]
    #[derive(Debug)]
    pub struct Timeout<T> {
        #[pin]
        value: T,
        #[pin]
        delay: Sleep,
    }
}

impl<T> Timeout<T> {
    fn new(value: T, delay: Sleep) -> Self {
        Timeout { value, delay }
    }

    /// The wrapped future.
    pub fn get_ref(&self) -> &T {
        &self.value
    }

    /// The wrapped future.
    pub fn get_mut(&mut self) -> &mut T {
        &mut self.value
    }

    /// Gives the wrapped future back, cancelling the deadline.
    pub fn into_inner(self) -> T {
        self.value
    }
}

impl<T: Future> Future for Timeout<T> {
    type Output = Result<T::Output, Elapsed>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let had_budget = coop::has_budget_remaining();
        let me = self.project();
        if let Poll::Ready(value) = me.value.poll(cx) {
            return Poll::Ready(Ok(value));
        }
        let delay = if had_budget && !coop::has_budget_remaining() {
            // The inner future spent the last of the budget: check the deadline anyway, or a
            // future that always exhausts it would never time out.
            me.delay.poll_elapsed(cx)
        } else {
            me.delay.poll(cx)
        };
        delay.map(|()| Err(Elapsed::new()))
    }
}
