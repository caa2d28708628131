//! A counting allocator: the system allocator plus a running total of live bytes, used by
//! the memory workloads. Counting is off unless a measurement is in progress, so the
//! timed workloads pay one relaxed load per allocation, not a contended atomic add.
//!
//! Install it in the binary:
//! `#[global_allocator] static ALLOC: CountingAlloc = CountingAlloc;`

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicBool, AtomicIsize, Ordering::Relaxed};

static ON: AtomicBool = AtomicBool::new(false);
static LIVE: AtomicIsize = AtomicIsize::new(0);
static INSTALLED: AtomicBool = AtomicBool::new(false);

/// Wraps [`System`], counting bytes allocated minus bytes freed while counting is on.
#[derive(Debug)]
pub struct CountingAlloc;

fn add(bytes: usize, sign: isize) {
    if ON.load(Relaxed) {
        LIVE.fetch_add(sign * bytes as isize, Relaxed);
    }
}

// SAFETY: every call is forwarded to `System` unchanged; the counting has no effect on it.
unsafe impl GlobalAlloc for CountingAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        add(layout.size(), 1);
        // SAFETY: the caller upholds `GlobalAlloc`'s contract, which `System` shares.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        add(layout.size(), 1);
        // SAFETY: the caller upholds `GlobalAlloc`'s contract, which `System` shares.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        add(layout.size(), -1);
        // SAFETY: the caller upholds `GlobalAlloc`'s contract, which `System` shares.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        add(new_size, 1);
        add(layout.size(), -1);
        // SAFETY: the caller upholds `GlobalAlloc`'s contract, which `System` shares.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

/// Net bytes allocated by `f`, by every thread, while it runs; `None` when
/// [`CountingAlloc`] is not the global allocator.
pub fn measure<T>(f: impl FnOnce() -> T) -> (T, Option<isize>) {
    // Probe once: a counted allocation proves the allocator is ours.
    if !INSTALLED.load(Relaxed) {
        ON.store(true, Relaxed);
        let before = LIVE.load(Relaxed);
        let probe = std::hint::black_box(Box::new(0u64));
        INSTALLED.store(LIVE.load(Relaxed) != before, Relaxed);
        ON.store(false, Relaxed);
        drop(probe);
    }
    ON.store(true, Relaxed);
    let before = LIVE.load(Relaxed);
    let out = f();
    let after = LIVE.load(Relaxed);
    ON.store(false, Relaxed);
    (out, INSTALLED.load(Relaxed).then_some(after - before))
}
