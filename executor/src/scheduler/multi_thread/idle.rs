//! Who is asleep, who is searching: the sleep/wake handshake of the multi-thread scheduler.
//!
//! # Protocol
//!
//! `state` packs the number of *searching* workers (looking for work to steal) and of
//! *unparked* workers (not asleep). The rules, cited by the worker loop and the loom model
//! (`tests/loom_runtime.rs`):
//!
//! 1. **Publish, then look.** Whoever makes work available (a push to the injector or to a
//!    local queue that others may steal from) does so *before* a SeqCst fence and a load
//!    of `state` in [`Idle::worker_to_notify`]. A worker that stops searching as the last
//!    searcher decrements `state` with a SeqCst RMW and then issues a SeqCst fence *before*
//!    its final look at the queues. The two fences are ordered; whichever comes second
//!    sees what came before the other, so either the pusher sees no searcher and wakes
//!    someone, or the last searcher's final look sees the work. (Fences rather than RMWs on
//!    the pusher's side: pushes are frequent, and a load keeps `state`'s cache line shared
//!    between busy workers.)
//! 2. **Wake only when nobody is looking.** A pusher wakes a sleeper only if no worker is
//!    searching and some worker is asleep; a searching worker will find the work, and one
//!    that is running will look at the queues before it sleeps.
//! 3. **Every worker looks again before it sleeps.** A worker that goes to sleep re-checks
//!    every queue after publishing that (its SeqCst RMW on `state`, then a SeqCst fence, rule
//!    1), and wakes a worker if it finds anything. Not only the last searcher: a pusher that
//!    saw a worker still unparked relied on it to look (rule 2), and a worker that was
//!    refused searching by rule 5 has not looked at the other queues. (Only the last
//!    searcher once did this; the loom model `a_burst_of_spawns_reaches_the_other_worker`
//!    found a worker refused by rule 5 falling asleep beside a queue that its owner, busy in
//!    a long poll, had filled while it still counted as unparked.)
//! 4. **A woken worker searches.** `worker_to_notify` counts the chosen sleeper as
//!    unparked and searching before it runs, so two pushes in a row do not both wake
//!    sleepers for work one searcher can handle, and rule 3 applies to the woken worker.
//! 5. **At most half search.** A worker may start searching only while fewer than half of
//!    the workers are, to bound the contention that stealing puts on the queues. The check
//!    and the increment are one compare-and-swap. (Rule 4's notified workers count as
//!    searching on top of this bound: they were woken to look.)
//! 6. **Leaving sleep.** A worker that wakes is either already removed from `sleepers`
//!    (it was notified, rule 4), or it removes itself (it woke for its own driver's events)
//!    and counts itself unparked, not searching.

use crate::sync::{AtomicUsize, Mutex, Ordering, fence};

const UNPARKED_SHIFT: usize = 16;
const SEARCHING_MASK: usize = (1 << UNPARKED_SHIFT) - 1;
const ONE_SEARCHING: usize = 1;
const ONE_UNPARKED: usize = 1 << UNPARKED_SHIFT;

pub(crate) struct Idle {
    state: AtomicUsize,
    sleepers: Mutex<Vec<usize>>,
    num_workers: usize,
}

fn num_searching(state: usize) -> usize {
    state & SEARCHING_MASK
}

fn num_unparked(state: usize) -> usize {
    state >> UNPARKED_SHIFT
}

impl Idle {
    pub(crate) fn new(num_workers: usize) -> Idle {
        assert!(num_workers < SEARCHING_MASK, "too many worker threads");
        Idle {
            // Every worker starts unparked and not searching.
            state: AtomicUsize::new(num_workers * ONE_UNPARKED),
            sleepers: Mutex::new(Vec::with_capacity(num_workers)),
            num_workers,
        }
    }

    /// Rules 1, 2 and 4: the worker to wake for newly published work, if any.
    pub(crate) fn worker_to_notify(&self) -> Option<usize> {
        if !self.should_wake() {
            return None;
        }
        let mut sleepers = self.sleepers.lock();
        if !self.should_wake() {
            return None;
        }
        let worker = sleepers.pop()?;
        self.state
            .fetch_add(ONE_SEARCHING | ONE_UNPARKED, Ordering::SeqCst);
        Some(worker)
    }

    fn should_wake(&self) -> bool {
        // Rule 1: a SeqCst fence, then a load, ordered against the fence the last searcher
        // puts between its RMW and its final look. A fence and a load leave the cache line
        // shared: every push to a local queue comes here, and an RMW (which the line would
        // bounce between busy workers for) cost a cross-core transfer per yield.
        fence(Ordering::SeqCst);
        let state = self.state.load(Ordering::SeqCst);
        num_searching(state) == 0 && num_unparked(state) < self.num_workers
    }

    /// Rule 5: may this worker start searching?
    pub(crate) fn try_start_searching(&self) -> bool {
        // One compare-and-swap for the check and the increment: a load followed by an add
        // let every worker that looked at the same moment in (the rule 5 model caught three
        // of four starting together).
        let mut state = self.state.load(Ordering::SeqCst);
        loop {
            if 2 * num_searching(state) >= self.num_workers {
                return false;
            }
            match self.state.compare_exchange_weak(
                state,
                state + ONE_SEARCHING,
                Ordering::SeqCst,
                Ordering::SeqCst,
            ) {
                Ok(_) => return true,
                Err(actual) => state = actual,
            }
        }
    }

