//! `wait` and `gather`: asyncio's two ways of waiting on many tasks at once.
//!
//! Both take the `JoinHandle`s by value, poll them together in one
//! `FuturesUnordered` (so each wake-up polls only the task that woke, not all of them), and
//! never abort anything: a task that `wait` leaves pending is handed back untouched, and if
//! the `wait`/`gather` future itself is dropped early, the handles it holds are dropped, which
//! detaches their tasks (they run to completion; only results not yet returned are lost).

use std::fmt;
use std::future::{Future, poll_fn};
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use futures_util::stream::{FuturesUnordered, StreamExt};

use super::{Id, JoinError, JoinHandle};

/// When [`wait`] returns (asyncio's `FIRST_COMPLETED`, `FIRST_EXCEPTION`, `ALL_COMPLETED`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ReturnWhen {
    /// When every task has finished (or the timeout passed).
    AllCompleted,
    /// When at least one task has finished (or the timeout passed).
    FirstCompleted,
    /// When a task fails — panics, is cancelled, or returns an output whose
    /// [`TaskOutcome::is_exception`] is true (an `Err`) — or when all have finished, or the
    /// timeout passed. With no failure it behaves like [`ReturnWhen::AllCompleted`].
    FirstException,
}

/// How [`wait`] with [`ReturnWhen::FirstException`] tells a failed output from a good one:
/// the Rust counterpart of "the coroutine raised".
///
/// `Result<T, E>` fails when it is `Err`. The common plain types (numbers, `bool`, `char`,
/// `()`, `String`, `&str`, `Vec`, `Option`, small tuples) never fail: only a panic or a
/// cancellation of their task counts. For a type of your own, opt in with an empty impl
/// (`impl TaskOutcome for MyType {}`: the default says "not an exception"), or override
/// `is_exception`. For a foreign type, return it wrapped in [`Plain`].
///
/// A trait (rather than a separate function per output kind) keeps one `wait` signature for
/// `JoinHandle<i32>` and `JoinHandle<Result<i32, E>>` alike.
pub trait TaskOutcome {
    /// Whether this output counts as a failure for [`ReturnWhen::FirstException`].
    fn is_exception(&self) -> bool {
        false
    }
}

impl<T, E> TaskOutcome for Result<T, E> {
    fn is_exception(&self) -> bool {
        self.is_err()
    }
}

impl<T: TaskOutcome + ?Sized> TaskOutcome for Box<T> {
    fn is_exception(&self) -> bool {
        (**self).is_exception()
    }
}

macro_rules! never_an_exception {
    ($($ty:ty),* $(,)?) => { $(impl TaskOutcome for $ty {})* };
}

never_an_exception!(
    (),
    bool,
    char,
    i8,
    i16,
    i32,
    i64,
    i128,
    isize,
    u8,
    u16,
    u32,
    u64,
    u128,
    usize,
    f32,
    f64,
    String,
    &str,
    std::time::Duration,
);

impl<T> TaskOutcome for Vec<T> {}
// `None` is an answer, not a failure: asyncio has no notion of it raising.
impl<T> TaskOutcome for Option<T> {}
impl<A, B> TaskOutcome for (A, B) {}
impl<A, B, C> TaskOutcome for (A, B, C) {}
impl<A, B, C, D> TaskOutcome for (A, B, C, D) {}

/// Wraps a task's output of a type that does not implement [`TaskOutcome`] (one from
/// another crate), so it can go through [`wait`]: such an output never counts as an
/// exception.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Plain<T>(pub T);

impl<T> TaskOutcome for Plain<T> {}

/// One task that [`wait`] saw finish: where it was in the input, its id, and its result
/// (asyncio's done `Task`, whose `.result()` is `result`).
pub struct Finished<T> {
    /// The task's position in the `Vec` given to [`wait`].
    pub index: usize,
    /// The task's id.
    pub id: Id,
    /// What joining it gave: its output, or why it has none (panic, cancellation).
    pub result: Result<T, JoinError>,
}

impl<T: TaskOutcome> Finished<T> {
    /// Whether this task failed: panicked, was cancelled, or returned an exception output.
    pub fn is_exception(&self) -> bool {
        match &self.result {
            Ok(output) => output.is_exception(),
            Err(_) => true,
        }
    }
}

impl<T: fmt::Debug> fmt::Debug for Finished<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Finished")
            .field("index", &self.index)
            .field("id", &self.id)
            .field("result", &self.result)
            .finish()
    }
}

