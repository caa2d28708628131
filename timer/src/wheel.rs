//! The hierarchical timing wheel: a pure data structure, no threads, no clocks.
//!
//! Time is given to the wheel in nanoseconds since the driver's origin. The wheel sorts
//! entries by *tick* (2^16 ns, about 65.5 µs: `deadline_ns / NS_PER_TICK`) into 6 levels of
//! 64 slots; level `L` slots are `64^L` ticks wide, so the levels together cover `2^36` ticks
//! (about 52 days) ahead of the wheel's current tick. A deadline further out than that waits in an
//! unordered overflow list and moves into the levels once the current tick reaches its
//! `2^36`-tick block. Each level keeps a `u64` bitmap of its occupied slots, so finding the
//! next thing to do is a `trailing_zeros` on the first non-empty level.
//!
//! An entry lives at the level of the highest 6-bit group in which its tick differs from the
//! current tick (`elapsed`). All entries at level `L` therefore share `elapsed`'s bits above
//! level `L` and sit in a slot *after* `elapsed`'s own slot at that level: level 0 holds the
//! current 64-tick block, level 1 later blocks of the current 4096-tick block, and so on. So
//! every entry of level `L` is due before any entry of level `L + 1`, and when the current
//! tick reaches the start of an upper-level slot, that slot's entries *cascade*: they are
//! re-inserted relative to the new current tick and land on lower levels.
//!
//! Precision: a level-0 slot also records the latest exact deadline of the entries put in
//! it (an upper bound: a cancelled entry does not lower it). The wheel asks to be woken at that
//! instant, not at the end of the tick, and fires the whole slot then. A lone timer is
//! therefore woken for at its exact deadline; timers that share a tick are fired together, at
//! the latest of their deadlines — at most one tick (65.5 µs) late — which keeps the number of
//! wake-ups per tick at one however many timers there are. Nothing ever fires before its
//! deadline. (A 1 ms tick, as in tokio, fired the early timers of a busy millisecond up to a
//! millisecond late: 10 000 concurrent 10 ms sleeps were 0.8-1.2 ms late on average, against
//! 0.3 ms with this tick; BENCHMARKS.md.)
//!
//! Entries are intrusive: the list links live in a [`Node`] embedded in the timer entry
//! itself, so insert, remove and re-insert are O(1) and never allocate.

use std::marker::PhantomPinned;
use std::ptr::NonNull;

use crate::sync::UnsafeCell;

/// Nanoseconds in one tick of level 0: a power of two, so `deadline_ns / NS_PER_TICK` is a
/// shift, and fine enough that timers sharing a slot are at most 65.5 µs apart.
pub(crate) const NS_PER_TICK: u64 = 1 << 16;

const LEVELS: usize = 6;
const SLOT_BITS: u32 = 6;
const SLOTS: usize = 1 << SLOT_BITS;
/// Ticks the levels cover: `2^RANGE_BITS`. Further deadlines wait in the overflow list.
const RANGE_BITS: u32 = SLOT_BITS * LEVELS as u32;

/// The part of a timer entry that the wheel links into its lists.
///
/// Every field is only touched through `&mut Wheel`, that is under the lock that owns the
/// wheel (rule 1 of the protocol in `entry.rs`).
#[derive(Debug)]
pub(crate) struct Node {
    links: UnsafeCell<Links>,
    /// The wheel holds raw pointers to linked nodes: a node must not move while linked.
    _pinned: PhantomPinned,
}

#[derive(Clone, Copy, Debug)]
struct Links {
    prev: Option<NonNull<Node>>,
    next: Option<NonNull<Node>>,
    deadline_ns: u64,
    list: ListId,
}

/// Which list a node is in, so that removal can fix that list's head and bitmap.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ListId {
    Unlinked,
    Slot {
        level: u8,
        slot: u8,
    },
    Overflow,
    /// Due already: handed out by the next `poll_expired`.
    Expired,
}

impl Node {
    pub(crate) fn new() -> Self {
        Self {
            links: UnsafeCell::new(Links {
                prev: None,
                next: None,
                deadline_ns: 0,
                list: ListId::Unlinked,
            }),
            _pinned: PhantomPinned,
        }
    }
}

/// Reads a node's links.
///
/// # Safety
/// `node` points to a live node and the caller holds the wheel (`&Wheel` or `&mut Wheel`), so
/// by rule 1 nobody writes the links concurrently.
unsafe fn links(node: NonNull<Node>) -> Links {
    // SAFETY: the caller guarantees a live node and exclusive-or-shared wheel access (rule 1).
    unsafe { node.as_ref().links.with(|links| *links) }
}