    /// Rule 1: a searching worker found work. Returns true if it was the last searcher,
    /// in which case the caller should wake another worker to keep looking.
    pub(crate) fn stop_searching(&self) -> bool {
        let prev = self.state.fetch_sub(ONE_SEARCHING, Ordering::SeqCst);
        num_searching(prev) == 1
    }

    /// Rules 1 and 3: the worker goes to sleep. The caller must then look at every queue
    /// once more (rule 3).
    pub(crate) fn park(&self, worker: usize, searching: bool) {
        let mut sleepers = self.sleepers.lock();
        let dec = ONE_UNPARKED + if searching { ONE_SEARCHING } else { 0 };
        self.state.fetch_sub(dec, Ordering::SeqCst);
        sleepers.push(worker);
        drop(sleepers);
        // Rule 1: pairs with the pushers' fence in `should_wake`; the caller's final look at
        // the queues comes after it.
        fence(Ordering::SeqCst);
    }

    /// Rule 6: after waking. Returns true if the worker was notified (it is now counted as
    /// searching), false if it removed itself from the sleepers.
    pub(crate) fn unpark(&self, worker: usize) -> bool {
        let mut sleepers = self.sleepers.lock();
        match sleepers.iter().position(|&w| w == worker) {
            Some(i) => {
                sleepers.swap_remove(i);
                self.state.fetch_add(ONE_UNPARKED, Ordering::SeqCst);
                false
            }
            None => true,
        }
    }

    /// Whether the worker is still registered as asleep.
    pub(crate) fn is_parked(&self, worker: usize) -> bool {
        self.sleepers.lock().contains(&worker)
    }
}

#[cfg(all(test, loom))]
mod loom_tests {
    //! Run with `RUSTFLAGS="--cfg loom" LOOM_MAX_PREEMPTIONS=3 cargo test -p spindle-executor
    //! --release --lib idle`.

    use super::*;
    use crate::sync::{Arc, AtomicBool};

    /// A pusher publishes work (an atomic flag written with Release and read with Acquire,
    /// as crossbeam's deque does) and looks for a sleeper to wake, while worker `parker`
    /// (searching or not) goes to sleep and looks at the work once more: one of them must
    /// see it.
    fn pusher_or_parker_sees_the_work(idle: Arc<Idle>, parker: usize, searching: bool) {
        let work = Arc::new(AtomicBool::new(false));
        let pusher = {
            let (idle, work) = (idle.clone(), work.clone());
            loom::thread::spawn(move || {
                work.store(true, Ordering::Release);
                idle.worker_to_notify()
            })
        };
        idle.park(parker, searching);
        let found = work.load(Ordering::Acquire);
        let woken = pusher.join().unwrap();
        assert!(
            found || woken.is_some(),
            "the work was published but nobody looks at it"
        );
    }

    /// Rule 1: work published while the last searcher goes to sleep is either seen by that
    /// searcher's final look or makes the pusher wake a sleeper. (Without the pusher's fence,
    /// or the searcher's, both can miss: the work sits in a queue with every worker asleep.)
    #[test]
    fn push_races_the_last_searcher_going_to_sleep() {
        loom::model(|| {
            let idle = Arc::new(Idle::new(2));
            // Worker 1 is asleep; worker 0 is the one searcher.
            idle.park(1, false);
            assert!(idle.try_start_searching());
            pusher_or_parker_sees_the_work(idle, 0, true);
        });
    }

    /// Rule 3: a worker that goes to sleep without searching (rule 5 refused it, say) also
    /// looks again, since a pusher that saw it unparked did not wake anyone for the work.
    /// (With only the last searcher looking, the work sat in a queue nobody would look at
    /// until its busy owner came back.)
    #[test]
    fn push_races_a_worker_that_never_searched_going_to_sleep() {
        loom::model(|| {
            // Worker 0 pushes from inside a long poll; worker 1 is awake, not searching.
            pusher_or_parker_sees_the_work(Arc::new(Idle::new(2)), 1, false);
        });
    }

    /// Rule 5, three threads: of four workers, three try to start searching at once; at most
    /// half of the workers (two) may. (A check-then-add that is not one atomic step lets all
    /// three in.)
    #[test]
    fn at_most_half_the_workers_start_searching() {
        loom::model(|| {
            let idle = Arc::new(Idle::new(4));
            let others: Vec<_> = (0..2)
                .map(|_| {
                    let idle = idle.clone();
                    loom::thread::spawn(move || idle.try_start_searching())
                })
                .collect();
            let mine = idle.try_start_searching();
            let started = others
                .into_iter()
                .map(|t| t.join().unwrap())
                .chain([mine])
                .filter(|&s| s)
                .count();
            assert!(started <= 2, "{started} of 4 workers started searching");
            assert!(started >= 1, "nobody was let in");
        });
    }
}