/// Waits for the tasks until `return_when` is met or `timeout` passes, and returns
/// `(done, pending)`, as asyncio's `asyncio.wait(tasks, timeout=..., return_when=...)` does.
///
/// - `done`: every task seen finished by then, in the order they were seen, each with its
///   position in `handles` and its result. When one task meets the condition, the others
///   that had already finished at that moment are in `done` too.
/// - `pending`: the handles of the tasks still running, in their order in `handles`,
///   untouched — not aborted; await them, `wait` on them again, or abort them.
/// - `timeout`: `None` waits with no limit; on expiry `wait` returns what is done so far
///   (it does not fail, like asyncio's).
///
/// An empty `handles` returns `(vec![], vec![])` at once (asyncio raises instead).
///
/// Dropping the `wait` future before it is done aborts nothing: the tasks it held are
/// detached and run to completion.
///
/// ```
/// use std::time::Duration;
/// use spindle::task::{self, ReturnWhen};
///
/// spindle::run(async {
///     let fast = spindle::spawn(async { 1 });
///     let slow = spindle::spawn(async {
///         spindle::time::sleep(Duration::from_secs(60)).await;
///         2
///     });
///     let (done, pending) = task::wait(vec![fast, slow], ReturnWhen::FirstCompleted, None).await;
///     assert_eq!(done[0].index, 0);
///     assert_eq!(*done[0].result.as_ref().unwrap(), 1);
///     assert_eq!(pending.len(), 1);
///     pending[0].abort();
/// });
/// ```
pub async fn wait<T: TaskOutcome>(
    handles: Vec<JoinHandle<T>>,
    return_when: ReturnWhen,
    timeout: Option<Duration>,
) -> (Vec<Finished<T>>, Vec<JoinHandle<T>>) {
    let mut running = in_flight(handles);
    let mut done = Vec::new();
    if running.is_empty() {
        return (done, Vec::new());
    }
    // Created only now, inside the runtime: `sleep` needs the current timer.
    let mut deadline = timeout.map(|d| Box::pin(crate::time::sleep(d)));
    poll_fn(|cx| {
        let mut met = false;
        // Drain everything ready before deciding, so `done` holds all that finished by now.
        loop {
            match running.poll_next_unpin(cx) {
                Poll::Ready(Some(finished)) => {
                    met |= match return_when {
                        ReturnWhen::AllCompleted => false,
                        ReturnWhen::FirstCompleted => true,
                        ReturnWhen::FirstException => finished.is_exception(),
                    };
                    done.push(finished);
                }
                Poll::Ready(None) => return Poll::Ready(()),
                // Also returned when `FuturesUnordered` yields to stay cooperative; it has
                // woken us to come back, so stopping here loses nothing.
                Poll::Pending => break,
            }
        }
        if met {
            return Poll::Ready(());
        }
        match deadline.as_mut() {
            Some(sleep) => sleep.as_mut().poll(cx),
            None => Poll::Pending,
        }
    })
    .await;
    let mut pending: Vec<InFlight<T>> = running.into_iter().collect();
    pending.sort_unstable_by_key(|task| task.index);
    (done, pending.into_iter().map(|task| task.handle).collect())
}

/// Waits for every task and returns their results in the order given, as asyncio's
/// `asyncio.gather(*tasks, return_exceptions=True)` does: a task that panicked or was
/// cancelled gives its `Err(JoinError)` in its place, and does not stop the others.
///
/// Dropping the `gather` future early aborts nothing: its tasks are detached.
///
/// ```
/// spindle::run(async {
///     let handles = (1..=3).map(|i| spindle::spawn(async move { i * 10 })).collect();
///     let results = spindle::task::gather(handles).await;
///     let outputs: Vec<i32> = results.into_iter().map(Result::unwrap).collect();
///     assert_eq!(outputs, [10, 20, 30]);
/// });
/// ```
pub async fn gather<T>(handles: Vec<JoinHandle<T>>) -> Vec<Result<T, JoinError>> {
    let mut slots: Vec<Option<Result<T, JoinError>>> = handles.iter().map(|_| None).collect();
    let mut running = in_flight(handles);
    while let Some(finished) = running.next().await {
        slots[finished.index] = Some(finished.result);
    }
    slots
        .into_iter()
        .map(|slot| slot.expect("gather: every task yields exactly one result"))
        .collect()
}

fn in_flight<T>(handles: Vec<JoinHandle<T>>) -> FuturesUnordered<InFlight<T>> {
    handles
        .into_iter()
        .enumerate()
        .map(|(index, handle)| InFlight { index, handle })
        .collect()
}

/// A handle that remembers its place in the caller's `Vec`, so results can be put back in
/// order and pending handles returned in order.
struct InFlight<T> {
    index: usize,
    handle: JoinHandle<T>,
}

impl<T> Future for InFlight<T> {
    type Output = Finished<T>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Finished<T>> {
        let this = &mut *self;
        Pin::new(&mut this.handle).poll(cx).map(|result| Finished {
            index: this.index,
            id: this.handle.id(),
            result,
        })
    }
}
