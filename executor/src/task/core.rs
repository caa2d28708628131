//! The task cell, its vtable and the poll/complete/cancel harness (rules in [`super`]).

use std::any::Any;
use std::future::Future;
use std::mem::{self, ManuallyDrop};
use std::panic::Location;
use std::panic::{self, AssertUnwindSafe};
use std::pin::Pin;
use std::ptr::{self, NonNull};
use std::task::{Context, Poll, Waker};
use std::time::Instant;

use super::error::JoinError;
use super::id::{CurrentTaskGuard, Id};
use super::state::{Snapshot, State, ToIdle, ToRunning, WakeByVal};
use super::waker::waker_ref;
use crate::runtime::debug::{DebugHooks, UnobservedPanic};
use crate::sync::UnsafeCell;

/// What a task needs from the scheduler that owns it.
pub(crate) trait Schedule: Send + Sync + 'static {
    /// Puts a notified task in a run queue. `is_yield` is true when the task woke itself
    /// during its own poll: it goes to the back, behind everything already waiting.
    ///
    /// `this` is borrowed from the task, and is only sure to be alive until `task` is in a
    /// queue another thread can take it from: that thread may run the task to completion
    /// and free it, with the task's reference to the scheduler. An implementation that uses
    /// the scheduler after queueing must hold a reference of its own (a clone of `this`), or
    /// know that something else keeps it alive (a worker's own context does). Not cloning on
    /// the worker's own path keeps a shared reference count out of every wake.
    fn schedule(this: &crate::sync::StdArc<Self>, task: Notified, is_yield: bool)
    where
        Self: Sized;

    /// The task completed: take it out of the owned list, returning the list's reference.
    fn release(&self, task: &Task) -> Option<Task>;

    /// Debug mode's hooks, if it is on. Asked only for tasks that recorded a spawn
    /// location, which they do only when it is.
    fn debug_hooks(&self) -> Option<&DebugHooks> {
        None
    }
}

/// What most tasks do without: a name, and (in debug mode) where they were spawned. An
/// unnamed task in a runtime without debug mode has none, and keeps its id in the header
/// word that would point at it ([`IdMeta`]).
#[derive(Debug, Default)]
pub(crate) struct TaskMeta {
    name: Option<Box<str>>,
    spawned_at: Option<&'static Location<'static>>,
}

impl TaskMeta {
    pub(crate) fn new(
        name: Option<Box<str>>,
        spawned_at: Option<&'static Location<'static>>,
    ) -> Option<TaskMeta> {
        (name.is_some() || spawned_at.is_some()).then_some(TaskMeta { name, spawned_at })
    }
}

/// What an [`IdMeta`] points at when the task has a [`TaskMeta`].
struct BoxedMeta {
    id: Id,
    meta: TaskMeta,
}

/// A task's id and its optional [`TaskMeta`] in one word.
///
/// Either `(id << 1) | 1` (odd: no meta, the common case) or a pointer from
/// `Box::<BoxedMeta>::into_raw` (even: the box is word-aligned), which holds the id beside
/// the meta. Written once by `new_task` and never changed until `dealloc` frees the box, so
/// any holder of a reference may read it from any thread (rule 1). An id too wide for the
/// tagged form (possible only where `usize` has fewer than 64 bits) gets a box with an empty
/// meta, so ids stay 64-bit everywhere.
struct IdMeta(*mut BoxedMeta);

// The pointer form must be even for the tag bit to tell the two forms apart.
const _: () = assert!(std::mem::align_of::<BoxedMeta>() >= 2);

impl IdMeta {
    /// The low bit that marks the inline-id form.
    const INLINE: usize = 1;

    fn new(id: Id, meta: Option<TaskMeta>) -> IdMeta {
        let inline = usize::try_from(id.as_u64())
            .ok()
            .filter(|&n| n <= usize::MAX >> 1);
        match (meta, inline) {
            (None, Some(n)) => IdMeta(ptr::without_provenance_mut((n << 1) | Self::INLINE)),
            (meta, _) => IdMeta(Box::into_raw(Box::new(BoxedMeta {
                id,
                meta: meta.unwrap_or_default(),
            }))),
        }
    }

    fn boxed(&self) -> Option<&BoxedMeta> {
        if self.0.addr() & Self::INLINE != 0 {
            return None;
        }
        // SAFETY: an even word is the pointer `Box::into_raw` gave in `new`; the box is freed
        // only by `drop`, in `dealloc`, once the last reference is gone (rule 1), and nothing
        // writes it after `new`, so a shared borrow for as long as `self` is fine.
        Some(unsafe { &*self.0 })
    }

    fn meta(&self) -> Option<&TaskMeta> {
        self.boxed().map(|boxed| &boxed.meta)
    }

    #[inline]
    fn id(&self) -> Id {
        match self.boxed() {
            Some(boxed) => boxed.id,
            // `new` stored `(id << 1) | 1` with `id >= 1`.
            None => Id::from_u64((self.0.addr() >> 1) as u64).expect("a task id is never 0"),
        }
    }
}

impl Drop for IdMeta {
    fn drop(&mut self) {
        if self.0.addr() & Self::INLINE == 0 {
            // SAFETY: an even word is the `Box::into_raw` pointer from `new`, owned by this
            // `IdMeta` alone; it is dropped once, with the cell, by the holder of the last
            // reference (rule 1).
            drop(unsafe { Box::from_raw(self.0) });
        }
    }
}

