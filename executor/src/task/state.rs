//! The task state word: one `AtomicUsize` holding lifecycle bits and a reference count.
//!
//! See the protocol rules in [`super`]'s module documentation; each transition below names
//! the rule it implements.

use crate::sync::{AtomicUsize, Ordering};
use std::fmt;

/// A poller owns the future (rule 2).
const RUNNING: usize = 1 << 0;
/// The output (or the error that replaces it) is stored; the future is gone (rule 5).
const COMPLETE: usize = 1 << 1;
/// The task is in a run queue, or its runner will put it there when the poll ends (rule 3).
const NOTIFIED: usize = 1 << 2;
/// Abort was requested; the next owner of RUNNING drops the future instead of polling (rule 6).
const CANCELLED: usize = 1 << 3;
/// A `JoinHandle` exists and will take the output (rule 7). Once COMPLETE: the stage still
/// holds the output, which the handle has not yet taken (rule 10).
const JOIN_INTEREST: usize = 1 << 4;
/// The join waker cell holds a waker and belongs to the task side (rule 8).
const JOIN_WAKER: usize = 1 << 5;

const REF_SHIFT: usize = 6;
/// One reference (rule 1).
const REF_ONE: usize = 1 << REF_SHIFT;

#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) struct Snapshot(usize);

impl Snapshot {
    pub(crate) fn is_running(self) -> bool {
        self.0 & RUNNING != 0
    }
    pub(crate) fn is_complete(self) -> bool {
        self.0 & COMPLETE != 0
    }
    pub(crate) fn is_notified(self) -> bool {
        self.0 & NOTIFIED != 0
    }
    pub(crate) fn is_cancelled(self) -> bool {
        self.0 & CANCELLED != 0
    }
    pub(crate) fn is_join_interested(self) -> bool {
        self.0 & JOIN_INTEREST != 0
    }
    pub(crate) fn is_join_waker_set(self) -> bool {
        self.0 & JOIN_WAKER != 0
    }
    pub(crate) fn ref_count(self) -> usize {
        self.0 >> REF_SHIFT
    }
}

impl fmt::Debug for Snapshot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Snapshot")
            .field("running", &self.is_running())
            .field("complete", &self.is_complete())
            .field("notified", &self.is_notified())
            .field("cancelled", &self.is_cancelled())
            .field("join_interest", &self.is_join_interested())
            .field("join_waker", &self.is_join_waker_set())
            .field("refs", &self.ref_count())
            .finish()
    }
}

pub(crate) struct State(AtomicUsize);

/// What the runner must do after claiming a notified task.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum ToRunning {
    /// Poll the future.
    Poll,
    /// Drop the future and complete with a cancellation (rule 6).
    Cancel,
    /// Someone else owns or finished the task; the caller's reference was released.
    Skip,
    /// As `Skip`, and that was the last reference: deallocate.
    Dealloc,
}

/// What the runner must do after a poll returned `Pending`.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum ToIdle {
    /// Idle; the runner's reference was released.
    Idle,
    /// Idle, and that released the last reference: deallocate.
    Dealloc,
    /// Woken during the poll: the runner's reference becomes the run-queue entry (rule 3).
    Reschedule,
    /// Aborted during the poll: still RUNNING, so the runner cancels it (rule 6).
    Cancel,
}

/// What a by-value wake must do with the waker's reference.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum WakeByVal {
    /// Nothing: the reference was released.
    Nothing,
    /// The reference was the last: deallocate.
    Dealloc,
    /// The reference became the run-queue entry: schedule it.
    Submit,
}

impl State {
    /// A new task: scheduled once, with `refs` references and a `JoinHandle`.
    pub(crate) fn new(refs: usize) -> State {
        State(AtomicUsize::new(
            (refs * REF_ONE) | NOTIFIED | JOIN_INTEREST,
        ))
    }

    pub(crate) fn load(&self) -> Snapshot {
        Snapshot(self.0.load(Ordering::Acquire))
    }

