//! Timer entries and the protocol between their owner and the driver.
//!
//! A timer entry ([`TimerEntry`], inside every [`Sleep`](crate::Sleep)) holds, pinned in
//! place, an [`Entry`]: the wheel's [`Node`] plus a `fired` flag and a waker slot. The wheel
//! lists point at entries with raw pointers, so the owner (the task polling the `Sleep`) and
//! the driver (whichever thread fires timers) share the entry. They follow these rules; the
//! `SAFETY` comments and the loom models cite them by number.
//!
//! 1. **One lock.** The wheel, every linked entry's links and deadline, and every entry's
//!    waker slot are read and written only while holding the driver's state lock
//!    (`Shared::state`). The `fired` flag is the only part read without it.
//! 2. **Linked means alive.** An entry is linked into the wheel only while its owner is pinned
//!    and alive. The owner unlinks it under the lock before the entry's memory can go (drop)
//!    or change its deadline (reset), unless rule 4 applies.
//! 3. **Fire.** Under the lock, the driver unlinks the entry (`Wheel::poll_expired`), takes its
//!    waker, and then stores `fired = true` with `Release` as its very last access to the
//!    entry. It calls the waker only after releasing the lock.
//! 4. **Fired means free.** An owner that loads `fired == true` with `Acquire` may drop, move
//!    or reuse the entry without the lock: by rule 3 the driver is done with it and it is in
//!    no list.
//! 5. **Cancel and reset.** Drop and reset take the lock unless rule 4 applies. An entry whose
//!    `fired` is false is then either linked (they unlink it, after which the driver cannot
//!    reach it) or was never linked. Reset clears `fired` once the entry is unlinked (no other
//!    thread can reach it then) and before linking it again; it keeps the stored waker, which
//!    a later fire wakes, unless `fired` read again under the lock says the driver took it
//!    meanwhile. Both need the owner's `&mut`, so neither races a poll of the same entry.
//! 6. **Poll.** The owner reads `fired` (`Acquire`); if false, it stores its waker under the
//!    lock after reading `fired` again there. A fire therefore either happened before the
//!    lock (seen) or happens after it (and finds the new waker): no wake-up is lost. A later
//!    poll whose waker is the stored one (same data and vtable, as `Waker::will_wake`
//!    compares) skips the lock: the slot keeps that waker alive until a fire or shutdown,
//!    which the poll checks first.
//! 7. **Registration vs. the driver going to sleep.** Under the lock, before it parks, the
//!    driver records the time it will sleep toward (`State::sleeping_until`) and clears it
//!    under the lock when it wakes. A registration or reset that links an entry earlier than
//!    `sleeping_until` lowers it and unparks the inner driver after releasing the lock. An
//!    unpark that comes before the park is remembered by the `Park` contract, so the driver
//!    either saw the entry when it chose its timeout or is woken: an earlier deadline is
//!    never slept through.
//! 8. **Shutdown.** Under the lock, the driver marks the state shut down (also in an atomic
//!    copy, stored with `Release` before any waker is taken), unlinks every entry and takes its
//!    waker *without* setting `fired` (the deadline did not pass); it wakes them after the
//!    lock. The rule-6 fast path reads the atomic copy, so a woken owner takes the lock, finds
//!    `shutdown` there and panics with a message saying the runtime is gone. Its drop still
//!    takes the lock (rule 5) and finds the entry unlinked.

use std::marker::PhantomPinned;
use std::pin::Pin;
use std::ptr::NonNull;
use std::task::{Context, Poll, Waker};

use crate::Instant;
use crate::driver::Handle;
use crate::sync::{AtomicBool, Ordering, UnsafeCell};
use crate::wheel::Node;

/// The part of a timer entry that the driver touches.
///
/// `repr(C)` with the node first: the wheel hands back `NonNull<Node>`, which is then also a
/// pointer to its `Entry`.
#[repr(C)]
#[derive(Debug)]
pub(crate) struct Entry {
    node: Node,
    fired: AtomicBool,
    waker: UnsafeCell<Option<Waker>>,
}

// SAFETY: the node and the waker slot are only accessed under the driver's lock (rule 1) or by
// the owner once no other thread can reach the entry (rules 4 and 5); `fired` is atomic. The
// raw pointers inside the node only ever point at other entries of the same wheel.
unsafe impl Send for Entry {}
// SAFETY: as for `Send`: a shared `&Entry` only exposes the atomic `fired` without the lock.
unsafe impl Sync for Entry {}