/// The type-erased operations, one instance per future type and scheduler type.
pub(crate) struct Vtable {
    poll: unsafe fn(NonNull<Header>),
    dealloc: unsafe fn(NonNull<Header>),
    /// `Schedule::schedule` on the task's scheduler (`Header::scheduler`).
    schedule: unsafe fn(NonNull<Header>, Notified, bool),
    /// `Schedule::release` on the task's scheduler.
    release: unsafe fn(NonNull<Header>, &Task) -> Option<Task>,
    /// `Schedule::debug_hooks` on the task's scheduler.
    debug_hooks: unsafe fn(NonNull<Header>) -> Option<NonNull<DebugHooks>>,
    /// Moves the output into `*dst` (a `Poll<Result<T, JoinError>>`) if complete, else
    /// registers the waker.
    try_read_output: unsafe fn(NonNull<Header>, *mut (), &Waker),
    drop_output: unsafe fn(NonNull<Header>),
    shutdown: unsafe fn(NonNull<Header>),
}

/// The part of a task every handle can see without knowing the future's type.
#[repr(C)]
pub(crate) struct Header {
    pub(crate) state: State,
    vtable: &'static Vtable,
    /// The id, and the name and spawn location if the task has either: one word.
    id_meta: IdMeta,
    /// The scheduler: an `Arc<S>` (std's even under loom: its count is not part of the
    /// protocol) turned into a thin pointer, typed again by the vtable, which is generic over
    /// `S`. A `dyn Schedule` would cost every task header a second word.
    scheduler: NonNull<()>,
    /// The owned list's links (intrusive, so a listed task costs no allocation of the
    /// list's); read and written only under the lock of the task's shard (list rule 1).
    pub(crate) owned_links: UnsafeCell<OwnedLinks>,
    /// Rule 8.
    join_waker: UnsafeCell<Option<Waker>>,
}

/// The future, then its output (or the [`JoinError`] that replaces it), then nothing. A union
/// with no tag of its own: which field is live follows from the state word (rule 10), and
/// the code that owns the stage under that rule knows which it reads, takes or drops. So a
/// cell is as large as its header plus the larger of the two, with no discriminant word.
union Stage<F: Future> {
    future: ManuallyDrop<F>,
    output: ManuallyDrop<Result<F::Output, JoinError>>,
}

/// `repr(C)` so a pointer to the cell is a pointer to its header.
#[repr(C)]
struct Cell<F: Future> {
    header: Header,
    stage: UnsafeCell<Stage<F>>,
}

impl Header {
    /// Puts the task in a run queue of its scheduler.
    fn schedule(&self, task: Notified, is_yield: bool) {
        // SAFETY: `self` is this task's header; the vtable matches its scheduler's type.
        unsafe { (self.vtable.schedule)(NonNull::from(self), task, is_yield) }
    }

    /// Takes the completed task out of its scheduler's owned list.
    fn release(&self, task: &Task) -> Option<Task> {
        // SAFETY: as in `schedule`.
        unsafe { (self.vtable.release)(NonNull::from(self), task) }
    }

    /// The scheduler's debug hooks, if debug mode is on.
    fn debug_hooks(&self) -> Option<&DebugHooks> {
        // SAFETY: as in `schedule`; the hooks live as long as the scheduler, which the task's
        // reference to it (dropped only in `dealloc`) keeps alive while `self` is borrowed.
        unsafe { (self.vtable.debug_hooks)(NonNull::from(self)).map(|h| h.as_ref()) }
    }

    /// The task's own `Arc<S>` as `Arc::into_raw` left it (see `new_task`); `S` is the type
    /// the vtable was made for.
    fn scheduler_ptr<S: Schedule>(&self) -> *const S {
        self.scheduler.cast::<S>().as_ptr().cast_const()
    }

    /// The task's id.
    #[inline]
    pub(crate) fn id(&self) -> Id {
        self.id_meta.id()
    }

    /// The name given with `task::Builder::name`.
    pub(crate) fn name(&self) -> Option<&str> {
        self.id_meta.meta()?.name.as_deref()
    }

    fn owned_name(&self) -> Option<Box<str>> {
        self.name().map(Box::from)
    }

    /// Where the task was spawned, recorded only in debug mode.
    fn spawned_at(&self) -> Option<&'static Location<'static>> {
        self.id_meta.meta()?.spawned_at
    }
}

/// An untyped, uncounted pointer to a task. The typed wrappers below own a reference.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) struct RawTask(NonNull<Header>);

// SAFETY: a task's future and output are `Send` (spawn requires it), and so is its meta
// (plain data, immutable after `new_task`); all shared access to the cell goes through the
// state protocol (rules 1-10).
unsafe impl Send for RawTask {}
// SAFETY: `&RawTask` gives access to the atomic state word and the header's immutable
// fields only; the stage is reached through the state protocol (rules 1-10), as for `Send`.
unsafe impl Sync for RawTask {}

impl RawTask {
    pub(crate) fn header(&self) -> &Header {
        // SAFETY: a RawTask is only reachable through a counted reference (rule 1), so the
        // cell is alive.
        unsafe { self.0.as_ref() }
    }

    pub(crate) fn from_ptr(ptr: NonNull<Header>) -> RawTask {
        RawTask(ptr)
    }

    /// Rule 1.
    pub(crate) fn drop_reference(self) {
        if self.header().state.ref_dec() {
            // SAFETY: that was the last reference (rule 1).
            unsafe { (self.header().vtable.dealloc)(self.0) }
        }
    }

    /// Rule 4, by value: consumes one reference.
    pub(crate) fn wake_by_val(self) {
        match self.header().state.wake_by_val() {
            WakeByVal::Nothing => {}
            // SAFETY: the last reference was ours (rule 1).
            WakeByVal::Dealloc => unsafe { (self.header().vtable.dealloc)(self.0) },
            WakeByVal::Submit => {
                self.header().schedule(Notified(Task(self)), false);
            }
        }
    }

    /// Rule 4, by reference.
    pub(crate) fn wake_by_ref(self) {
        if self.header().state.wake_by_ref() {
            self.header().schedule(Notified(Task(self)), false);
        }
    }

    /// Rule 6.
    pub(crate) fn cancel_remote(self) {
        if self.header().state.cancel_remote() {
            self.header().schedule(Notified(Task(self)), false);
        }
    }

