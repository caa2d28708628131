//! Readiness slots: what the reactor knows about each registered source, and who waits on it.
//!
//! This module holds the whole lock-free part of the reactor and nothing that needs a real
//! poller, so loom can model it (see the tests at the bottom). The driver only feeds it
//! `(key, readiness)` pairs; sources only ask it "am I ready, and if not, wake me".
//!
//! # The protocol
//!
//! 1. **Readiness word.** Each [`Slot`] has one atomic word holding the `READABLE`, `WRITABLE`,
//!    `HANGUP` and `SHUTDOWN` bits and a *tick*: a counter the driver bumps every time it
//!    delivers an event to the slot. Only the driver sets readiness bits (rule 3); operations
//!    only clear them (rules 4 and 10); `HANGUP` (rule 10) and `SHUTDOWN` (rule 7) are set once
//!    and never cleared.
//! 2. **Waiting.** A task that finds its direction not ready takes the slot's waiter lock,
//!    loads the word *again*, and only if it is still not ready stores its waker before
//!    releasing the lock. A waker lives either in the direction's single *poll slot* (the
//!    `poll_*` methods, which have nowhere to keep state between calls: last caller wins, as
//!    with any `AsyncRead`) or in the waiter's own entry of the direction's *waiter list* (the
//!    futures returned by async methods, any number of them).
//! 3. **Delivering.** The driver publishes readiness into the word (bits set, tick + 1) with an
//!    `AcqRel` read-modify-write *before* it takes the waiter lock; then, under the lock, it
//!    takes every waker of the directions that became ready, and wakes them after releasing
//!    it. With rule 2 no wake-up is lost: either the waiter's critical section comes first
//!    (its waker is there to be taken) or the driver's does (the waiter's re-load under the
//!    lock sees the bits the driver published before locking).
//! 4. **Clearing.** An operation that got `WouldBlock` clears the direction it was told was
//!    ready, and only if the tick is still the one it was told (compare-and-swap). An event
//!    that came after the operation looked carries a newer tick and is never erased, which is
//!    what makes edge-triggered registration safe: the edge that would not come again is
//!    still recorded.
//! 5. **Every waiter.** Delivering wakes every waker of the direction: the poll slot and every
//!    list entry. A list entry belongs to one future: taking its waker leaves the entry in
//!    place, and only that future removes it (when it sees readiness or is dropped), so a
//!    dropped future never strands another's registration.
//! 6. **Keys and generations.** A poller key is `(slab index, generation)`. The table lock
//!    guards the slab; a lookup compares the whole key under that lock, and removal happens
//!    under it too, so a removed slot is never found. A new slot at a reused index gets a new
//!    generation, so a stale event carrying the old key finds a mismatch and is dropped. An
//!    event looked up just before its slot was removed lands on that old slot, which no live
//!    source uses: it reaches nobody.
//! 7. **Shutdown.** The table's shutdown flag is set under the table lock, after which no slot
//!    can be inserted; every slot present gets `SHUTDOWN` with the ordering of rule 3 and all
//!    its waiters are woken. A waiter that sees `SHUTDOWN` fails with [`shutdown_error`].
//! 8. **Deregistration order.** A source is deleted from the poller before its slot is removed
//!    from the table and before its file descriptor is closed (the contract of
//!    `polling::Poller::add`). The owner of the descriptor (`Async<T>`) enforces it.
//! 9. **Oneshot fallback.** Where edge-triggered mode is missing, each event disarms the
//!    source. Then the driver wakes *both* directions on any event, and a waiter that stores
//!    its waker re-arms the source, while still holding the waiter lock, for every direction
//!    that has a waker stored: re-arming under the lock keeps two waiters of different
//!    directions from overwriting each other's interest.
//! 10. **Drained.** An operation that *succeeded* may also clear the direction, with rule 4's
//!     compare-and-swap on the tick it was told, when the kernel said the operation left
//!     nothing behind (a TCP read whose `TCP_INQ` hint is 0): the next operation then waits
//!     instead of making a system call that would only return `WouldBlock`. Anything that
//!     arrives after the hint was computed raises a new edge, so a newer tick, as in rule 4.
//!     What raises no new edge is a hang-up or error that had already arrived (a reset queued
//!     behind the data): the driver records it as the sticky `HANGUP` bit, and a drained clear
//!     licensed by a word with `HANGUP` does nothing, so the next read gets to see the end. (A
//!     peer's plain `FIN` needs no bit: the kernel's hint stays non-zero after one.)

