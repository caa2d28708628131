//! Cooperative scheduling budget.
//!
//! A task that loops over always-ready futures (a socket with data buffered, a channel that is
//! never empty) would otherwise never return to the scheduler, and a current-thread runtime
//! would never get to fire a timer. Every task poll starts with [`BUDGET`] units; the runtime's
//! own resources (join handles, timers, sockets) spend one unit each time they would return
//! `Ready`. When the budget runs out they return `Pending` and wake the task at once, so it is
//! rescheduled behind whatever else is waiting.
//!
//! Outside a task poll (a future driven by `futures::executor::block_on`, say) the budget is
//! unconstrained.

use std::cell::Cell;
use std::future::poll_fn;
use std::task::{Context, Poll};

/// Units a task gets per poll.
pub const BUDGET: u8 = 128;

loom_aware_thread_local! {
    static CURRENT: Cell<Option<u8>> = const { Cell::new(None) };
}

/// Spends one unit of the current task's budget.
///
/// Returns `Pending` (after waking the task) when the budget is exhausted: the caller should
/// return `Pending` too, without doing its operation, so no readiness is consumed.
pub fn poll_proceed(cx: &mut Context<'_>) -> Poll<()> {
    CURRENT.with(|budget| match budget.get() {
        None => Poll::Ready(()),
        Some(0) => {
            cx.waker().wake_by_ref();
            Poll::Pending
        }
        Some(n) => {
            budget.set(Some(n - 1));
            Poll::Ready(())
        }
    })
}

/// Whether the current task still has budget left (always true outside a task poll).
pub fn has_budget_remaining() -> bool {
    CURRENT.with(|budget| budget.get() != Some(0))
}

/// Spends one unit of budget, yielding to the scheduler if it was exhausted.
pub async fn consume_budget() {
    poll_fn(poll_proceed).await
}

/// Runs `f` with no budget at all: nothing inside it is ever told to yield.
pub fn unconstrained<R>(f: impl FnOnce() -> R) -> R {
    with(None, f)
}

/// Runs `f` with a fresh budget, restoring the previous one afterwards (also on panic).
pub(crate) fn with_budget<R>(f: impl FnOnce() -> R) -> R {
    with(Some(BUDGET), f)
}

fn with<R>(budget: Option<u8>, f: impl FnOnce() -> R) -> R {
    struct Restore(Option<u8>);
    impl Drop for Restore {
        fn drop(&mut self) {
            CURRENT.with(|budget| budget.set(self.0));
        }
    }
    let _restore = Restore(CURRENT.with(|cell| cell.replace(budget)));
    f()
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use std::task::Waker;

    #[test]
    fn unconstrained_outside_a_task() {
        let mut cx = Context::from_waker(Waker::noop());
        for _ in 0..1000 {
            assert!(poll_proceed(&mut cx).is_ready());
        }
    }

    #[test]
    fn budget_runs_out_then_is_restored() {
        let mut cx = Context::from_waker(Waker::noop());
        with_budget(|| {
            for _ in 0..BUDGET {
                assert!(poll_proceed(&mut cx).is_ready());
            }
            assert!(poll_proceed(&mut cx).is_pending());
            assert!(!has_budget_remaining());
            with_budget(|| assert!(has_budget_remaining()));
            assert!(!has_budget_remaining());
        });
        assert!(poll_proceed(&mut cx).is_ready());
    }
}