    /// # Safety
    /// `dst` must point to a `Poll<Result<T, JoinError>>` for this task's output type `T`,
    /// and the caller must be the task's `JoinHandle`.
    pub(crate) unsafe fn try_read_output(self, dst: *mut (), waker: &Waker) {
        // SAFETY: forwarded from the caller.
        unsafe { (self.header().vtable.try_read_output)(self.0, dst, waker) }
    }

    /// Rules 7, 8 and 10: the `JoinHandle` is dropped.
    pub(crate) fn drop_join_handle(self) {
        match self.header().state.drop_join_interest() {
            // Rule 10: JOIN_INTEREST already clear once COMPLETE: the handle took the
            // output, and the stage is empty.
            Err(prev) if !prev.is_join_interested() => {}
            Err(_) => {
                // SAFETY: COMPLETE with join interest: the stage holds the output and the
                // handle owns it (rules 7 and 10).
                unsafe { (self.header().vtable.drop_output)(self.0) }
            }
            // Rule 8: JOIN_WAKER is now clear and the task not COMPLETE, so the completer will
            // never read the cell: the waker is ours to drop, now rather than with the cell (a
            // waker kept until then can hold the other half of a cycle).
            Ok(prev) if prev.is_join_waker_set() => {
                // SAFETY: we cleared JOIN_WAKER before COMPLETE, so the cell is the handle's
                // (rule 8).
                drop(unsafe { take_join_waker(self.header()) });
            }
            Ok(_) => {}
        }
        self.drop_reference();
    }
}

/// A task's place in its owned-list shard: a doubly-linked list through the headers.
#[derive(Clone, Copy, Debug)]
pub(crate) struct OwnedLinks {
    pub(crate) prev: Option<NonNull<Header>>,
    pub(crate) next: Option<NonNull<Header>>,
}

impl OwnedLinks {
    pub(crate) const UNLINKED: OwnedLinks = OwnedLinks {
        prev: None,
        next: None,
    };
}

/// A counted reference to a task.
pub(crate) struct Task(RawTask);

impl Task {
    /// Takes ownership of one reference the caller holds through `raw` (rule 1).
    ///
    /// # Safety
    /// The caller owns a reference to the task that nothing else will release.
    pub(crate) unsafe fn from_raw(raw: RawTask) -> Task {
        Task(raw)
    }

    pub(crate) fn ptr(&self) -> NonNull<Header> {
        self.0.0
    }

    pub(crate) fn header(&self) -> &Header {
        self.0.header()
    }

    pub(crate) fn id(&self) -> Id {
        self.header().id()
    }

    /// Gives up ownership of the reference without releasing it.
    pub(crate) fn into_raw(self) -> RawTask {
        let raw = self.0;
        mem::forget(self);
        raw
    }

    /// Rule 9: cancel this task as part of runtime shutdown. Consumes the reference.
    pub(crate) fn shutdown(self) {
        let raw = self.into_raw();
        // SAFETY: we pass on the reference we owned; the vtable function consumes it.
        unsafe { (raw.header().vtable.shutdown)(raw.0) }
    }
}

impl Drop for Task {
    fn drop(&mut self) {
        self.0.drop_reference();
    }
}

/// A task's run-queue entry (rule 3).
pub(crate) struct Notified(Task);

impl Notified {
    /// Polls the task (or cancels it, or just releases the entry; rule 2).
    pub(crate) fn run(self) {
        let raw = self.0.into_raw();
        // SAFETY: the entry's reference is handed to `poll`, which consumes it.
        unsafe { (raw.header().vtable.poll)(raw.0) }
    }

    /// Rule 9, for an entry found in a queue during shutdown.
    pub(crate) fn shutdown(self) {
        self.0.shutdown()
    }
}

/// Allocates a task. Returns the owned-list reference (`None` if `in_list` is false), the
/// first run-queue entry, and the raw pointer for the `JoinHandle` (which owns a reference).
pub(crate) fn new_task<F, S>(
    future: F,
    scheduler: crate::sync::StdArc<S>,
    id: Id,
    meta: Option<TaskMeta>,
    in_list: bool,
) -> (Option<Task>, Notified, RawTask)
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
    S: Schedule,
{
    let refs = if in_list { 3 } else { 2 };
    let cell = Box::new(Cell {
        header: Header {
            state: State::new(refs),
            vtable: vtable::<F, S>(),
            id_meta: IdMeta::new(id, meta),
            // Released in `dealloc::<F, S>`, which knows `S` again.
            scheduler: NonNull::new(crate::sync::StdArc::into_raw(scheduler).cast_mut())
                .expect("Arc::into_raw is never null")
                .cast(),
            owned_links: UnsafeCell::new(OwnedLinks::UNLINKED),
            join_waker: UnsafeCell::new(None),
        },
        // Not COMPLETE: the stage holds the future (rule 10).
        stage: UnsafeCell::new(Stage {
            future: ManuallyDrop::new(future),
        }),
    });
    let ptr = NonNull::from(Box::leak(cell)).cast::<Header>();
    let raw = RawTask(ptr);
    let listed = in_list.then(|| Task(raw));
    (listed, Notified(Task(raw)), raw)
}

fn vtable<F, S>() -> &'static Vtable
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
    S: Schedule,
{
    // A generic `const` item is promoted to a `'static` per `(F, S)`.
    struct Table<F, S>(std::marker::PhantomData<(F, S)>);
    impl<F, S> Table<F, S>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
        S: Schedule,
    {
        const VTABLE: Vtable = Vtable {
            poll: poll::<F>,
            dealloc: dealloc::<F, S>,
            schedule: schedule::<S>,
            release: release::<S>,
            debug_hooks: debug_hooks::<S>,
            try_read_output: try_read_output::<F>,
            drop_output: drop_output::<F>,
            shutdown: shutdown::<F>,
        };
    }
    &Table::<F, S>::VTABLE
}