use std::io;
use std::task::{Context, Poll, Waker};

use slab::Slab;

use crate::sync::{Arc, AtomicUsize, Mutex, Ordering};

pub(crate) const READABLE: usize = 0b001;
pub(crate) const WRITABLE: usize = 0b010;
const SHUTDOWN: usize = 0b100;
/// Rule 10: the source reported a hang-up or an error; never cleared.
pub(crate) const HANGUP: usize = 0b1000;
const READY_MASK: usize = READABLE | WRITABLE;
const STICKY: usize = SHUTDOWN | HANGUP;
const TICK_SHIFT: u32 = 4;

/// The error every operation on a source returns once its runtime has shut down.
pub(crate) fn shutdown_error() -> io::Error {
    io::Error::other("the Spindle runtime this IO resource belongs to has shut down")
}

/// Which readiness an operation waits for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Direction {
    Read,
    Write,
}

impl Direction {
    fn mask(self) -> usize {
        match self {
            Direction::Read => READABLE,
            Direction::Write => WRITABLE,
        }
    }

    fn index(self) -> usize {
        match self {
            Direction::Read => 0,
            Direction::Write => 1,
        }
    }
}

/// Readiness as an operation observed it: what to clear, and the tick that licenses it.
#[derive(Clone, Copy, Debug)]
pub(crate) struct ReadyEvent {
    tick: usize,
    ready: usize,
    /// Rule 10: the word carried `HANGUP`, so no drained clear.
    hangup: bool,
}

/// Where a waiting task keeps its waker (rule 2).
pub(crate) enum Waiter<'a> {
    /// The direction's single poll slot.
    PollSlot,
    /// An entry of the direction's waiter list; `None` until the first time it must wait.
    Entry(&'a mut Option<usize>),
}

#[derive(Default)]
struct DirectionWaiters {
    poll: Option<Waker>,
    list: Slab<Option<Waker>>,
}

impl DirectionWaiters {
    fn has_waker(&self) -> bool {
        self.poll.is_some() || self.list.iter().any(|(_, w)| w.is_some())
    }

    fn take_all(&mut self, out: &mut Vec<Waker>) {
        out.extend(self.poll.take());
        out.extend(self.list.iter_mut().filter_map(|(_, w)| w.take()));
    }
}

#[derive(Default)]
struct Waiters {
    directions: [DirectionWaiters; 2],
}

/// Everything the reactor knows about one registered source.
pub(crate) struct Slot {
    key: usize,
    readiness: AtomicUsize,
    waiters: Mutex<Waiters>,
}

fn tick_of(word: usize) -> usize {
    word >> TICK_SHIFT
}

impl Slot {
    fn new(key: usize) -> Self {
        Slot {
            key,
            readiness: AtomicUsize::new(0),
            waiters: Mutex::new(Waiters::default()),
        }
    }

    /// The poller key events for this slot carry (rule 6).
    pub(crate) fn key(&self) -> usize {
        self.key
    }

    /// Records an event (rules 1 and 3) and collects the wakers to wake into `wake`. `ready`
    /// may carry [`HANGUP`] (rule 10) beside the directions.
    ///
    /// `wake_both` is rule 9's oneshot fallback.
    pub(crate) fn set_readiness(&self, ready: usize, wake_both: bool, wake: &mut Vec<Waker>) {
        let hangup = ready & HANGUP;
        let ready = ready & READY_MASK;
        let mut current = self.readiness.load(Ordering::Relaxed);
        loop {
            let tick = tick_of(current).wrapping_add(1);
            let next = (tick << TICK_SHIFT) | (current & (READY_MASK | STICKY)) | ready | hangup;
            match self.readiness.compare_exchange_weak(
                current,
                next,
                Ordering::AcqRel,
                Ordering::Relaxed,
            ) {
                Ok(_) => break,
                Err(actual) => current = actual,
            }
        }
        self.take_wakers(if wake_both { READY_MASK } else { ready }, wake);
    }