    fn update<R>(&self, mut f: impl FnMut(Snapshot) -> (Option<usize>, R)) -> R {
        let mut curr = self.0.load(Ordering::Acquire);
        loop {
            let (next, result) = f(Snapshot(curr));
            let Some(next) = next else {
                return result;
            };
            match self
                .0
                .compare_exchange_weak(curr, next, Ordering::AcqRel, Ordering::Acquire)
            {
                Ok(_) => return result,
                Err(actual) => curr = actual,
            }
        }
    }

    /// Rule 2: a run-queue entry claims RUNNING, unless the task is already owned or done.
    pub(crate) fn to_running(&self) -> ToRunning {
        self.update(|s| {
            debug_assert!(s.is_notified() || s.is_running() || s.is_complete());
            if s.is_running() || s.is_complete() {
                let next = s.0 - REF_ONE;
                let action = if next >> REF_SHIFT == 0 {
                    ToRunning::Dealloc
                } else {
                    ToRunning::Skip
                };
                return (Some(next), action);
            }
            let next = (s.0 & !NOTIFIED) | RUNNING;
            let action = if s.is_cancelled() {
                ToRunning::Cancel
            } else {
                ToRunning::Poll
            };
            (Some(next), action)
        })
    }

    /// Rules 3 and 6: give up RUNNING after a `Pending` poll.
    pub(crate) fn to_idle(&self) -> ToIdle {
        self.update(|s| {
            debug_assert!(s.is_running());
            if s.is_cancelled() {
                return (None, ToIdle::Cancel);
            }
            let next = s.0 & !RUNNING;
            if s.is_notified() {
                return (Some(next), ToIdle::Reschedule);
            }
            let next = next - REF_ONE;
            let action = if next >> REF_SHIFT == 0 {
                ToIdle::Dealloc
            } else {
                ToIdle::Idle
            };
            (Some(next), action)
        })
    }

    /// Rule 5: RUNNING becomes COMPLETE. Returns the state just before.
    pub(crate) fn to_complete(&self) -> Snapshot {
        let prev = Snapshot(self.0.fetch_xor(RUNNING | COMPLETE, Ordering::AcqRel));
        debug_assert!(prev.is_running() && !prev.is_complete());
        prev
    }

    /// Rule 4: a by-value wake consumes the waker's reference.
    pub(crate) fn wake_by_val(&self) -> WakeByVal {
        self.update(|s| {
            if s.is_running() {
                // The runner reschedules after its poll; it holds a reference, so ours is
                // never the last.
                return (Some((s.0 | NOTIFIED) - REF_ONE), WakeByVal::Nothing);
            }
            if s.is_complete() || s.is_notified() {
                let next = s.0 - REF_ONE;
                let action = if next >> REF_SHIFT == 0 {
                    WakeByVal::Dealloc
                } else {
                    WakeByVal::Nothing
                };
                return (Some(next), action);
            }
            (Some(s.0 | NOTIFIED), WakeByVal::Submit)
        })
    }

    /// Rule 4: a by-reference wake; returns true if the caller must submit a new
    /// run-queue entry (for which a reference was added).
    pub(crate) fn wake_by_ref(&self) -> bool {
        self.update(|s| {
            if s.is_complete() || s.is_notified() {
                (None, false)
            } else if s.is_running() {
                (Some(s.0 | NOTIFIED), false)
            } else {
                (Some((s.0 | NOTIFIED) + REF_ONE), true)
            }
        })
    }

    /// Rule 6: request cancellation from anywhere. Returns true if the caller must submit a
    /// run-queue entry (a reference was added) so a worker drops the future.
    pub(crate) fn cancel_remote(&self) -> bool {
        self.update(|s| {
            if s.is_cancelled() || s.is_complete() {
                (None, false)
            } else if s.is_running() || s.is_notified() {
                (Some(s.0 | CANCELLED), false)
            } else {
                (Some((s.0 | CANCELLED | NOTIFIED) + REF_ONE), true)
            }
        })
    }