/// The task's scheduler, typed.
///
/// # Safety
/// `ptr` is a live task whose scheduler has type `S` (its vtable was made for `S`).
unsafe fn scheduler<'a, S: Schedule>(ptr: NonNull<Header>) -> &'a S {
    // SAFETY: the task is alive (caller), and its `Arc<S>` is released only in `dealloc`,
    // after every other use of the task.
    unsafe { &*ptr.as_ref().scheduler_ptr::<S>() }
}

unsafe fn schedule<S: Schedule>(ptr: NonNull<Header>, task: Notified, is_yield: bool) {
    // Borrowed, not owned: `ManuallyDrop` keeps the count untouched, and `Schedule::schedule`
    // clones it when it needs the scheduler after the task is queued (see its contract).
    // SAFETY: the vtable is `S`'s (caller, `Header::schedule`) and `task` keeps the task, and
    // so its `Arc<S>`, alive until it is queued.
    let scheduler = ManuallyDrop::new(unsafe {
        crate::sync::StdArc::from_raw(ptr.as_ref().scheduler_ptr::<S>())
    });
    S::schedule(&scheduler, task, is_yield);
}

unsafe fn release<S: Schedule>(ptr: NonNull<Header>, task: &Task) -> Option<Task> {
    // SAFETY: the vtable is `S`'s; the caller's reference keeps the task alive.
    unsafe { scheduler::<S>(ptr) }.release(task)
}

unsafe fn debug_hooks<S: Schedule>(ptr: NonNull<Header>) -> Option<NonNull<DebugHooks>> {
    // SAFETY: as in `release`.
    unsafe { scheduler::<S>(ptr) }
        .debug_hooks()
        .map(NonNull::from)
}

/// # Safety
/// `ptr` must point to a live `Cell<F>`.
unsafe fn cell<'a, F: Future>(ptr: NonNull<Header>) -> &'a Cell<F> {
    // SAFETY: `Cell` is `repr(C)` with the header first, and the caller guarantees the type.
    unsafe { ptr.cast::<Cell<F>>().as_ref() }
}

/// Consumes one reference (a run-queue entry).
unsafe fn poll<F: Future>(ptr: NonNull<Header>) {
    // SAFETY: called through F's vtable on a live cell (the entry holds a reference).
    let cell = unsafe { cell::<F>(ptr) };
    match cell.header.state.to_running() {
        ToRunning::Skip => {}
        ToRunning::Dealloc => {
            // SAFETY: the entry's reference was the last (rule 1).
            unsafe { (cell.header.vtable.dealloc)(ptr) }
        }
        // SAFETY: we claimed RUNNING of a task that was not COMPLETE: its future is in the
        // stage and ours (rules 2 and 10).
        ToRunning::Cancel => unsafe { cancel_and_complete(cell, 1) },
        ToRunning::Poll => {
            // Debug mode times each poll. A task records where it was spawned only when
            // debug mode is on, so when it is off this test is the whole cost, and the
            // timed poll stays out of line.
            let ready = match cell.header.spawned_at() {
                // SAFETY: we claimed RUNNING of a task that was not COMPLETE: its future is
                // in the stage and ours (rules 2 and 10).
                None => unsafe { poll_future(cell, ptr) },
                // SAFETY: as above (rules 2 and 10), which `poll_timed` passes on to the poll.
                Some(spawned_at) => unsafe { poll_timed(cell, ptr, spawned_at) },
            };
            match ready {
                // SAFETY: the output is stored and we still hold RUNNING (rules 5 and 10).
                Poll::Ready(()) => unsafe { complete(cell, 1) },
                Poll::Pending => match cell.header.state.to_idle() {
                    ToIdle::Idle => {}
                    ToIdle::Dealloc => {
                        // SAFETY: our reference was the last (rule 1).
                        unsafe { (cell.header.vtable.dealloc)(ptr) }
                    }
                    ToIdle::Reschedule => {
                        cell.header.schedule(Notified(Task(RawTask(ptr))), true);
                    }
                    // SAFETY: still RUNNING, and a `Pending` poll left the future in the
                    // stage (rules 6 and 10).
                    ToIdle::Cancel => unsafe { cancel_and_complete(cell, 1) },
                },
            }
        }
    }
}

/// Polls the future once, catching a panic. Returns `Ready` once the stage holds the
/// output (or the panic).
///
/// # Safety
/// The caller holds RUNNING (claimed from a task that was not COMPLETE) and has not yet
/// dropped the future.
// Inlined into `poll` (the hot path) as it was before debug mode gave it a second caller.
#[inline(always)]
unsafe fn poll_future<F: Future>(cell: &Cell<F>, ptr: NonNull<Header>) -> Poll<()> {
    let _current = CurrentTaskGuard::enter(cell.header.id());
    let result = panic::catch_unwind(AssertUnwindSafe(|| {
        cell.stage.with_mut(|stage| {
            // SAFETY: we hold RUNNING of a task that is not COMPLETE and still has its
            // future (caller), so the stage's live field is the future and it is ours alone
            // (rules 2 and 10).
            let future: &mut F = unsafe { &mut (*stage).future };
            // SAFETY: the future lives in the heap cell and never moves until dropped.
            let future = unsafe { Pin::new_unchecked(future) };
            let waker = waker_ref(ptr);
            let mut cx = Context::from_waker(&waker);
            crate::coop::with_budget(|| future.poll(&mut cx))
        })
    }));
    let output = match result {
        Ok(Poll::Pending) => return Poll::Pending,
        Ok(Poll::Ready(output)) => Ok(output),
        Err(payload) => Err(payload),
    };
    // The future is finished or poisoned by its panic: drop it first (its destructor may
    // panic too, which only matters if the poll did not), then store the result.
    // SAFETY: we hold RUNNING and the future is still in the stage (caller; rules 2, 10).
    let dropped = unsafe { drop_future(cell) };
    let result = match (output, dropped) {
        (Ok(value), Ok(())) => Ok(value),
        (Ok(_), Err(payload)) | (Err(payload), _) => Err(JoinError::panic(
            cell.header.id(),
            cell.header.owned_name(),
            payload,
        )),
    };
    // SAFETY: we hold RUNNING and just dropped the future: the stage is empty and ours
    // (rules 2 and 10).
    unsafe { store_output(cell, result) };
    Poll::Ready(())
}