    /// Marks the slot shut down and collects every waker into `wake` (rule 7).
    pub(crate) fn shutdown(&self, wake: &mut Vec<Waker>) {
        self.readiness.fetch_or(SHUTDOWN, Ordering::AcqRel);
        self.take_wakers(READY_MASK, wake);
    }

    fn take_wakers(&self, directions: usize, wake: &mut Vec<Waker>) {
        if directions == 0 {
            return;
        }
        // Rule 3: the readiness word is already published; the lock orders us against any
        // waiter that is between its re-load and storing its waker.
        let mut waiters = self.waiters.lock();
        for direction in [Direction::Read, Direction::Write] {
            if directions & direction.mask() != 0 {
                waiters.directions[direction.index()].take_all(wake);
            }
        }
    }

    /// Clears what `event` reported, unless a newer event has come since (rule 4).
    pub(crate) fn clear_readiness(&self, event: ReadyEvent) {
        let mut current = self.readiness.load(Ordering::Acquire);
        while tick_of(current) == event.tick && current & event.ready != 0 {
            match self.readiness.compare_exchange_weak(
                current,
                current & !event.ready,
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => return,
                Err(actual) => current = actual,
            }
        }
    }

    /// Clears what `event` reported after an operation that succeeded and left nothing to
    /// read or room to write, unless a newer event came or a hang-up is recorded (rule 10).
    pub(crate) fn clear_drained(&self, event: ReadyEvent) {
        if !event.hangup {
            self.clear_readiness(event);
        }
    }

    fn check(word: usize, direction: Direction) -> Option<io::Result<ReadyEvent>> {
        if word & SHUTDOWN != 0 {
            Some(Err(shutdown_error()))
        } else if word & direction.mask() != 0 {
            Some(Ok(ReadyEvent {
                tick: tick_of(word),
                ready: direction.mask(),
                hangup: word & HANGUP != 0,
            }))
        } else {
            None
        }
    }

    /// Whether `direction` is ready; if not, registers `cx`'s waker (rule 2).
    ///
    /// `arm` runs under the waiter lock right after a waker was stored, with the directions
    /// that now have wakers: rule 9's re-arm. Edge-triggered callers pass a no-op.
    pub(crate) fn poll_ready(
        &self,
        direction: Direction,
        cx: &mut Context<'_>,
        waiter: Waiter<'_>,
        arm: impl FnOnce(usize) -> io::Result<()>,
    ) -> Poll<io::Result<ReadyEvent>> {
        // Without a list entry to give back, readiness needs no lock.
        let holds_entry = matches!(&waiter, Waiter::Entry(Some(_)));
        if !holds_entry
            && let Some(result) = Self::check(self.readiness.load(Ordering::Acquire), direction)
        {
            return Poll::Ready(result);
        }

        let mut waiters = self.waiters.lock();
        // Rule 2: this load is ordered after the driver's publish if the driver locked first.
        let word = self.readiness.load(Ordering::Acquire);
        let list = &mut waiters.directions[direction.index()];
        if let Some(result) = Self::check(word, direction) {
            if let Waiter::Entry(entry) = waiter
                && let Some(key) = entry.take()
            {
                list.list.remove(key);
            }
            return Poll::Ready(result);
        }

        let new = cx.waker();
        match waiter {
            Waiter::PollSlot => match &mut list.poll {
                Some(old) if old.will_wake(new) => {}
                slot => *slot = Some(new.clone()),
            },
            Waiter::Entry(entry) => match entry {
                Some(key) => match &mut list.list[*key] {
                    Some(old) if old.will_wake(new) => {}
                    slot => *slot = Some(new.clone()),
                },
                None => *entry = Some(list.list.insert(Some(new.clone()))),
            },
        }

        let interest = [Direction::Read, Direction::Write]
            .into_iter()
            .filter(|d| waiters.directions[d.index()].has_waker())
            .fold(0, |acc, d| acc | d.mask());
        arm(interest)?;
        Poll::Pending
    }

    /// Drops a future's list entry (rule 5).
    pub(crate) fn remove_waiter(&self, direction: Direction, key: usize) {
        let mut waiters = self.waiters.lock();
        waiters.directions[direction.index()].list.try_remove(key);
    }
}