impl Entry {
    fn new() -> Self {
        Self {
            node: Node::new(),
            fired: AtomicBool::new(false),
            waker: UnsafeCell::new(None),
        }
    }

    fn node_ptr(&self) -> NonNull<Node> {
        NonNull::from(&self.node)
    }
}

/// Driver side of rule 3: takes the waker of an entry the wheel just handed back, then marks
/// it fired. The caller wakes the waker after releasing the lock.
///
/// # Safety
/// `node` was just returned by `Wheel::poll_expired` (so it is the `node` field of a live
/// `Entry`, by rule 2) and the caller still holds the lock.
pub(crate) unsafe fn fire(node: NonNull<Node>) -> Option<Waker> {
    let entry = node.cast::<Entry>();
    // SAFETY: `Entry` is `repr(C)` with `node` first, so this is the live entry (rule 2). The
    // waker slot is accessed under the lock (rule 1).
    let waker = unsafe { entry.as_ref().waker.with_mut(|slot| (*slot).take()) };
    // SAFETY: still live: the owner cannot free it before it observes this store (rules 3, 5).
    // This store is the driver's last access to the entry (rule 3).
    unsafe { entry.as_ref().fired.store(true, Ordering::Release) };
    waker
}

/// Driver side of rule 8: takes the waker of an entry unlinked at shutdown, leaving `fired`
/// false.
///
/// # Safety
/// `node` was just unlinked from the wheel by `Wheel::drain`; the caller holds the lock.
pub(crate) unsafe fn take_waker_at_shutdown(node: NonNull<Node>) -> Option<Waker> {
    // SAFETY: as in `fire`: a live entry (rule 2), waker slot under the lock (rule 1).
    unsafe {
        node.cast::<Entry>()
            .as_ref()
            .waker
            .with_mut(|slot| (*slot).take())
    }
}

/// Identifies a waker the way `Waker::will_wake` does (data and vtable pointers), without
/// holding a reference count.
///
/// Comparing against it is sound only while the waker it was taken from is kept alive, which
/// the entry's waker slot does until the driver takes it (fire or shutdown, both checked
/// before the comparison): a live waker's data cannot be reused by another one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct WakerId {
    data: usize,
    vtable: usize,
}

impl WakerId {
    fn of(waker: &Waker) -> Self {
        Self {
            data: waker.data() as usize,
            vtable: std::ptr::from_ref(waker.vtable()) as usize,
        }
    }
}

/// What a `Sleep` owns: the deadline, the driver handle and the pinned [`Entry`].
#[derive(Debug)]
pub(crate) struct TimerEntry {
    handle: Handle,
    deadline: Instant,
    /// Polled at least once: from then on a reset re-registers at once.
    registered: bool,
    /// The entry may be linked in the wheel: it was inserted and has not been seen fired.
    in_wheel: bool,
    /// Which waker the entry's slot holds, so a re-poll can skip the lock (rule 6).
    stored_waker: Option<WakerId>,
    entry: Entry,
    _pinned: PhantomPinned,
}

impl TimerEntry {
    pub(crate) fn new(handle: Handle, deadline: Instant) -> Self {
        Self {
            handle,
            deadline,
            registered: false,
            in_wheel: false,
            stored_waker: None,
            entry: Entry::new(),
            _pinned: PhantomPinned,
        }
    }

    pub(crate) fn deadline(&self) -> Instant {
        self.deadline
    }

    pub(crate) fn handle(&self) -> &Handle {
        &self.handle
    }

    /// Whether the entry has fired (its deadline passed while registered).
    pub(crate) fn has_fired(&self) -> bool {
        self.entry.fired.load(Ordering::Acquire)
    }

    fn project(self: Pin<&mut Self>) -> &mut Self {
        // SAFETY: nothing reached through the returned `&mut Self` moves `entry`; every method
        // only reads or writes its fields in place (the entry stays pinned, rule 2).
        unsafe { self.get_unchecked_mut() }
    }