/// Drops the future in place, catching a panic from its destructor. The stage is empty
/// afterwards, whether or not the destructor panicked (a panicking destructor still drops
/// the future's fields), until the caller stores the output.
///
/// # Safety
/// The caller holds RUNNING of a task that is not COMPLETE and whose future is still in the
/// stage (rules 2 and 10), or holds the last reference to such a task (`dealloc`, rule 1).
unsafe fn drop_future<F: Future>(cell: &Cell<F>) -> Result<(), Box<dyn Any + Send>> {
    let _current = CurrentTaskGuard::enter(cell.header.id());
    panic::catch_unwind(AssertUnwindSafe(|| {
        cell.stage.with_mut(|stage| {
            // SAFETY: the live field is the future and the stage is ours (caller; rules 2
            // and 10); it is dropped here once and never read again.
            unsafe { ManuallyDrop::drop(&mut (*stage).future) }
        })
    }))
}

/// Writes the output (or the error that replaces it) into the stage.
///
/// # Safety
/// The caller holds RUNNING, has dropped the future, and has not yet flipped COMPLETE: the
/// stage is empty and only the caller may touch it (rules 2 and 10).
unsafe fn store_output<F: Future>(cell: &Cell<F>, output: Result<F::Output, JoinError>) {
    cell.stage.with_mut(|stage| {
        // SAFETY: the stage is empty and ours (caller; rules 2 and 10); `write` drops
        // nothing, and the output is live from here until its owner takes or drops it.
        unsafe { ptr::addr_of_mut!((*stage).output).write(ManuallyDrop::new(output)) }
    });
}

/// Drops an output nobody will read: reports it first if it is a panic (debug mode), and
/// contains a panic from its destructor, which has nowhere to go (it must not unwind into
/// the worker or out of `JoinHandle::drop`).
///
/// # Safety
/// The task is COMPLETE, the stage still holds the output, and the caller owns it: the
/// completer when JOIN_INTEREST was clear as it flipped COMPLETE, or the `JoinHandle` while
/// JOIN_INTEREST is still set (rules 5, 7 and 10). The stage is empty afterwards.
unsafe fn discard_output<F: Future>(cell: &Cell<F>) {
    // SAFETY: the output is in the stage and the caller's (caller).
    unsafe { report_unobserved_panic(cell) };
    let _ = panic::catch_unwind(AssertUnwindSafe(|| {
        cell.stage.with_mut(|stage| {
            // SAFETY: the live field is the output and it is the caller's (caller; rule 10);
            // it is dropped here once and never read again.
            unsafe { ManuallyDrop::drop(&mut (*stage).output) }
        })
    }));
}

/// Rule 6: drops the future and completes with a cancellation (or with the panic its
/// destructor raised).
///
/// # Safety
/// The caller holds RUNNING of a task that is not COMPLETE, whose future is still in the
/// stage, and `refs` references, which this consumes.
unsafe fn cancel_and_complete<F: Future>(cell: &Cell<F>, refs: usize) {
    let header = &cell.header;
    // SAFETY: forwarded from the caller (rules 2 and 10).
    let error = match unsafe { drop_future(cell) } {
        Ok(()) => JoinError::cancelled(header.id(), header.owned_name()),
        Err(payload) => JoinError::panic(header.id(), header.owned_name(), payload),
    };
    // SAFETY: still RUNNING, the future dropped: the empty stage is ours (rules 2 and 10),
    // and with the output stored we may complete (rule 5).
    unsafe {
        store_output(cell, Err(error));
        complete(cell, refs);
    }
}

/// Rule 5.
///
/// # Safety
/// The caller holds RUNNING, has dropped the future and stored the output (rule 10), and
/// owns `refs` references.
unsafe fn complete<F: Future>(cell: &Cell<F>, refs: usize) {
    let header = &cell.header;
    let prev = header.state.to_complete();
    // Leave the owned list before waking the joiner, so a task that has been joined is
    // never still counted as live.
    let this = Task(RawTask(NonNull::from(header)));
    let released = header.release(&this);
    // `this` stands for one of the caller's references; all are released in one step below.
    mem::forget(this);
    let refs = refs
        + released.map_or(0, |t| {
            mem::forget(t);
            1
        });
    if !prev.is_join_interested() {
        // No JoinHandle will read the output (rule 7): drop it here.
        // SAFETY: COMPLETE without join interest: the output is in the stage and ours
        // (rules 5 and 10).
        unsafe { discard_output(cell) };
    } else if prev.is_join_waker_set() {
        // Taking the waker out frees whatever it holds now rather than when the cell is freed.
        // SAFETY: JOIN_WAKER was set when we flipped COMPLETE: the cell is ours (rule 8), and
        // the handle never touches it again.
        if let Some(waker) = unsafe { take_join_waker(header) } {
            // Wakers are user code: a panicking one must not unwind into the worker and skip
            // the reference release below.
            crate::park::wake_contained(waker);
        }
    }
    if header.state.ref_dec_many(refs) {
        let ptr = NonNull::from(header);
        // SAFETY: those were the last references (rule 1).
        unsafe { (header.vtable.dealloc)(ptr) }
    }
}

