//! The wheel against a `BTreeMap` model: random insert / cancel / reset / advance sequences.

use std::collections::{BTreeSet, HashMap};
use std::pin::Pin;
use std::ptr::NonNull;

use proptest::prelude::*;

use super::*;

/// One tick (named for the millisecond it was; the property holds for any tick).
const MS: u64 = NS_PER_TICK;

/// The wheel plus the nodes it links, addressed by small ids.
struct Harness {
    wheel: Wheel,
    nodes: Vec<Pin<Box<Node>>>,
    ids: HashMap<NonNull<Node>, usize>,
    now: u64,
}

impl Harness {
    fn new(nodes: usize) -> Self {
        let nodes: Vec<_> = (0..nodes).map(|_| Box::pin(Node::new())).collect();
        let ids = nodes
            .iter()
            .enumerate()
            .map(|(id, node)| (NonNull::from(&**node), id))
            .collect();
        Self {
            wheel: Wheel::new(),
            nodes,
            ids,
            now: 0,
        }
    }

    fn ptr(&self, id: usize) -> NonNull<Node> {
        NonNull::from(&*self.nodes[id])
    }

    fn insert(&mut self, id: usize, deadline: u64) {
        // SAFETY: the nodes are pinned in boxes that outlive the wheel's use of them, and are
        // removed before being inserted again.
        unsafe {
            self.wheel.remove(self.ptr(id));
            self.wheel.insert(self.ptr(id), deadline);
        }
    }

    fn cancel(&mut self, id: usize) {
        // SAFETY: as in `insert`.
        unsafe { self.wheel.remove(self.ptr(id)) };
    }

    /// Moves to `now` and returns the ids that fired.
    fn advance_to(&mut self, now: u64) -> Vec<usize> {
        self.now = now;
        let mut fired = Vec::new();
        while let Some(node) = self.wheel.poll_expired(now) {
            fired.push(self.ids[&node]);
        }
        fired
    }
}

/// The reference: the set of pending (deadline, id).
#[derive(Default)]
struct Model {
    pending: BTreeSet<(u64, usize)>,
    deadline_of: HashMap<usize, u64>,
}

impl Model {
    fn insert(&mut self, id: usize, deadline: u64) {
        self.cancel(id);
        self.pending.insert((deadline, id));
        self.deadline_of.insert(id, deadline);
    }

    fn cancel(&mut self, id: usize) {
        if let Some(deadline) = self.deadline_of.remove(&id) {
            self.pending.remove(&(deadline, id));
        }
    }
}

/// The last nanosecond at which a timer may still be waiting: the end of its tick.
fn latest_fire(deadline: u64) -> u64 {
    (deadline / MS + 1) * MS - 1
}

#[derive(Debug, Clone)]
enum Op {
    /// Insert (or re-insert, which is a reset) timer `id`, `delay` after now; `past` puts the
    /// deadline `delay` before now instead.
    Insert {
        id: usize,
        delay: u64,
        past: bool,
    },
    Cancel {
        id: usize,
    },
    Advance {
        by: u64,
    },
}

const NODES: usize = 12;

fn delay() -> impl Strategy<Value = u64> {
    prop_oneof![
        4 => 0..3 * MS,
        4 => 0..5_000 * MS,
        2 => 0..(1u64 << 24) * MS,
        // Past the 2^36 ms the levels cover: the overflow list.
        1 => 0..(1u64 << 40) * MS,
    ]
}

fn step() -> impl Strategy<Value = u64> {
    prop_oneof![
        4 => 0..3 * MS,
        3 => 0..200 * MS,
        2 => 0..(1u64 << 20) * MS,
        1 => 0..(1u64 << 36) * MS,
    ]
}

fn ops(aligned: bool) -> impl Strategy<Value = Vec<Op>> {
    let align = move |ns: u64| if aligned { ns / MS * MS } else { ns };
    let op = prop_oneof![
        4 => (0..NODES, delay(), proptest::bool::weighted(0.1))
            .prop_map(move |(id, delay, past)| Op::Insert { id, delay: align(delay), past }),
        2 => (0..NODES).prop_map(|id| Op::Cancel { id }),
        4 => step().prop_map(move |by| Op::Advance { by: align(by) }),
    ];
    proptest::collection::vec(op, 1..120)
}