/// Updates a node's links.
///
/// # Safety
/// `node` points to a live node and the caller holds `&mut Wheel` (rule 1).
unsafe fn update(node: NonNull<Node>, f: impl FnOnce(&mut Links)) {
    // SAFETY: the caller guarantees a live node and exclusive wheel access (rule 1), so this is
    // the only reference to the links.
    unsafe { node.as_ref().links.with_mut(|links| f(&mut *links)) }
}

/// A doubly-linked list of nodes, by its head.
#[derive(Clone, Copy, Debug, Default)]
struct List {
    head: Option<NonNull<Node>>,
}

impl List {
    fn is_empty(&self) -> bool {
        self.head.is_none()
    }

    /// # Safety
    /// `node` is live and unlinked; the caller holds `&mut Wheel`.
    unsafe fn push_front(&mut self, node: NonNull<Node>, list: ListId, deadline_ns: u64) {
        let old_head = self.head;
        // SAFETY: `node` is live and unlinked, and the wheel is exclusively held (rule 1).
        unsafe {
            update(node, |links| {
                *links = Links {
                    prev: None,
                    next: old_head,
                    deadline_ns,
                    list,
                }
            });
            if let Some(old_head) = old_head {
                update(old_head, |links| links.prev = Some(node));
            }
        }
        self.head = Some(node);
    }

    /// # Safety
    /// `node` is live and linked in this list; the caller holds `&mut Wheel`.
    unsafe fn unlink(&mut self, node: NonNull<Node>) {
        // SAFETY: `node` and its neighbours are live members of this list, and the wheel is
        // exclusively held (rule 1).
        unsafe {
            let Links { prev, next, .. } = links(node);
            match prev {
                Some(prev) => update(prev, |links| links.next = next),
                None => self.head = next,
            }
            if let Some(next) = next {
                update(next, |links| links.prev = prev);
            }
            update(node, |links| {
                links.prev = None;
                links.next = None;
                links.list = ListId::Unlinked;
            });
        }
    }

    /// # Safety
    /// The caller holds `&mut Wheel`, and every node in the list is live.
    unsafe fn pop_front(&mut self) -> Option<NonNull<Node>> {
        let node = self.head?;
        // SAFETY: the head of a list is a live member of it (rule 2 keeps it alive).
        unsafe { self.unlink(node) };
        Some(node)
    }
}

/// What the wheel must do next, and from which tick.
#[derive(Clone, Copy, Debug)]
enum Next {
    /// Level-0 slot `slot`, holding tick `tick`: entries to fire.
    Fire { slot: usize, tick: u64 },
    /// Upper-level slot starting at `tick`: entries to cascade.
    Cascade {
        level: usize,
        slot: usize,
        tick: u64,
    },
    /// The overflow list: re-examine it once the current tick reaches `tick`.
    Overflow { tick: u64 },
}

/// A hierarchical timing wheel of intrusive [`Node`]s.
#[derive(Debug)]
pub(crate) struct Wheel {
    /// The current tick: every node in a slot or in overflow has a tick `>= elapsed`, and no
    /// occupied level-0 slot lies before it.
    elapsed: u64,
    /// The latest time the wheel has been told about. A node whose deadline is not after it
    /// is due at once and goes to the expired list.
    now_ns: u64,
    occupied: [u64; LEVELS],
    slots: [[List; SLOTS]; LEVELS],
    /// Per level-0 slot: an upper bound on the deadlines in it, exact unless an entry was
    /// removed since the slot was last empty.
    latest_ns: [u64; SLOTS],
    overflow: List,
    /// Tick at which the overflow list must be re-examined (`u64::MAX` when it is empty). A
    /// lower bound: removals do not raise it, which only costs an early re-examination.
    overflow_tick: u64,
    expired: List,
}

// SAFETY: the raw node pointers are only dereferenced through `&mut Wheel` / `&Wheel`, and
// the wheel lives behind the driver's mutex (rule 1), so moving it between threads moves the
// only access path with it.
unsafe impl Send for Wheel {}

impl Wheel {
    pub(crate) fn new() -> Self {
        Self {
            elapsed: 0,
            now_ns: 0,
            occupied: [0; LEVELS],
            slots: [[List::default(); SLOTS]; LEVELS],
            latest_ns: [0; SLOTS],
            overflow: List::default(),
            overflow_tick: u64::MAX,
            expired: List::default(),
        }
    }

    /// The latest time the wheel has been told about: a deadline not after it is due.
    pub(crate) fn now_ns(&self) -> u64 {
        self.now_ns
    }

    /// Whether `node` is in one of this wheel's lists.
    ///
    /// # Safety
    /// `node` is live; the caller holds the wheel.
    pub(crate) unsafe fn is_linked(&self, node: NonNull<Node>) -> bool {
        // SAFETY: live node, wheel held (rule 1).
        unsafe { links(node).list != ListId::Unlinked }
    }

