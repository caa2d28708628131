//! loom models of the task state protocol (rules 1-10 in the module docs); each names the rule
//! it checks, and each was seen to fail with that rule broken by a one-line mutant.
//!
//! Run with `RUSTFLAGS="--cfg loom" LOOM_MAX_PREEMPTIONS=3 cargo test -p spindle-executor --release --lib`.
//! Each future captures a loom `Arc`: loom fails the model if any execution leaks it, which
//! is how a task cell that is never deallocated (a reference-count bug, rule 1) shows up.
//! A double free shows up as a crash or a double drop count.

use std::collections::VecDeque;
use std::future::{Future, poll_fn};
use std::sync::Arc as StdArc;
use std::task::{Poll, Waker};

use loom::sync::Arc;
use loom::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use loom::thread;

use super::{Id, JoinHandle, Notified, Schedule, Task, new_task};
use crate::sync::Mutex;

#[derive(Default)]
struct TestScheduler {
    queue: Mutex<VecDeque<Notified>>,
}

impl Schedule for TestScheduler {
    fn schedule(this: &StdArc<Self>, task: Notified, _is_yield: bool) {
        this.queue.lock().push_back(task);
    }

    fn release(&self, _task: &Task) -> Option<Task> {
        None
    }
}

impl TestScheduler {
    fn run_all(&self) -> usize {
        let mut ran = 0;
        loop {
            let next = self.queue.lock().pop_front();
            let Some(task) = next else { return ran };
            task.run();
            ran += 1;
        }
    }

    fn len(&self) -> usize {
        self.queue.lock().len()
    }
}

fn spawn<F>(scheduler: &StdArc<TestScheduler>, future: F) -> JoinHandle<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    let (_, notified, raw) = new_task(future, scheduler.clone(), Id::next(), None, false);
    TestScheduler::schedule(scheduler, notified, false);
    JoinHandle::new(raw)
}

/// A flag a task waits on, with the waker it left behind.
#[derive(Clone, Default)]
struct Signal {
    set: Arc<AtomicBool>,
    waker: Arc<Mutex<Option<Waker>>>,
}

impl Signal {
    fn wait(&self) -> impl Future<Output = ()> + Send + 'static {
        let this = self.clone();
        poll_fn(move |cx| {
            *this.waker.lock() = Some(cx.waker().clone());
            if this.set.load(Ordering::SeqCst) {
                Poll::Ready(())
            } else {
                Poll::Pending
            }
        })
    }

    fn fire(&self) {
        self.set.store(true, Ordering::SeqCst);
        let waker = self.waker.lock().take();
        if let Some(waker) = waker {
            waker.wake();
        }
    }
}

/// Counts drops; also holds a loom `Arc` so a leak fails the model.
struct Tracked {
    drops: Arc<AtomicUsize>,
}

impl Tracked {
    /// A value that counts its drops, and the counter.
    fn new() -> (Tracked, Arc<AtomicUsize>) {
        let drops = Arc::new(AtomicUsize::new(0));
        (
            Tracked {
                drops: drops.clone(),
            },
            drops,
        )
    }
}

impl Drop for Tracked {
    fn drop(&mut self) {
        self.drops.fetch_add(1, Ordering::SeqCst);
    }
}

/// A task waits on a signal that another thread fires (with `fire`) while the task may be
/// being polled: the task must end up finished.
fn wake_while_polled(fire: fn(&Signal)) {
    loom::model(move || {
        let scheduler = StdArc::new(TestScheduler::default());
        let signal = Signal::default();
        let join = spawn(&scheduler, signal.wait());
        let firer = {
            let signal = signal.clone();
            thread::spawn(move || fire(&signal))
        };
        scheduler.run_all();
        firer.join().unwrap();
        scheduler.run_all();
        assert!(join.is_finished(), "the wake during the poll was lost");
        drop(signal);
    });
}

/// Rules 3 and 4: a by-value wake that arrives while the task is being polled is not lost.
#[test]
fn wake_during_poll() {
    wake_while_polled(Signal::fire);
}

/// Rule 3: two concurrent wakes of an idle task queue it at most once.
#[test]
fn wake_from_two_threads() {
    loom::model(|| {
        let scheduler = StdArc::new(TestScheduler::default());
        let signal = Signal::default();
        let join = spawn(&scheduler, signal.wait());
        scheduler.run_all();
        let waker = signal
            .waker
            .lock()
            .take()
            .expect("the task registered a waker");
        signal.set.store(true, Ordering::SeqCst);
        let other = waker.clone();
        let t = thread::spawn(move || other.wake());
        waker.wake_by_ref();
        t.join().unwrap();
        assert_eq!(scheduler.len(), 1, "one entry however many wakes");
        drop(waker);
        scheduler.run_all();
        assert!(join.is_finished());
    });
}