const INDEX_BITS: u32 = usize::BITS / 2;
const INDEX_MASK: usize = (1 << INDEX_BITS) - 1;
// One bit short of the rest of the word, so no key is `usize::MAX` (polling reserves it).
const GENERATION_MASK: usize = (1 << (usize::BITS - INDEX_BITS - 1)) - 1;

fn index_of(key: usize) -> usize {
    key & INDEX_MASK
}

struct TableInner {
    slab: Slab<Arc<Slot>>,
    next_generation: usize,
    shutdown: bool,
}

/// Maps poller keys to slots (rule 6).
pub(crate) struct SlotTable {
    inner: Mutex<TableInner>,
    /// Registered sources, read without the lock by the driver's non-blocking poll. A
    /// heuristic, not part of the protocol: a stale read only delays events to the next poll.
    registered: AtomicUsize,
}

impl SlotTable {
    pub(crate) fn new() -> Self {
        SlotTable {
            inner: Mutex::new(TableInner {
                slab: Slab::new(),
                next_generation: 0,
                shutdown: false,
            }),
            registered: AtomicUsize::new(0),
        }
    }

    /// Whether no source is registered (so a non-blocking poll has nothing to find).
    pub(crate) fn is_empty(&self) -> bool {
        self.registered.load(Ordering::Relaxed) == 0
    }

    /// A fresh slot with a key no earlier slot had at its index (modulo generation wrap).
    pub(crate) fn insert(&self) -> io::Result<Arc<Slot>> {
        let mut inner = self.inner.lock();
        if inner.shutdown {
            return Err(shutdown_error());
        }
        let generation = inner.next_generation;
        inner.next_generation = (generation + 1) & GENERATION_MASK;
        let entry = inner.slab.vacant_entry();
        let index = entry.key();
        if index > INDEX_MASK {
            return Err(io::Error::other(
                "too many IO sources registered with one Spindle runtime",
            ));
        }
        let slot = Arc::new(Slot::new((generation << INDEX_BITS) | index));
        entry.insert(slot.clone());
        self.registered.fetch_add(1, Ordering::Relaxed);
        Ok(slot)
    }

    /// Forgets `slot`; a no-op if it is already gone (after shutdown, say).
    pub(crate) fn remove(&self, slot: &Slot) {
        let mut inner = self.inner.lock();
        let index = index_of(slot.key());
        if inner.slab.get(index).is_some_and(|s| s.key() == slot.key()) {
            inner.slab.remove(index);
            self.registered.fetch_sub(1, Ordering::Relaxed);
        }
    }

    /// Looks up each event's slot, keeping those whose key still matches (rule 6).
    pub(crate) fn resolve(
        &self,
        events: impl Iterator<Item = (usize, usize)>,
        out: &mut Vec<(Arc<Slot>, usize)>,
    ) {
        let inner = self.inner.lock();
        for (key, ready) in events {
            if let Some(slot) = inner.slab.get(index_of(key))
                && slot.key() == key
            {
                out.push((slot.clone(), ready));
            }
        }
    }