    /// Polls for the deadline without spending coop budget.
    pub(crate) fn poll_elapsed(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.project();
        if !this.registered {
            this.registered = true;
            return this.register(Some(cx.waker()));
        }
        // Rule 4 / rule 6: `Acquire` pairs with the driver's `Release` in `fire`.
        if this.has_fired() {
            return Poll::Ready(());
        }
        let shared = &this.handle.shared;
        if shared.is_shut_down() {
            // Rule 8: the driver is gone; nothing will ever fire this entry.
            panic!("{}", crate::driver::SHUT_DOWN);
        }
        if !this.in_wheel {
            // A "never" deadline: nothing will fire it, so there is nothing to wake.
            return Poll::Pending;
        }
        if this.stored_waker == Some(WakerId::of(cx.waker())) {
            return Poll::Pending;
        }
        let state = shared.state.lock();
        if this.entry.fired.load(Ordering::Acquire) {
            return Poll::Ready(());
        }
        if state.shutdown {
            drop(state);
            panic!("{}", crate::driver::SHUT_DOWN);
        }
        let waker = cx.waker().clone();
        this.stored_waker = Some(WakerId::of(&waker));
        this.entry.waker.with_mut(|slot| {
            // SAFETY: the lock is held (rule 1).
            unsafe { *slot = Some(waker) }
        });
        Poll::Pending
    }

    /// Links the entry for `self.deadline` (the entry is unlinked and `fired` is false),
    /// storing `waker` if given. `Ready` if the deadline has already passed by the wheel's
    /// time (then nothing is linked). A deadline that passed since the wheel's last turn is
    /// linked and fires at its next turn: registering never reads the clock.
    fn register(&mut self, waker: Option<&Waker>) -> Poll<()> {
        debug_assert!(!self.in_wheel);
        let shared = &*self.handle.shared;
        let Some(deadline_ns) = shared.deadline_ns(self.deadline) else {
            return Poll::Pending;
        };
        let mut state = shared.state.lock();
        if state.shutdown {
            drop(state);
            panic!("{}", crate::driver::SHUT_DOWN);
        }
        if deadline_ns <= state.wheel.now_ns() {
            // Not linked, so nobody else can see the entry.
            self.entry.fired.store(true, Ordering::Release);
            return Poll::Ready(());
        }
        if let Some(waker) = waker {
            self.stored_waker = Some(WakerId::of(waker));
            let waker = waker.clone();
            self.entry.waker.with_mut(|slot| {
                // SAFETY: the lock is held (rule 1).
                unsafe { *slot = Some(waker) }
            });
        }
        // SAFETY: the entry is pinned inside `self` (see `project`) and unlinked (`in_wheel` is
        // false); the owner unlinks it before it is dropped (rule 2). The lock is held.
        unsafe { state.wheel.insert(self.entry.node_ptr(), deadline_ns) };
        self.in_wheel = true;
        // Rule 7: wake a driver that sleeps toward a later time.
        let wake_driver = deadline_ns < state.sleeping_until;
        if wake_driver {
            state.sleeping_until = deadline_ns;
        }
        drop(state);
        if wake_driver {
            shared.unpark();
        }
        Poll::Pending
    }

    /// Moves the deadline; registers again at once if the entry was ever polled.
    pub(crate) fn reset(self: Pin<&mut Self>, deadline: Instant) {
        let this = self.project();
        this.deadline = deadline;
        if !this.registered {
            return;
        }
        if this.in_wheel && !this.has_fired() {
            // Unlink under the lock (rule 5). The waker stays in the slot, so the next poll
            // with the same waker needs no lock.
            let mut state = this.handle.shared.state.lock();
            if this.entry.fired.load(Ordering::Acquire) {
                // Fired between the check and the lock: the driver took the waker (rule 3).
                this.stored_waker = None;
            } else {
                // SAFETY: the entry is live and pinned; the lock is held (rules 1, 5).
                unsafe { state.wheel.remove(this.entry.node_ptr()) };
            }
        } else {
            // Fired (the driver took the waker) or never linked: nothing to keep.
            this.stored_waker = None;
        }
        this.in_wheel = false;
        // Rule 5: unlinked, so no other thread can reach the entry.
        this.entry.fired.store(false, Ordering::Relaxed);
        // A fire before the next poll only sets `fired`, or wakes the waker still stored.
        let _ = this.register(None);
    }
}

impl Drop for TimerEntry {
    fn drop(&mut self) {
        // Rule 2: unlink before the memory goes (`&mut self` here is the pinned place), unless
        // rule 4 says the driver is done with the entry.
        if self.in_wheel && !self.has_fired() {
            let mut state = self.handle.shared.state.lock();
            // SAFETY: the entry is live and pinned; the lock is held (rules 1, 5).
            unsafe { state.wheel.remove(self.entry.node_ptr()) };
        }
    }
}