/// Rules 5 and 6: abort racing completion yields the output or a cancellation, and the
/// future is dropped exactly once.
#[test]
fn abort_vs_complete() {
    loom::model(|| {
        let scheduler = StdArc::new(TestScheduler::default());
        let (tracked, drops) = Tracked::new();
        let signal = Signal::default();
        let wait = signal.wait();
        let join = spawn(&scheduler, async move {
            let _tracked = tracked;
            wait.await;
            7
        });
        scheduler.run_all();
        let abort = join.abort_handle();
        let aborter = thread::spawn(move || abort.abort());
        signal.fire();
        scheduler.run_all();
        aborter.join().unwrap();
        scheduler.run_all();
        let out = loom::future::block_on(join);
        match out {
            Ok(v) => assert_eq!(v, 7),
            Err(e) => assert!(e.is_cancelled()),
        }
        assert_eq!(drops.load(Ordering::SeqCst), 1);
    });
}

/// Rule 7: dropping the JoinHandle while the task completes drops the output exactly once.
#[test]
fn join_handle_drop_vs_complete() {
    loom::model(|| {
        let scheduler = StdArc::new(TestScheduler::default());
        let (output, drops) = Tracked::new();
        let join = spawn(&scheduler, async move { output });
        let dropper = thread::spawn(move || drop(join));
        scheduler.run_all();
        dropper.join().unwrap();
        assert_eq!(drops.load(Ordering::SeqCst), 1);
    });
}

/// Rule 8: a JoinHandle polled from another thread while the task completes is woken.
#[test]
fn join_waker_vs_complete() {
    loom::model(|| {
        let scheduler = StdArc::new(TestScheduler::default());
        let join = spawn(&scheduler, async { 3 });
        let joiner = thread::spawn(move || loom::future::block_on(join).unwrap());
        scheduler.run_all();
        assert_eq!(joiner.join().unwrap(), 3);
    });
}

/// Rule 1: the last reference may be a waker dropped on another thread while the handle
/// goes away here; the cell is freed once.
#[test]
fn waker_drop_as_last_reference() {
    loom::model(|| {
        let scheduler = StdArc::new(TestScheduler::default());
        let (tracked, drops) = Tracked::new();
        let signal = Signal::default();
        let wait = signal.wait();
        let join = spawn(&scheduler, async move {
            let _tracked = tracked;
            wait.await;
        });
        scheduler.run_all();
        let waker = signal.waker.lock().take().unwrap();
        let t = thread::spawn(move || drop(waker));
        drop(join);
        t.join().unwrap();
        // Nobody can wake or join the task: its cell was freed with the future in it.
        assert_eq!(drops.load(Ordering::SeqCst), 1);
    });
}

/// Rule 9: shutdown racing a wake: the future is dropped once, by one side.
#[test]
fn shutdown_vs_wake() {
    loom::model(|| {
        let scheduler = StdArc::new(TestScheduler::default());
        let (tracked, drops) = Tracked::new();
        let signal = Signal::default();
        let wait = signal.wait();
        let (listed, notified, raw) = new_task(
            async move {
                let _tracked = tracked;
                wait.await;
            },
            scheduler.clone(),
            Id::next(),
            None,
            true,
        );
        let join: JoinHandle<()> = JoinHandle::new(raw);
        TestScheduler::schedule(&scheduler, notified, false);
        scheduler.run_all();
        let firer = {
            let signal = signal.clone();
            thread::spawn(move || signal.fire())
        };
        listed.unwrap().shutdown();
        firer.join().unwrap();
        scheduler.run_all();
        let err = loom::future::block_on(join).unwrap_err();
        assert!(err.is_cancelled());
        assert_eq!(drops.load(Ordering::SeqCst), 1);
    });
}

impl Signal {
    /// Sets the flag and wakes by reference, keeping the waker (the path `wake_by_ref`
    /// takes, rule 4).
    fn fire_by_ref(&self) {
        self.set.store(true, Ordering::SeqCst);
        let waker = self.waker.lock().clone();
        if let Some(waker) = waker {
            waker.wake_by_ref();
        }
    }
}

/// Rule 4: a by-reference wake of a *running* task sets NOTIFIED, so the runner
/// reschedules it. (A mutant that ignores a by-reference wake while RUNNING leaves the task
/// idle forever with its flag set.)
#[test]
fn wake_by_ref_during_poll() {
    wake_while_polled(Signal::fire_by_ref);
}