    /// Refuses new slots and shuts down every present one (rule 7).
    pub(crate) fn shutdown(&self, wake: &mut Vec<Waker>) {
        let slots: Vec<Arc<Slot>> = {
            let mut inner = self.inner.lock();
            inner.shutdown = true;
            self.registered.store(0, Ordering::Relaxed);
            inner.slab.drain().collect()
        };
        for slot in slots {
            slot.shutdown(wake);
        }
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicBool;
    use std::task::Wake;

    struct Flag(AtomicBool);
    impl Wake for Flag {
        fn wake(self: std::sync::Arc<Self>) {
            self.0.store(true, std::sync::atomic::Ordering::SeqCst);
        }
    }

    fn no_arm(_: usize) -> io::Result<()> {
        Ok(())
    }

    #[test]
    fn stale_key_after_reuse_is_dropped() {
        let table = SlotTable::new();
        let old = table.insert().unwrap();
        let old_key = old.key();
        table.remove(&old);
        let new = table.insert().unwrap();
        assert_eq!(index_of(new.key()), index_of(old_key));
        assert_ne!(new.key(), old_key);
        let mut out = Vec::new();
        table.resolve([(old_key, READABLE)].into_iter(), &mut out);
        assert!(out.is_empty());
        table.resolve([(new.key(), READABLE)].into_iter(), &mut out);
        assert_eq!(out.len(), 1);
    }

    #[test]
    fn keys_never_collide_with_the_reserved_one() {
        let key = (GENERATION_MASK << INDEX_BITS) | INDEX_MASK;
        assert_ne!(key, usize::MAX);
    }

    #[test]
    fn clear_spares_a_newer_event() {
        let table = SlotTable::new();
        let slot = table.insert().unwrap();
        let mut wake = Vec::new();
        slot.set_readiness(READABLE, false, &mut wake);
        let flag = std::sync::Arc::new(Flag(AtomicBool::new(false)));
        let waker = Waker::from(flag.clone());
        let mut cx = Context::from_waker(&waker);
        let Poll::Ready(Ok(event)) =
            slot.poll_ready(Direction::Read, &mut cx, Waiter::PollSlot, no_arm)
        else {
            panic!("expected readiness");
        };
        slot.set_readiness(READABLE, false, &mut wake);
        slot.clear_readiness(event);
        assert!(
            slot.poll_ready(Direction::Read, &mut cx, Waiter::PollSlot, no_arm)
                .is_ready()
        );
    }

    #[test]
    fn every_list_waiter_is_woken() {
        let table = SlotTable::new();
        let slot = table.insert().unwrap();
        let flags: Vec<_> = (0..5)
            .map(|_| std::sync::Arc::new(Flag(AtomicBool::new(false))))
            .collect();
        let mut entries = vec![None; flags.len()];
        for (flag, entry) in flags.iter().zip(&mut entries) {
            let waker = Waker::from(flag.clone());
            let mut cx = Context::from_waker(&waker);
            let poll = slot.poll_ready(Direction::Read, &mut cx, Waiter::Entry(entry), no_arm);
            assert!(poll.is_pending());
        }
        let mut wake = Vec::new();
        slot.set_readiness(WRITABLE, false, &mut wake);
        assert!(wake.is_empty(), "a write event woke readers");
        slot.set_readiness(READABLE, false, &mut wake);
        assert_eq!(wake.len(), flags.len());
        wake.drain(..).for_each(Waker::wake);
        assert!(
            flags
                .iter()
                .all(|f| f.0.load(std::sync::atomic::Ordering::SeqCst))
        );
        for entry in &mut entries {
            slot.remove_waiter(Direction::Read, entry.take().unwrap());
        }
    }
}

#[cfg(all(test, loom))]
mod loom_tests {
    //! Each model names the rules it checks. Waiters block in `loom::future::block_on` (or
    //! `park_on`, which never wakes spuriously), so a lost wake-up shows up as a deadlock loom
    //! reports; where a waiter cannot block, a counting waker says how often it was woken and
    //! whether a clone of it was left behind.

    use super::*;
    use loom::thread;
    use std::future::poll_fn;

    fn no_arm(_: usize) -> io::Result<()> {
        Ok(())
    }

    /// Waits, through the poll slot, until the slot is readable.
    fn wait_readable(slot: &Slot) -> ReadyEvent {
        loom::future::block_on(poll_fn(|cx| {
            slot.poll_ready(Direction::Read, cx, Waiter::PollSlot, no_arm)
        }))
        .unwrap()
    }

    fn deliver(slot: &Slot, ready: usize) {
        let mut wake = Vec::new();
        slot.set_readiness(ready, false, &mut wake);
        wake.into_iter().for_each(Waker::wake);
    }

    /// A waker that counts its wakes. The counter is a std atomic: it is read only after the
    /// threads that wake have been joined, so it needs no modelling and adds no interleavings.
    #[derive(Default)]
    struct Counter(std::sync::atomic::AtomicUsize);

    impl std::task::Wake for Counter {
        fn wake(self: std::sync::Arc<Self>) {
            self.wake_by_ref();
        }

        fn wake_by_ref(self: &std::sync::Arc<Self>) {
            self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        }
    }

    impl Counter {
        fn new() -> (std::sync::Arc<Counter>, Waker) {
            let counter = std::sync::Arc::new(Counter::default());
            (counter.clone(), Waker::from(counter))
        }

        fn wakes(&self) -> usize {
            self.0.load(std::sync::atomic::Ordering::SeqCst)
        }

