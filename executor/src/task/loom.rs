//! loom models of the task state protocol (rules 1-9 in the module docs).
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
    fn schedule(&self, task: Notified, _is_yield: bool) {
        self.queue.lock().push_back(task);
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
    scheduler.schedule(notified, false);
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

impl Drop for Tracked {
    fn drop(&mut self) {
        self.drops.fetch_add(1, Ordering::SeqCst);
    }
}

/// Rules 3 and 4: a wake that arrives while the task is being polled is not lost.
#[test]
fn wake_during_poll() {
    loom::model(|| {
        let scheduler = StdArc::new(TestScheduler::default());
        let signal = Signal::default();
        let join = spawn(&scheduler, signal.wait());
        let firer = {
            let signal = signal.clone();
            thread::spawn(move || signal.fire())
        };
        scheduler.run_all();
        firer.join().unwrap();
        scheduler.run_all();
        assert!(join.is_finished());
        drop(join);
    });
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
        let drops = Arc::new(AtomicUsize::new(0));
        let tracked = Tracked {
            drops: drops.clone(),
        };
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
        let drops = Arc::new(AtomicUsize::new(0));
        let output = Tracked {
            drops: drops.clone(),
        };
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
        let drops = Arc::new(AtomicUsize::new(0));
        let tracked = Tracked {
            drops: drops.clone(),
        };
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
        let drops = Arc::new(AtomicUsize::new(0));
        let tracked = Tracked {
            drops: drops.clone(),
        };
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
        scheduler.schedule(notified, false);
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