/// Runs `ops` on the wheel and the model. With `aligned` deadlines and times (whole ticks)
/// the wheel must fire exactly what the model says at each advance; otherwise each timer must
/// fire at or after its deadline and no later than the end of its millisecond.
fn check(ops: Vec<Op>, aligned: bool) -> Result<(), TestCaseError> {
    let mut harness = Harness::new(NODES);
    let mut model = Model::default();
    for op in ops {
        match op {
            Op::Insert { id, delay, past } => {
                let deadline = if past {
                    harness.now.saturating_sub(delay)
                } else {
                    harness.now + delay
                };
                harness.insert(id, deadline);
                model.insert(id, deadline);
            }
            Op::Cancel { id } => {
                harness.cancel(id);
                model.cancel(id);
            }
            Op::Advance { by } => {
                let now = harness.now + by;
                let fired = harness.advance_to(now);
                let mut seen = BTreeSet::new();
                for id in fired {
                    prop_assert!(seen.insert(id), "timer {id} fired twice");
                    let deadline = model.deadline_of.get(&id).copied();
                    prop_assert!(deadline.is_some(), "timer {id} fired but was not pending");
                    let deadline = deadline.unwrap();
                    prop_assert!(
                        deadline <= now,
                        "timer {id} fired early: {deadline} > {now}"
                    );
                    model.cancel(id);
                }
                if aligned {
                    let due = model.pending.range(..(now + 1, 0)).next();
                    prop_assert!(due.is_none(), "due timer not fired: {due:?} at {now}");
                } else {
                    for &(deadline, id) in &model.pending {
                        prop_assert!(
                            latest_fire(deadline) > now,
                            "timer {id} (deadline {deadline}) lost at {now}"
                        );
                    }
                }
                // The driver parks until `next_wake_ns`: it must come before anything is due,
                // and after now (or the driver would spin).
                match (harness.wheel.next_wake_ns(), model.pending.first()) {
                    (None, None) => {}
                    (Some(wake), Some(_)) => {
                        prop_assert!(wake > now, "wake {wake} not after now {now}");
                        let must_wake_by = model
                            .pending
                            .iter()
                            .map(|&(deadline, _)| {
                                if aligned {
                                    deadline
                                } else {
                                    latest_fire(deadline)
                                }
                            })
                            .min()
                            .unwrap();
                        prop_assert!(wake <= must_wake_by, "wake {wake} after {must_wake_by}");
                    }
                    (wake, first) => {
                        prop_assert!(false, "next wake {wake:?} but first pending {first:?}")
                    }
                }
            }
        }
    }
    // Drain: everything left fires, exactly once, never early.
    let mut now = harness.now;
    let mut turns = 0;
    while let Some(wake) = harness.wheel.next_wake_ns() {
        turns += 1;
        prop_assert!(
            turns < 1_000,
            "the wheel keeps asking to be woken at {wake}"
        );
        now = now.max(wake);
        for id in harness.advance_to(now) {
            let deadline = model.deadline_of.get(&id).copied();
            prop_assert!(
                deadline.is_some_and(|deadline| deadline <= now),
                "timer {id} misfired"
            );
            model.cancel(id);
        }
    }
    prop_assert!(model.pending.is_empty(), "lost: {:?}", model.pending);
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn matches_model_at_whole_ticks(ops in ops(true)) {
        check(ops, true)?;
    }

    #[test]
    fn fires_within_its_millisecond(ops in ops(false)) {
        check(ops, false)?;
    }
}

#[test]
fn lone_timer_wakes_at_its_exact_deadline() {
    let mut harness = Harness::new(1);
    harness.insert(0, 7 * MS + 300_000);
    assert_eq!(harness.wheel.next_wake_ns(), Some(7 * MS + 300_000));
    assert!(harness.advance_to(7 * MS + 299_999).is_empty());
    assert_eq!(harness.advance_to(7 * MS + 300_000), vec![0]);
    assert_eq!(harness.wheel.next_wake_ns(), None);
}

#[test]
fn timers_sharing_a_millisecond_fire_together_at_the_latest() {
    let mut harness = Harness::new(2);
    harness.insert(0, 5 * MS + 100);
    harness.insert(1, 5 * MS + 900);
    assert_eq!(harness.wheel.next_wake_ns(), Some(5 * MS + 900));
    assert!(harness.advance_to(5 * MS + 500).is_empty());
    let mut fired = harness.advance_to(5 * MS + 900);
    fired.sort();
    assert_eq!(fired, vec![0, 1]);
}

#[test]
fn cascades_from_every_level() {
    // One timer per level, each a little past a slot boundary of that level.
    let deadlines: Vec<u64> = (0..6)
        .map(|level| ((1u64 << (6 * level)) * 3 + 1) * MS)
        .collect();
    let mut harness = Harness::new(deadlines.len());
    for (id, &deadline) in deadlines.iter().enumerate() {
        harness.insert(id, deadline);
    }
    for (id, &deadline) in deadlines.iter().enumerate() {
        assert!(
            harness.advance_to(deadline - 1).is_empty(),
            "level {id} fired early"
        );
        assert_eq!(harness.advance_to(deadline), vec![id]);
    }
}

#[test]
fn ten_years_out_waits_in_overflow_and_fires_on_time() {
    let ten_years = 10 * 365 * 24 * 3_600_000 * MS;
    let mut harness = Harness::new(1);
    harness.insert(0, ten_years);
    let mut now = 0;
    let mut wakes = 0;
    while let Some(wake) = harness.wheel.next_wake_ns() {
        assert!(wake > now && wake <= ten_years);
        now = wake;
        wakes += 1;
        let fired = harness.advance_to(now);
        if !fired.is_empty() {
            assert_eq!((fired, now), (vec![0], ten_years));
        }
    }
    assert_eq!(now, ten_years);
    // A handful of cascade stops on the way, not one per millisecond.
    assert!(wakes < 20, "{wakes} wakes");
}

#[test]
fn past_deadline_fires_at_the_next_turn() {
    let mut harness = Harness::new(2);
    harness.insert(0, 100 * MS);
    assert_eq!(harness.advance_to(50 * MS), Vec::<usize>::new());
    harness.insert(1, 10 * MS);
    assert_eq!(harness.wheel.next_wake_ns(), Some(50 * MS));
    assert_eq!(harness.advance_to(50 * MS), vec![1]);
}

#[test]
fn cancel_and_reset_unlink() {
    let mut harness = Harness::new(3);
    harness.insert(0, 3 * MS);
    harness.insert(1, 3 * MS);
    harness.insert(2, 70 * MS);
    harness.cancel(0);
    harness.insert(2, 2 * MS); // reset earlier
    assert_eq!(harness.advance_to(2 * MS), vec![2]);
    assert_eq!(harness.advance_to(100 * MS), vec![1]);
    assert_eq!(harness.wheel.next_wake_ns(), None);
}