    /// Links `node` to fire once the time reaches `deadline_ns`. A deadline that is not after
    /// the latest time the wheel has seen fires at the next `poll_expired`.
    ///
    /// # Safety
    /// `node` is live, unlinked, and stays at its address until it is removed or handed back
    /// by `poll_expired` (rule 2); the caller holds `&mut Wheel`.
    pub(crate) unsafe fn insert(&mut self, node: NonNull<Node>, deadline_ns: u64) {
        debug_assert!(
            // SAFETY: as the caller guarantees.
            unsafe { !self.is_linked(node) },
            "node inserted twice"
        );
        if deadline_ns <= self.now_ns {
            // SAFETY: forwarded from the caller.
            unsafe { self.expired.push_front(node, ListId::Expired, deadline_ns) };
            return;
        }
        let tick = deadline_ns / NS_PER_TICK;
        // `deadline_ns > now_ns` puts `tick` at or after the tick of `now_ns`, which is at or
        // after `elapsed`.
        debug_assert!(tick >= self.elapsed);
        let level = level_for(self.elapsed, tick);
        if level >= LEVELS {
            // SAFETY: forwarded from the caller.
            unsafe {
                self.overflow
                    .push_front(node, ListId::Overflow, deadline_ns)
            };
            self.overflow_tick = self.overflow_tick.min(block_start(tick));
            return;
        }
        let slot = slot_for(tick, level);
        let id = ListId::Slot {
            level: level as u8,
            slot: slot as u8,
        };
        // SAFETY: forwarded from the caller.
        unsafe { self.slots[level][slot].push_front(node, id, deadline_ns) };
        self.occupied[level] |= 1 << slot;
        if level == 0 {
            self.latest_ns[slot] = self.latest_ns[slot].max(deadline_ns);
        }
    }

    /// Unlinks `node` if it is linked; it will not be handed out by `poll_expired`.
    ///
    /// # Safety
    /// `node` is live; the caller holds `&mut Wheel`.
    pub(crate) unsafe fn remove(&mut self, node: NonNull<Node>) {
        // SAFETY: live node, wheel exclusively held (rule 1); the node is a member of the list
        // its `list` field names.
        unsafe {
            match links(node).list {
                ListId::Unlinked => {}
                ListId::Slot { level, slot } => {
                    let (level, slot) = (level as usize, slot as usize);
                    self.slots[level][slot].unlink(node);
                    if self.slots[level][slot].is_empty() {
                        self.clear_slot(level, slot);
                    }
                }
                ListId::Overflow => {
                    self.overflow.unlink(node);
                    if self.overflow.is_empty() {
                        self.overflow_tick = u64::MAX;
                    }
                }
                ListId::Expired => self.expired.unlink(node),
            }
        }
    }

    fn clear_slot(&mut self, level: usize, slot: usize) {
        self.occupied[level] &= !(1 << slot);
        if level == 0 {
            self.latest_ns[slot] = 0;
        }
    }

    /// The time (ns) at which `poll_expired` will next have something to do: fire a slot or
    /// cascade one. `None` when the wheel is empty. It may be in the past.
    ///
    /// Every linked node's deadline is at or after the returned time, unless it is already
    /// due, and a node of level-0 slot `s` is always due at `latest_ns[s]`, at the latest the
    /// last nanosecond of its tick.
    pub(crate) fn next_wake_ns(&self) -> Option<u64> {
        if !self.expired.is_empty() {
            return Some(self.now_ns);
        }
        Some(match self.next()? {
            Next::Fire { slot, .. } => self.latest_ns[slot],
            Next::Cascade { tick, .. } | Next::Overflow { tick } => {
                tick.saturating_mul(NS_PER_TICK)
            }
        })
    }

    fn next(&self) -> Option<Next> {
        let level = self.occupied.iter().position(|&bits| bits != 0);
        let Some(level) = level else {
            return (!self.overflow.is_empty()).then_some(Next::Overflow {
                tick: self.overflow_tick,
            });
        };
        // No slot of this level lies before `elapsed`'s own slot (see the module docs), so the
        // first set bit is the next one in time.
        let slot = self.occupied[level].trailing_zeros() as usize;
        debug_assert!(slot >= slot_for(self.elapsed, level));
        let level_span_bits = SLOT_BITS * (level as u32 + 1);
        let block = self.elapsed & !((1u64 << level_span_bits) - 1);
        let tick = block + ((slot as u64) << (SLOT_BITS * level as u32));
        Some(if level == 0 {
            Next::Fire { slot, tick }
        } else {
            Next::Cascade { level, slot, tick }
        })
    }