    /// Rule 9: shutdown marks the task cancelled and claims RUNNING if nobody holds it.
    /// Returns true if the caller now owns the future and must cancel it.
    pub(crate) fn cancel_for_shutdown(&self) -> bool {
        self.update(|s| {
            let claim = !s.is_running() && !s.is_complete();
            let mut next = s.0 | CANCELLED;
            if claim {
                next |= RUNNING;
            }
            (Some(next), claim)
        })
    }

    /// Rules 7 and 8: the `JoinHandle` goes away. Before completion it clears JOIN_INTEREST
    /// and JOIN_WAKER together and returns the state just before: if JOIN_WAKER was set, the
    /// waker cell is the handle's again and it must drop the waker. `Err` if the task is
    /// complete: the handle then owns the output and must drop it, unless JOIN_INTEREST is
    /// clear in the snapshot, which means it already took it (rule 10).
    pub(crate) fn drop_join_interest(&self) -> Result<Snapshot, Snapshot> {
        self.update(|s| {
            if s.is_complete() {
                (None, Err(s))
            } else {
                (Some(s.0 & !(JOIN_INTEREST | JOIN_WAKER)), Ok(s))
            }
        })
    }

    /// Rule 8: the `JoinHandle` hands its freshly written waker to the task side.
    /// `Err` if the task completed first: read the output instead.
    pub(crate) fn set_join_waker(&self) -> Result<(), Snapshot> {
        self.update(|s| {
            debug_assert!(s.is_join_interested() && !s.is_join_waker_set());
            if s.is_complete() {
                (None, Err(s))
            } else {
                (Some(s.0 | JOIN_WAKER), Ok(()))
            }
        })
    }

    /// Rule 8: the `JoinHandle` takes the waker cell back to replace the waker.
    /// `Err` if the task completed first: read the output instead.
    pub(crate) fn unset_join_waker(&self) -> Result<(), Snapshot> {
        self.update(|s| {
            debug_assert!(s.is_join_interested() && s.is_join_waker_set());
            if s.is_complete() {
                (None, Err(s))
            } else {
                (Some(s.0 & !JOIN_WAKER), Ok(()))
            }
        })
    }

    /// Rule 10: the `JoinHandle` of a COMPLETE task takes the output out of the stage,
    /// clearing JOIN_INTEREST to record that the stage is now empty. `Err` if it already
    /// took it (the bit was clear): the stage holds nothing.
    pub(crate) fn take_output(&self) -> Result<(), Snapshot> {
        // Relaxed: the handle already synchronized with the completer when it saw COMPLETE
        // (an Acquire load or RMW), and once COMPLETE nothing but the handle itself reads
        // or writes JOIN_INTEREST (rules 7 and 10): its later polls and its drop are ordered
        // after this by the handle's own program order (or by whatever moved it to another
        // thread), and `dealloc` looks only at COMPLETE.
        let prev = Snapshot(self.0.fetch_and(!JOIN_INTEREST, Ordering::Relaxed));
        debug_assert!(prev.is_complete());
        if prev.is_join_interested() {
            Ok(())
        } else {
            Err(prev)
        }
    }

    /// Rule 1.
    pub(crate) fn ref_inc(&self) {
        let prev = self.0.fetch_add(REF_ONE, Ordering::Relaxed);
        // A count this high means references leak; wrapping would free a live task.
        assert!(
            prev >> REF_SHIFT < usize::MAX >> (REF_SHIFT + 1),
            "task reference count overflow"
        );
    }

    /// Rule 1: returns true if that was the last reference.
    pub(crate) fn ref_dec(&self) -> bool {
        self.ref_dec_many(1)
    }

    /// Rule 1: releases `n` references at once; true if they were the last.
    pub(crate) fn ref_dec_many(&self, n: usize) -> bool {
        let prev = self.0.fetch_sub(n * REF_ONE, Ordering::AcqRel);
        debug_assert!(prev >> REF_SHIFT >= n);
        prev >> REF_SHIFT == n
    }
}
