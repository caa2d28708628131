//! Wakers point straight at the task header: clone, wake and drop never allocate.

use std::mem::ManuallyDrop;
use std::ptr::NonNull;
use std::task::{RawWaker, RawWakerVTable, Waker};

use super::core::{Header, RawTask, WakerRef};

static VTABLE: RawWakerVTable = RawWakerVTable::new(clone, wake, wake_by_ref, drop_waker);

/// A waker for the poll in progress that borrows the runner's reference instead of taking
/// one: cloning it (which is what a future does to keep it) adds a reference.
pub(crate) fn waker_ref(ptr: NonNull<Header>) -> WakerRef {
    let raw = RawWaker::new(ptr.as_ptr() as *const (), &VTABLE);
    // SAFETY: VTABLE's functions uphold the RawWaker contract for a header pointer, and the
    // ManuallyDrop keeps the borrowed reference from being released.
    WakerRef(ManuallyDrop::new(unsafe { Waker::from_raw(raw) }))
}

fn raw(data: *const ()) -> RawTask {
    // SAFETY: every RawWaker with VTABLE was made from a non-null header pointer.
    RawTask::from_ptr(unsafe { NonNull::new_unchecked(data as *mut Header) })
}

unsafe fn clone(data: *const ()) -> RawWaker {
    // Rule 1: the new waker holds its own reference.
    raw(data).header().state.ref_inc();
    RawWaker::new(data, &VTABLE)
}

unsafe fn wake(data: *const ()) {
    raw(data).wake_by_val();
}

unsafe fn wake_by_ref(data: *const ()) {
    raw(data).wake_by_ref();
}

unsafe fn drop_waker(data: *const ()) {
    raw(data).drop_reference();
}