    /// Tells the wheel the time is `now_ns` and hands back one node that is due, unlinked,
    /// or `None` when nothing more is due. Call it until it returns `None`.
    ///
    /// The wheel never goes back in time: an earlier `now_ns` than before is taken as the
    /// later one.
    pub(crate) fn poll_expired(&mut self, now_ns: u64) -> Option<NonNull<Node>> {
        self.now_ns = self.now_ns.max(now_ns);
        let now_ns = self.now_ns;
        let now_tick = now_ns / NS_PER_TICK;
        loop {
            // SAFETY: every node in the wheel's lists is live (rule 2); `&mut self` is held.
            if let Some(node) = unsafe { self.expired.pop_front() } {
                return Some(node);
            }
            match self.next() {
                None => {
                    self.elapsed = self.elapsed.max(now_tick);
                    return None;
                }
                Some(Next::Fire { slot, tick }) => {
                    if tick < now_tick || self.latest_ns[slot] <= now_ns {
                        self.elapsed = tick;
                        let list = &mut self.slots[0][slot];
                        // SAFETY: the slot's nodes are live (rule 2) and the wheel is held
                        // exclusively; the occupied bit says the slot is not empty.
                        let node = unsafe { list.pop_front() };
                        if list.is_empty() {
                            self.clear_slot(0, slot);
                        }
                        return node;
                    }
                    // `tick >= now_tick` here: moving to `now_tick` skips no occupied slot.
                    self.elapsed = now_tick;
                    return None;
                }
                Some(Next::Cascade { level, slot, tick }) => {
                    if tick > now_tick {
                        self.elapsed = now_tick;
                        return None;
                    }
                    self.elapsed = tick;
                    let list = std::mem::take(&mut self.slots[level][slot]);
                    self.clear_slot(level, slot);
                    // SAFETY: the taken list's nodes are live (rule 2) and the wheel is
                    // exclusively held.
                    unsafe { self.reinsert_all(list) };
                }
                Some(Next::Overflow { tick }) => {
                    if tick > now_tick {
                        self.elapsed = now_tick;
                        return None;
                    }
                    self.elapsed = tick;
                    let list = std::mem::take(&mut self.overflow);
                    self.overflow_tick = u64::MAX;
                    // SAFETY: the overflow list's nodes are live (rule 2) and the wheel is
                    // exclusively held.
                    unsafe { self.reinsert_all(list) };
                }
            }
        }
    }

    /// Re-inserts every node of a list taken out of the wheel, relative to the current tick.
    ///
    /// # Safety
    /// The list's nodes are live; the caller holds `&mut Wheel`.
    unsafe fn reinsert_all(&mut self, mut list: List) {
        // SAFETY: forwarded from the caller; each node is unlinked by `pop_front` before it is
        // inserted again.
        unsafe {
            while let Some(node) = list.pop_front() {
                let deadline_ns = links(node).deadline_ns;
                self.insert(node, deadline_ns);
            }
        }
    }

    /// Unlinks every node and hands it to `f` (used when the driver shuts down).
    pub(crate) fn drain(&mut self, mut f: impl FnMut(NonNull<Node>)) {
        let mut lists = vec![
            std::mem::take(&mut self.expired),
            std::mem::take(&mut self.overflow),
        ];
        for level in 0..LEVELS {
            for slot in 0..SLOTS {
                lists.push(std::mem::take(&mut self.slots[level][slot]));
            }
            self.occupied[level] = 0;
        }
        self.latest_ns = [0; SLOTS];
        self.overflow_tick = u64::MAX;
        for mut list in lists {
            // SAFETY: the nodes of the wheel's lists are live (rule 2); `&mut self` is held.
            while let Some(node) = unsafe { list.pop_front() } {
                f(node);
            }
        }
    }
}

/// The level at which a node for `tick` goes when the current tick is `elapsed`
/// (`>= LEVELS` means overflow).
fn level_for(elapsed: u64, tick: u64) -> usize {
    // `| (SLOTS - 1)` keeps ticks of the current 64-tick block at level 0.
    let differing = (elapsed ^ tick) | (SLOTS as u64 - 1);
    let highest_bit = 63 - differing.leading_zeros();
    (highest_bit / SLOT_BITS) as usize
}

fn slot_for(tick: u64, level: usize) -> usize {
    ((tick >> (SLOT_BITS * level as u32)) as usize) & (SLOTS - 1)
}

/// The first tick of the `2^RANGE_BITS` block holding `tick`: from there it fits the levels.
fn block_start(tick: u64) -> u64 {
    tick & !((1u64 << RANGE_BITS) - 1)
}

#[cfg(all(test, not(loom)))]
mod tests;