/// Rule 6: an abort that lands while the task is being polled is carried out by the
/// runner when the poll returns: the future (which would never finish by itself) is
/// dropped exactly once, and the handle reports a cancellation.
#[test]
fn abort_during_poll() {
    loom::model(|| {
        let scheduler = StdArc::new(TestScheduler::default());
        let (tracked, drops) = Tracked::new();
        let join = spawn(&scheduler, async move {
            let _tracked = tracked;
            std::future::pending::<()>().await;
        });
        let abort = join.abort_handle();
        let aborter = thread::spawn(move || abort.abort());
        scheduler.run_all();
        aborter.join().unwrap();
        scheduler.run_all();
        assert!(join.is_finished(), "the abort was lost");
        let err = loom::future::block_on(join).unwrap_err();
        assert!(err.is_cancelled());
        assert_eq!(drops.load(Ordering::SeqCst), 1);
    });
}

/// A waker that counts its wakes and its drops; its loom `Arc` makes a leaked waker fail
/// the model.
struct CountingWaker {
    wakes: Arc<AtomicUsize>,
    drops: Arc<AtomicUsize>,
}

impl std::task::Wake for CountingWaker {
    fn wake(self: StdArc<Self>) {
        self.wakes.fetch_add(1, Ordering::SeqCst);
    }
}

impl Drop for CountingWaker {
    fn drop(&mut self) {
        self.drops.fetch_add(1, Ordering::SeqCst);
    }
}

fn counting_waker() -> (Waker, Arc<AtomicUsize>, Arc<AtomicUsize>) {
    let wakes = Arc::new(AtomicUsize::new(0));
    let drops = Arc::new(AtomicUsize::new(0));
    let waker = Waker::from(StdArc::new(CountingWaker {
        wakes: wakes.clone(),
        drops: drops.clone(),
    }));
    (waker, wakes, drops)
}

/// Rule 8: a `JoinHandle` polled again with a *different* waker while the task completes:
/// if that poll returned `Pending`, the completion wakes the new waker. (A mutant that
/// keeps the first waker fails here.)
#[test]
fn join_waker_replaced_while_completing() {
    loom::model(|| {
        let scheduler = StdArc::new(TestScheduler::default());
        let signal = Signal::default();
        let mut join = spawn(&scheduler, signal.wait());
        scheduler.run_all();
        let joiner = thread::spawn(move || {
            let (first, _, _) = counting_waker();
            let (second, second_wakes, _) = counting_waker();
            let mut pinned = std::pin::Pin::new(&mut join);
            let ready = pinned
                .as_mut()
                .poll(&mut std::task::Context::from_waker(&first))
                .is_ready()
                || pinned
                    .as_mut()
                    .poll(&mut std::task::Context::from_waker(&second))
                    .is_ready();
            // The handle stays alive past the completion: dropping it would drop the waker.
            (ready, second_wakes, join)
        });
        signal.fire();
        scheduler.run_all();
        let (ready, second_wakes, join) = joiner.join().unwrap();
        if !ready {
            assert_eq!(
                second_wakes.load(Ordering::SeqCst),
                1,
                "the completion must wake the waker of the last poll"
            );
        }
        drop(join);
    });
}

/// Rule 8: dropping the `JoinHandle` drops its stored waker at once, even while something
/// else (an `AbortHandle` here; a task's queue entry in a runtime) keeps the cell alive,
/// and whether or not the task is completing at the same moment. A waker kept until the
/// cell is freed can close a reference cycle between two tasks awaiting each other.
#[test]
fn join_handle_drop_releases_its_waker() {
    loom::model(|| {
        let scheduler = StdArc::new(TestScheduler::default());
        let signal = Signal::default();
        let mut join = spawn(&scheduler, signal.wait());
        scheduler.run_all();
        let abort = join.abort_handle();
        let (waker, _, waker_drops) = counting_waker();
        let poll = std::pin::Pin::new(&mut join).poll(&mut std::task::Context::from_waker(&waker));
        assert!(poll.is_pending());
        drop(waker);
        let dropper = thread::spawn(move || drop(join));
        signal.fire();
        scheduler.run_all();
        dropper.join().unwrap();
        assert_eq!(
            waker_drops.load(Ordering::SeqCst),
            1,
            "the join waker outlived the JoinHandle and the completion"
        );
        drop(abort);
    });
}

/// A scheduler whose tasks are in an owned list, released on completion as in a runtime.
#[derive(Default)]
struct ListedScheduler {
    queue: Mutex<VecDeque<Notified>>,
    owned: OnceOwned,
}

/// `OwnedTasks::new` under loom allocates loom objects, which must happen inside the model.
struct OnceOwned(super::list::OwnedTasks);