/// Rule 9. Consumes one reference.
unsafe fn shutdown<F: Future>(ptr: NonNull<Header>) {
    // SAFETY: called through F's vtable; the caller's reference keeps the cell alive.
    let cell = unsafe { cell::<F>(ptr) };
    if cell.header.state.cancel_for_shutdown() {
        // SAFETY: we claimed RUNNING of a task that was not COMPLETE, so its future is in
        // the stage (rules 9 and 10).
        unsafe { cancel_and_complete(cell, 1) }
    } else {
        RawTask(ptr).drop_reference();
    }
}

unsafe fn try_read_output<F: Future>(ptr: NonNull<Header>, dst: *mut (), waker: &Waker) {
    // SAFETY: called through F's vtable by the JoinHandle, which holds a reference.
    let cell = unsafe { cell::<F>(ptr) };
    if can_read_output(&cell.header, waker) {
        // Rule 10: clearing JOIN_INTEREST tells whether the output is still there, and
        // records that it no longer is.
        if cell.header.state.take_output().is_err() {
            panic!("JoinHandle polled after it returned the task's output");
        }
        // SAFETY: COMPLETE, and JOIN_INTEREST was still set: the stage holds the output and
        // we, the JoinHandle, own it (rules 7 and 10); the caller guarantees `dst`'s type.
        unsafe {
            let dst = &mut *dst.cast::<Poll<Result<F::Output, JoinError>>>();
            *dst = Poll::Ready(take_output(cell));
        }
    }
}

/// Moves the output out of the stage, leaving it empty.
///
/// # Safety
/// The task is COMPLETE and the caller is the `JoinHandle`, which has just cleared
/// JOIN_INTEREST, finding it set: the output is in the stage and the caller's (rules 7 and
/// 10).
unsafe fn take_output<F: Future>(cell: &Cell<F>) -> Result<F::Output, JoinError> {
    cell.stage.with_mut(|stage| {
        // SAFETY: the live field is the output and it is ours (caller; rule 10); cleared
        // JOIN_INTEREST means nobody reads or drops it again.
        unsafe { ManuallyDrop::take(&mut (*stage).output) }
    })
}

/// Rule 8, the `JoinHandle`'s side. Returns true once the output can be read.
fn can_read_output(header: &Header, waker: &Waker) -> bool {
    let snapshot = header.state.load();
    if snapshot.is_complete() {
        return true;
    }
    // The completer may take the waker out of the cell the moment it completes, so the
    // handle looks at the cell only after taking it back (clearing JOIN_WAKER), even to
    // find that the stored waker is the same one.
    if snapshot.is_join_waker_set() && header.state.unset_join_waker().is_err() {
        return true;
    }
    // SAFETY: JOIN_WAKER is clear, so the cell is the handle's (rule 8).
    unsafe { set_join_waker(header, waker) }.is_err()
}

/// Stores `waker` (unless the stored one would wake the same task) and hands the cell to
/// the task side. `Err` if the task completed first: the waker is taken back out.
///
/// # Safety
/// JOIN_WAKER is clear and the caller is the `JoinHandle` (rule 8).
unsafe fn set_join_waker(header: &Header, waker: &Waker) -> Result<(), Snapshot> {
    header.join_waker.with_mut(|w| {
        // SAFETY: JOIN_WAKER is clear and we are the handle: the cell is ours (caller).
        let stored = unsafe { &mut *w };
        if !stored
            .as_ref()
            .is_some_and(|stored| stored.will_wake(waker))
        {
            *stored = Some(waker.clone());
        }
    });
    let result = header.state.set_join_waker();
    if result.is_err() {
        // Nobody will wake this waker, so it goes now.
        // SAFETY: the bit stayed clear, so the cell is still the handle's (rule 8).
        drop(unsafe { take_join_waker(header) });
    }
    result
}

/// Takes the waker out of the join-waker cell.
///
/// # Safety
/// The caller owns the cell under rule 8: the handle while JOIN_WAKER is clear, the completer
/// when the bit was set as it flipped COMPLETE.
unsafe fn take_join_waker(header: &Header) -> Option<Waker> {
    header.join_waker.with_mut(|w| {
        // SAFETY: the cell is the caller's under rule 8 (the caller's contract).
        unsafe { (*w).take() }
    })
}

/// # Safety
/// The task is COMPLETE and the caller is its `JoinHandle`, which found JOIN_INTEREST still
/// set: it never took the output, which is in the stage and the handle's (rules 7 and 10).
unsafe fn drop_output<F: Future>(ptr: NonNull<Header>) {
    // SAFETY: called through F's vtable by the JoinHandle, which holds a reference.
    let cell = unsafe { cell::<F>(ptr) };
    // SAFETY: COMPLETE, and the handle owns the output still in the stage (caller; rules 7
    // and 10).
    unsafe { discard_output(cell) };
}

unsafe fn dealloc<F: Future, S: Schedule>(ptr: NonNull<Header>) {
    // SAFETY: the last reference is gone (rule 1): nobody else can reach the cell, which was
    // allocated as a `Box<Cell<F>>` in `new_task`.
    let cell = unsafe { Box::from_raw(ptr.cast::<Cell<F>>().as_ptr()) };
    // SAFETY: the task's own `Arc<S>`, from `Arc::into_raw` in `new_task`; nothing uses it
    // after the last reference.
    let scheduler = unsafe { crate::sync::StdArc::from_raw(cell.header.scheduler_ptr::<S>()) };
    // Rule 10: a task freed before it completed (its run-queue entry was dropped unrun, say)
    // still has its future, which only we can reach now; a COMPLETE one has nothing, since
    // whoever owned the output took or dropped it before releasing their reference. The
    // load sees the final state: the last reference was released with AcqRel.
    if !cell.header.state.load().is_complete() {
        // SAFETY: not COMPLETE, so the live field is the future (rule 10), and the last
        // reference is gone, so it is ours alone, as RUNNING would make it (rule 1). A panic
        // from its destructor is contained there; the worker survives it.
        let _ = unsafe { drop_future(&cell) };
    }
    // The header's waker (user code) may panic in its destructor too. The stage is a union
    // of `ManuallyDrop`s: dropping the cell drops nothing of it.
    let _ = panic::catch_unwind(AssertUnwindSafe(move || drop(cell)));
    drop(scheduler);
}

