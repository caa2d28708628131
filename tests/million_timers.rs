//! A million concurrent sleeps all fire, and the memory they took is given back.
//!
//! Its own test binary, because it installs a counting global allocator.

// Not a library: `pub` items here are shared with the tests through `#[path]` modules,
// so the workspace's API lints (missing_docs, unreachable_pub, missing Debug) do not apply.
#![allow(missing_docs, unreachable_pub, missing_debug_implementations)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicIsize, AtomicUsize, Ordering};
use std::time::Duration;

use spindle::time;

struct Counting;

static LIVE: AtomicIsize = AtomicIsize::new(0);

// SAFETY: forwards to the system allocator unchanged; only counts.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size() as isize, Ordering::Relaxed);
        // SAFETY: same contract as ours.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size() as isize, Ordering::Relaxed);
        // SAFETY: same contract as ours.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

#[test]
fn a_million_sleeps_fire_and_their_memory_returns() {
    const N: usize = 1_000_000;
    let rt = spindle::runtime::Builder::new_current_thread()
        .start_paused(true)
        .build()
        .unwrap();
    let fired = AtomicUsize::new(0);
    rt.block_on(async {
        // Warm up whatever the runtime allocates once.
        time::sleep(Duration::from_millis(1)).await;
        let before = LIVE.load(Ordering::Relaxed);
        let sleeps = (0..N).map(|i| {
            let fired = &fired;
            async move {
                time::sleep(Duration::from_millis((i % 5_000) as u64 + 1)).await;
                fired.fetch_add(1, Ordering::Relaxed);
            }
        });
        let all = futures::future::join_all(sleeps);
        all.await;
        assert_eq!(fired.load(Ordering::Relaxed), N, "every sleep fired");
        let after = LIVE.load(Ordering::Relaxed);
        // join_all's buffers are gone; the wheel keeps nothing per timer (entries live in the
        // Sleep futures), so at most a little bookkeeping may remain.
        assert!(
            after - before < 64 * 1024,
            "{} bytes still held after the sleeps were dropped",
            after - before
        );
    });
}