        /// Clones of the waker still held anywhere (a slot's poll slot or waiter list, a wake
        /// batch), the test's own handle aside: a waker the protocol leaks keeps this above 0.
        fn live(self: &std::sync::Arc<Self>) -> usize {
            std::sync::Arc::strong_count(self) - 1
        }
    }

    /// What an async method's readiness future (`registration::Readiness`) does with its
    /// waiter-list entry, minus the poller: poll through the entry, remove it on drop.
    struct ListWaiter<'a> {
        slot: &'a Slot,
        direction: Direction,
        entry: Option<usize>,
    }

    impl<'a> ListWaiter<'a> {
        fn new(slot: &'a Slot, direction: Direction) -> Self {
            ListWaiter {
                slot,
                direction,
                entry: None,
            }
        }

        fn poll(&mut self, waker: &Waker) -> Poll<io::Result<ReadyEvent>> {
            let mut cx = Context::from_waker(waker);
            let waiter = Waiter::Entry(&mut self.entry);
            self.slot
                .poll_ready(self.direction, &mut cx, waiter, no_arm)
        }
    }

    impl Drop for ListWaiter<'_> {
        fn drop(&mut self) {
            if let Some(key) = self.entry.take() {
                self.slot.remove_waiter(self.direction, key);
            }
        }
    }

    /// Rules 2 and 3: readiness that arrives while a task registers its waker is never lost,
    /// for the poll slot and for list entries alike.
    #[test]
    fn readiness_racing_registration_wakes_the_waiter() {
        loom::model(|| {
            let table = SlotTable::new();
            let slot = table.insert().unwrap();
            let driver = {
                let slot = slot.clone();
                thread::spawn(move || deliver(&slot, READABLE))
            };
            let mut entry = None;
            let result = loom::future::block_on(poll_fn(|cx| {
                slot.poll_ready(Direction::Read, cx, Waiter::Entry(&mut entry), no_arm)
            }));
            assert!(result.is_ok());
            assert!(entry.is_none(), "a ready waiter keeps no entry");
            let result = loom::future::block_on(poll_fn(|cx| {
                slot.poll_ready(Direction::Read, cx, Waiter::PollSlot, no_arm)
            }));
            assert!(result.is_ok());
            driver.join().unwrap();
        });
    }

    /// Rules 2, 3 and 5: two tasks waiting in the same direction are both woken by one event.
    #[test]
    fn one_event_wakes_every_waiter() {
        loom::model(|| {
            let table = SlotTable::new();
            let slot = table.insert().unwrap();
            let waiter = {
                let slot = slot.clone();
                thread::spawn(move || {
                    let mut entry = None;
                    loom::future::block_on(poll_fn(|cx| {
                        slot.poll_ready(Direction::Write, cx, Waiter::Entry(&mut entry), no_arm)
                    }))
                    .unwrap();
                })
            };
            let driver = {
                let slot = slot.clone();
                thread::spawn(move || deliver(&slot, WRITABLE))
            };
            let mut entry = None;
            loom::future::block_on(poll_fn(|cx| {
                slot.poll_ready(Direction::Write, cx, Waiter::Entry(&mut entry), no_arm)
            }))
            .unwrap();
            waiter.join().unwrap();
            driver.join().unwrap();
        });
    }

    /// A readable slot, and a driver thread delivering `ready` to it once more.
    fn readable_then_delivering(ready: usize) -> (SlotTable, Arc<Slot>, thread::JoinHandle<()>) {
        let table = SlotTable::new();
        let slot = table.insert().unwrap();
        deliver(&slot, READABLE);
        let driver = {
            let slot = slot.clone();
            thread::spawn(move || deliver(&slot, ready))
        };
        (table, slot, driver)
    }

    /// Rule 4: an operation clearing readiness it saw never erases an event that came later.
    #[test]
    fn clear_never_erases_a_newer_event() {
        loom::model(|| {
            let (_table, slot, driver) = readable_then_delivering(READABLE);
            // The operation saw readiness, then got WouldBlock, and clears.
            slot.clear_readiness(wait_readable(&slot));
            // Whether the second event landed before or after the clear, it must be visible
            // now or wake us later: waiting must finish.
            wait_readable(&slot);
            driver.join().unwrap();
        });
    }

    /// Rule 10: a drained clear, like rule 4's, never erases a newer event; and once a
    /// hang-up is recorded it clears nothing, so the read that comes next is not left waiting
    /// for an edge that will never come.
    #[test]
    fn drained_clear_spares_newer_events_and_hangups() {
        loom::model(|| {
            let (_table, slot, driver) = readable_then_delivering(READABLE | HANGUP);
            // A read took data and the kernel said nothing is left.
            slot.clear_drained(wait_readable(&slot));
            // The hang-up came before or after the clear: either way it is seen.
            let event = wait_readable(&slot);
            driver.join().unwrap();
            // The read after the hang-up gets data again and drains: still readable.
            let event = if event.hangup {
                event
            } else {
                wait_readable(&slot)
            };
            slot.clear_drained(event);
            let mut cx = Context::from_waker(Waker::noop());
            assert!(
                slot.poll_ready(Direction::Read, &mut cx, Waiter::PollSlot, no_arm)
                    .is_ready()
            );
        });
    }

    /// Rule 6: a stale event for a removed slot never reaches the source that reuses its index.
    #[test]
    fn stale_event_never_reaches_a_reused_slot() {
        loom::model(|| {
            let table = Arc::new(SlotTable::new());
            let old = table.insert().unwrap();
            let stale_key = old.key();
            let driver = {
                let table = table.clone();
                thread::spawn(move || {
                    let mut found = Vec::new();
                    table.resolve([(stale_key, READABLE)].into_iter(), &mut found);
                    for (slot, ready) in found {
                        deliver(&slot, ready);
                    }
                })
            };
            table.remove(&old);
            let new = table.insert().unwrap();
            driver.join().unwrap();
            let mut cx = Context::from_waker(Waker::noop());
            let poll = new.poll_ready(Direction::Read, &mut cx, Waiter::PollSlot, no_arm);
            assert!(poll.is_pending(), "the new source saw the old one's event");
        });
    }

    /// Rule 7: shutting down wakes a task that is registering concurrently, and it fails.
    #[test]
    fn shutdown_wakes_waiters_with_an_error() {
        loom::model(|| {
            let table = Arc::new(SlotTable::new());
            let slot = table.insert().unwrap();
            let driver = {
                let table = table.clone();
                thread::spawn(move || {
                    let mut wake = Vec::new();
                    table.shutdown(&mut wake);
                    wake.into_iter().for_each(Waker::wake);
                })
            };
            let mut entry = None;
            let result = loom::future::block_on(poll_fn(|cx| {
                slot.poll_ready(Direction::Read, cx, Waiter::Entry(&mut entry), no_arm)
            }));
            assert!(result.is_err());
            driver.join().unwrap();
            assert!(table.insert().is_err());
        });
    }

    /// Rule 5, on three threads: one event wakes every waiter of its direction, the poll slot
    /// and each list entry, while another waiter's future is dropped concurrently. Whichever
    /// comes first, the drop costs no other waiter its wake (a waiter that got `Pending` is
    /// woken exactly once), every entry is removed by its own future (on readiness or on drop)
    /// and none is stranded, and no clone of any waker is left in the slot.
    #[test]
    fn dropped_waiter_costs_no_other_its_wake() {
        loom::model(|| {
            let table = SlotTable::new();
            let slot = table.insert().unwrap();
            let (dropped, dropped_waker) = Counter::new();
            let (listed, listed_waker) = Counter::new();
            let (polled, polled_waker) = Counter::new();
            let driver = {
                let slot = slot.clone();
                thread::spawn(move || deliver(&slot, READABLE))
            };
            let leaver = {
                let slot = slot.clone();
                thread::spawn(move || {
                    let mut waiter = ListWaiter::new(&slot, Direction::Read);
                    let _ = waiter.poll(&dropped_waker);
                    drop((waiter, dropped_waker));
                })
            };
            let mut waiter = ListWaiter::new(&slot, Direction::Read);
            let listed_first = waiter.poll(&listed_waker).is_pending();
            let mut cx = Context::from_waker(&polled_waker);
            let polled_first = slot
                .poll_ready(Direction::Read, &mut cx, Waiter::PollSlot, no_arm)
                .is_pending();
            driver.join().unwrap();
            leaver.join().unwrap();

            if listed_first {
                assert_eq!(listed.wakes(), 1, "a list waiter missed the event");
            }
            if polled_first {
                assert_eq!(polled.wakes(), 1, "the poll slot missed the event");
            }
            assert!(dropped.wakes() <= 1);
            assert!(waiter.poll(&listed_waker).is_ready());
            assert!(waiter.entry.is_none(), "a ready waiter keeps no entry");
            drop(waiter);
            {
                let waiters = slot.waiters.lock();
                let read = &waiters.directions[Direction::Read.index()];
                assert!(read.list.is_empty(), "an entry outlived its future");
                assert!(read.poll.is_none());
            }
            drop((listed_waker, polled_waker));
            let live = dropped.live() + listed.live() + polled.live();
            assert_eq!(live, 0, "a waker was left in the slot");
        });
    }

    /// A oneshot registration as the kernel keeps it: the interest armed, the descriptor's
    /// readiness. An event is due while an armed direction is ready (re-arming a ready
    /// descriptor reports it at once, as `EPOLL_CTL_MOD` does), and reporting it disarms the
    /// whole source.
    struct Oneshot {
        kernel: loom::sync::Mutex<Kernel>,
        changed: loom::sync::Condvar,
    }

    struct Kernel {
        armed: usize,
        ready: usize,
        closed: bool,
    }

    impl Oneshot {
        fn new(ready: usize) -> Self {
            Oneshot {
                kernel: loom::sync::Mutex::new(Kernel {
                    armed: 0,
                    ready,
                    closed: false,
                }),
                changed: loom::sync::Condvar::new(),
            }
        }

        fn update(&self, f: impl FnOnce(&mut Kernel)) {
            f(&mut self.kernel.lock().unwrap());
            self.changed.notify_one();
        }

        /// `Poller::modify`: the interest replaces the armed one.
        fn arm(&self, interest: usize) -> io::Result<()> {
            self.update(|kernel| kernel.armed = interest);
            Ok(())
        }

        /// `Poller::wait`: blocks until an event is due and reports it, disarming the source;
        /// `None` once closed.
        fn wait(&self) -> Option<usize> {
            let mut kernel = self.kernel.lock().unwrap();
            loop {
                if kernel.closed {
                    return None;
                }
                let event = kernel.armed & kernel.ready;
                if event != 0 {
                    kernel.armed = 0;
                    return Some(event);
                }
                kernel = self.changed.wait(kernel).unwrap();
            }
        }
    }

    /// Waits on `direction` through a list entry, re-arming `os` as rule 9 says.
    fn wait_oneshot(slot: &Slot, os: &Oneshot, direction: Direction) {
        let mut entry = None;
        crate::sync::park_on(poll_fn(|cx| {
            slot.poll_ready(direction, cx, Waiter::Entry(&mut entry), |interest| {
                os.arm(interest)
            })
        }))
        .unwrap();
        assert!(entry.is_none());
    }

    /// Rule 9, on three threads: a oneshot source, writable but not yet readable, with a
    /// reader and a writer waiting on it and the driver reporting its events with `wake_both`.
    /// The write event disarms the source, reader's interest included: the reader must be
    /// woken by it too (`wake_both`) so that it re-arms, or the later read event is never
    /// reported. Each waiter re-arms under the waiter lock for every direction with a waker,
    /// so neither can overwrite the other's interest with a stale one; an overwritten write
    /// interest is never reported either. A lost event leaves a waiter blocked: a loom
    /// deadlock.
    #[test]
    fn oneshot_rearm_keeps_both_directions() {
        loom::model(|| {
            let table = SlotTable::new();
            let slot = table.insert().unwrap();
            let os = Arc::new(Oneshot::new(WRITABLE));
            let driver = {
                let (slot, os) = (slot.clone(), os.clone());
                thread::spawn(move || {
                    while let Some(event) = os.wait() {
                        let mut wake = Vec::new();
                        slot.set_readiness(event, true, &mut wake);
                        wake.into_iter().for_each(Waker::wake);
                    }
                })
            };
            let reader = {
                let (slot, os) = (slot.clone(), os.clone());
                thread::spawn(move || wait_oneshot(&slot, &os, Direction::Read))
            };
            wait_oneshot(&slot, &os, Direction::Write);
            os.update(|kernel| kernel.ready |= READABLE);
            reader.join().unwrap();
            os.update(|kernel| kernel.closed = true);
            driver.join().unwrap();
        });
    }
}