/// Debug mode: polls the future and reports the poll if it took over the threshold.
///
/// # Safety
/// As for `poll_future`: the caller holds RUNNING and the future is in the stage (rules 2
/// and 10).
#[cold]
#[inline(never)]
unsafe fn poll_timed<F: Future>(
    cell: &Cell<F>,
    ptr: NonNull<Header>,
    spawned_at: &'static Location<'static>,
) -> Poll<()> {
    let started = Instant::now();
    // SAFETY: forwarded from the caller (rules 2 and 10).
    let ready = unsafe { poll_future(cell, ptr) };
    let took = started.elapsed();
    let header = &cell.header;
    if let Some(hooks) = header.debug_hooks() {
        hooks.poll_took(header.id(), header.name(), spawned_at, took);
    }
    ready
}

/// Debug mode: the output is about to be dropped unread; if it is a panic, say so.
///
/// # Safety
/// The task is COMPLETE, its output is still in the stage, and the caller owns it: the
/// completer (no `JoinHandle`) or the handle's drop (output never read) (rules 5, 7 and 10).
unsafe fn report_unobserved_panic<F: Future>(cell: &Cell<F>) {
    let header = &cell.header;
    let Some(spawned_at) = header.spawned_at() else {
        return;
    };
    let Some(hooks) = header.debug_hooks() else {
        return;
    };
    cell.stage.with(|stage| {
        // SAFETY: the live field is the output and the caller owns it (caller; rule 10), so
        // nothing else reads or writes the stage while we look.
        if let Err(error) = unsafe { &*(*stage).output } {
            if error.is_panic() {
                hooks.unobserved_panic(&UnobservedPanic {
                    id: header.id(),
                    name: header.name(),
                    message: error.panic_message(),
                    spawned_at,
                });
            }
        }
    });
}

/// A reference-counted waker that never outlives the poll that made it.
pub(crate) struct WakerRef(pub(crate) ManuallyDrop<Waker>);