impl Default for OnceOwned {
    fn default() -> Self {
        OnceOwned(super::list::OwnedTasks::new(1))
    }
}

impl Schedule for ListedScheduler {
    fn schedule(this: &StdArc<Self>, task: Notified, _is_yield: bool) {
        this.queue.lock().push_back(task);
    }

    fn release(&self, task: &Task) -> Option<Task> {
        self.owned.0.remove(task)
    }
}

impl ListedScheduler {
    fn run_all(&self) {
        loop {
            let next = self.queue.lock().pop_front();
            let Some(task) = next else { return };
            task.run();
        }
    }
}

/// Rule 9, three threads: a task completing (and leaving the owned list) on one thread, a
/// task being spawned (bound) on another, and shutdown closing the list on a third. Every
/// future is dropped exactly once, every handle resolves (output or cancellation), the list
/// ends empty, and nothing leaks (each future holds a loom `Arc`).
#[test]
fn owned_list_bind_and_remove_race_shutdown() {
    loom::model(|| {
        let scheduler = StdArc::new(ListedScheduler::default());
        let (tracked, drops) = Tracked::new();
        let first = super::list::spawn_into(
            &scheduler.owned.0,
            &scheduler,
            async move {
                let _tracked = tracked;
                1
            },
            None,
        );
        let runner = {
            let scheduler = scheduler.clone();
            thread::spawn(move || scheduler.run_all())
        };
        let spawner = {
            let scheduler = scheduler.clone();
            let tracked = Tracked {
                drops: drops.clone(),
            };
            thread::spawn(move || {
                super::list::spawn_into(
                    &scheduler.owned.0,
                    &scheduler,
                    async move {
                        let _tracked = tracked;
                        2
                    },
                    None,
                )
            })
        };
        scheduler.owned.0.close_and_shutdown_all();
        runner.join().unwrap();
        let second = spawner.join().unwrap();
        // What is still queued is released without running, as a runtime's shutdown drains
        // its queues: a task bound after the close would keep its future forever.
        let queued = std::mem::take(&mut *scheduler.queue.lock());
        drop(queued);
        for (join, value) in [(first, 1), (second, 2)] {
            match loom::future::block_on(join) {
                Ok(v) => assert_eq!(v, value),
                Err(err) => assert!(err.is_cancelled()),
            }
        }
        assert_eq!(drops.load(Ordering::SeqCst), 2);
        assert_eq!(
            scheduler.owned.0.len(),
            0,
            "a task was left in the closed list"
        );
    });
}

/// Rule 10: the stage has no tag, so who drops what is told by the state word alone. The
/// handle reads the output on one thread while the task completes on another and an abort
/// (whose handle may hold the last reference, freeing the cell) lands on a third: the
/// output is taken once, by the handle, and neither the handle's drop nor `dealloc` drops
/// it again; if the abort won, the future (which holds the would-be output) is dropped
/// once. (Mutants that keep JOIN_INTEREST set when the handle takes the output, or that
/// make `dealloc` drop the output of a COMPLETE task, drop it twice.)
#[test]
fn join_reads_output_vs_abort_and_last_reference() {
    loom::model(|| {
        let scheduler = StdArc::new(TestScheduler::default());
        let (output, drops) = Tracked::new();
        let join = spawn(&scheduler, async move { output });
        let abort = join.abort_handle();
        let joiner = thread::spawn(move || match loom::future::block_on(join) {
            Ok(output) => drop(output),
            Err(e) => assert!(e.is_cancelled()),
        });
        let aborter = thread::spawn(move || abort.abort());
        scheduler.run_all();
        aborter.join().unwrap();
        scheduler.run_all();
        joiner.join().unwrap();
        assert_eq!(drops.load(Ordering::SeqCst), 1);
    });
}

/// Rule 10: a task freed before it ever ran (its run-queue entry dropped unrun, its handle
/// dropped on another thread) still has its future, and whichever side frees the cell
/// drops it, once. (A mutant `dealloc` that drops nothing leaks the future's loom `Arc`.)
#[test]
fn dealloc_of_a_task_that_never_ran_drops_its_future() {
    loom::model(|| {
        let scheduler = StdArc::new(TestScheduler::default());
        let (tracked, drops) = Tracked::new();
        let (_, notified, raw) = new_task(
            async move {
                let _tracked = tracked;
            },
            scheduler.clone(),
            Id::next(),
            None,
            false,
        );
        let join: JoinHandle<()> = JoinHandle::new(raw);
        let dropper = thread::spawn(move || drop(join));
        drop(notified);
        dropper.join().unwrap();
        assert_eq!(drops.load(Ordering::SeqCst), 1);
    });
}
