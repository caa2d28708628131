#![allow(dead_code)]

use spindle::runtime::{Builder, Runtime};

/// Both flavours, the way most tests want them: a small multi-thread runtime and a
/// current-thread one.
pub fn runtimes() -> Vec<(&'static str, Runtime)> {
    vec![
        (
            "multi_thread",
            Builder::new_multi_thread()
                .worker_threads(2)
                .build()
                .unwrap(),
        ),
        (
            "current_thread",
            Builder::new_current_thread().build().unwrap(),
        ),
    ]
}

/// Counts how many times values made by `tracker()` were dropped.
#[derive(Clone, Default)]
pub struct DropCounter(std::sync::Arc<std::sync::atomic::AtomicUsize>);

pub struct Tracked(std::sync::Arc<std::sync::atomic::AtomicUsize>);

impl DropCounter {
    pub fn tracker(&self) -> Tracked {
        Tracked(self.0.clone())
    }

    pub fn count(&self) -> usize {
        self.0.load(std::sync::atomic::Ordering::SeqCst)
    }
}

impl Drop for Tracked {
    fn drop(&mut self) {
        self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    }
}
