//! `yield_now`: give the worker to the other queued tasks once (asyncio's `sleep(0)`).

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

/// Yields to the scheduler: the task goes to the back of its run queue and every task
/// already waiting runs before it is polled again (asyncio's `await asyncio.sleep(0)`).
pub async fn yield_now() {
    YieldNow { yielded: false }.await
}

struct YieldNow {
    yielded: bool,
}

impl Future for YieldNow {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.yielded {
            return Poll::Ready(());
        }
        self.yielded = true;
        // A self-wake during the poll is what makes the scheduler treat this as a yield
        // (the task is re-queued at the back; task rule 3).
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}