impl std::ops::Deref for WakerRef {
    type Target = Waker;
    fn deref(&self) -> &Waker {
        &self.0
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use std::collections::VecDeque;
    use std::future::Future;
    use std::mem::size_of;
    use std::panic::{self, AssertUnwindSafe};
    use std::pin::Pin;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::task::{Context, Poll, Waker};

    use super::{Cell, Header, IdMeta, Notified, Schedule, Stage, Task, TaskMeta, new_task};
    use crate::sync::{Mutex, StdArc};
    use crate::task::{Id, JoinHandle};

    /// The header is eight words (64 bytes on 64-bit targets): state, vtable, id-or-meta,
    /// scheduler, two owned-list links, the two-word join waker. A field added here grows
    /// every task in every runtime; this test is there to make that a decision.
    #[test]
    fn header_is_eight_words() {
        assert_eq!(size_of::<Header>(), size_of::<[usize; 8]>());
        #[cfg(target_pointer_width = "64")]
        assert_eq!(size_of::<Header>(), 64);
    }

    fn cell_size<F: Future>(_: &F) -> usize {
        size_of::<Cell<F>>()
    }

    fn stage_size<F: Future>(_: &F) -> usize {
        size_of::<Stage<F>>()
    }

    /// An idle task whose future is a small `async` block: the stage is one word (the
    /// `Result<(), JoinError>` it will hold; no discriminant, rule 10), so the cell is nine
    /// words, a 72-byte allocation on 64-bit targets.
    #[test]
    fn idle_task_cell_is_nine_words() {
        let future = async { std::future::pending::<()>().await };
        assert_eq!(stage_size(&future), size_of::<usize>());
        assert_eq!(cell_size(&future), size_of::<[usize; 9]>());
        #[cfg(target_pointer_width = "64")]
        assert_eq!(cell_size(&future), 72);
    }

    #[test]
    fn id_meta_inline_id() {
        let id = Id::next();
        let word = IdMeta::new(id, None);
        assert_eq!(word.0.addr() & IdMeta::INLINE, IdMeta::INLINE);
        assert_eq!(word.id(), id);
        assert!(word.meta().is_none());
    }

    #[test]
    fn id_meta_with_meta() {
        let id = Id::next();
        let location = std::panic::Location::caller();
        let meta = TaskMeta::new(Some("worker".into()), Some(location));
        let word = IdMeta::new(id, meta);
        assert_eq!(word.0.addr() & IdMeta::INLINE, 0);
        assert_eq!(word.id(), id);
        let meta = word.meta().expect("a meta");
        assert_eq!(meta.name.as_deref(), Some("worker"));
        assert_eq!(meta.spawned_at, Some(location));
    }

    /// An id too wide for the tagged word gets a meta of its own and survives whole.
    #[test]
    fn id_meta_wide_id() {
        let wide = Id::from_u64(u64::MAX - 1).unwrap();
        let word = IdMeta::new(wide, None);
        if usize::BITS <= 64 {
            assert_eq!(word.0.addr() & IdMeta::INLINE, 0);
            let meta = word.meta().expect("an empty meta beside the id");
            assert!(meta.name.is_none() && meta.spawned_at.is_none());
        }
        assert_eq!(word.id(), wide);
        assert_eq!(word.id().as_u64(), u64::MAX - 1);
        // The largest id that fits inline.
        let max_inline = Id::from_u64((usize::MAX >> 1) as u64).unwrap();
        let word = IdMeta::new(max_inline, None);
        assert!(word.meta().is_none());
        assert_eq!(word.id(), max_inline);
    }

    #[derive(Default)]
    struct Queue(Mutex<VecDeque<Notified>>);

    impl Schedule for Queue {
        fn schedule(this: &StdArc<Self>, task: Notified, _is_yield: bool) {
            this.0.lock().push_back(task);
        }

        fn release(&self, _task: &Task) -> Option<Task> {
            None
        }
    }

    impl Queue {
        fn run_all(&self) {
            loop {
                let next = self.0.lock().pop_front();
                let Some(task) = next else { return };
                task.run();
            }
        }
    }

    /// Counts its drops.
    #[derive(Debug)]
    struct Tracked(Arc<AtomicUsize>);

    impl Drop for Tracked {
        fn drop(&mut self) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    fn spawn<F>(queue: &StdArc<Queue>, future: F) -> (JoinHandle<F::Output>, Notified)
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        let (_, notified, raw) = new_task(future, queue.clone(), Id::next(), None, false);
        (JoinHandle::new(raw), notified)
    }

    fn poll_once<T>(join: &mut JoinHandle<T>) -> Poll<Result<T, crate::task::JoinError>> {
        Pin::new(join).poll(&mut Context::from_waker(Waker::noop()))
    }

    /// Rule 10: the handle takes the output once; its drop does not drop it again, and a
    /// second poll panics rather than read the moved-out value.
    #[test]
    fn output_taken_once_then_poll_again_panics() {
        let queue = StdArc::new(Queue::default());
        let drops = Arc::new(AtomicUsize::new(0));
        let output = Tracked(drops.clone());
        let (mut join, notified) = spawn(&queue, async move { output });
        Queue::schedule(&queue, notified, false);
        queue.run_all();
        let Poll::Ready(Ok(output)) = poll_once(&mut join) else {
            panic!("the task completed");
        };
        assert_eq!(drops.load(Ordering::SeqCst), 0);
        let again = panic::catch_unwind(AssertUnwindSafe(|| poll_once(&mut join)));
        let message = again.expect_err("a second poll panics");
        assert_eq!(
            message.downcast_ref::<&str>().copied(),
            Some("JoinHandle polled after it returned the task's output")
        );
        drop(join);
        assert_eq!(
            drops.load(Ordering::SeqCst),
            0,
            "the handle dropped a taken output"
        );
        drop(output);
        assert_eq!(drops.load(Ordering::SeqCst), 1);
    }

    /// Rule 10: a handle dropped after completion without reading drops the output, once.
    #[test]
    fn unread_output_dropped_once_by_handle() {
        let queue = StdArc::new(Queue::default());
        let drops = Arc::new(AtomicUsize::new(0));
        let output = Tracked(drops.clone());
        let (join, notified) = spawn(&queue, async move { output });
        Queue::schedule(&queue, notified, false);
        queue.run_all();
        assert!(join.is_finished());
        assert_eq!(drops.load(Ordering::SeqCst), 0);
        drop(join);
        assert_eq!(drops.load(Ordering::SeqCst), 1);
    }

    /// Rule 10: a detached task's output is dropped by the completer, once.
    #[test]
    fn detached_output_dropped_once_by_completer() {
        let queue = StdArc::new(Queue::default());
        let drops = Arc::new(AtomicUsize::new(0));
        let output = Tracked(drops.clone());
        let (join, notified) = spawn(&queue, async move { output });
        drop(join);
        Queue::schedule(&queue, notified, false);
        queue.run_all();
        assert_eq!(drops.load(Ordering::SeqCst), 1);
    }

    /// Rule 10: a task freed before it ran still has its future; `dealloc` drops it, once.
    #[test]
    fn never_run_task_drops_its_future_in_dealloc() {
        let queue = StdArc::new(Queue::default());
        let drops = Arc::new(AtomicUsize::new(0));
        let tracked = Tracked(drops.clone());
        let (join, notified) = spawn(&queue, async move {
            let _tracked = tracked;
        });
        drop(join);
        assert_eq!(drops.load(Ordering::SeqCst), 0);
        drop(notified);
        assert_eq!(drops.load(Ordering::SeqCst), 1);
    }

    /// A destructor that panics.
    struct PanicsOnDrop(Arc<AtomicUsize>);

    impl Drop for PanicsOnDrop {
        fn drop(&mut self) {
            self.0.fetch_add(1, Ordering::SeqCst);
            panic!("boom in drop");
        }
    }

    /// Rules 6 and 10: an aborted task whose future panics in its destructor completes with
    /// that panic; the future is dropped once and the error is read from the stage.
    #[test]
    fn abort_with_panicking_future_destructor() {
        let queue = StdArc::new(Queue::default());
        let drops = Arc::new(AtomicUsize::new(0));
        let bomb = PanicsOnDrop(drops.clone());
        let (mut join, notified) = spawn(&queue, async move {
            let _bomb = bomb;
            std::future::pending::<()>().await;
        });
        Queue::schedule(&queue, notified, false);
        queue.run_all();
        join.abort();
        queue.run_all();
        let Poll::Ready(Err(error)) = poll_once(&mut join) else {
            panic!("the aborted task completed with an error");
        };
        assert!(error.is_panic());
        assert_eq!(drops.load(Ordering::SeqCst), 1);
    }

    /// Rule 10: an output that panics in its destructor, dropped unread by the handle, does
    /// not unwind out of the handle's drop and is not dropped again by `dealloc`.
    #[test]
    fn unread_output_with_panicking_destructor() {
        let queue = StdArc::new(Queue::default());
        let drops = Arc::new(AtomicUsize::new(0));
        let output = PanicsOnDrop(drops.clone());
        let (join, notified) = spawn(&queue, async move { output });
        Queue::schedule(&queue, notified, false);
        queue.run_all();
        drop(join);
        assert_eq!(drops.load(Ordering::SeqCst), 1);
    }
}
