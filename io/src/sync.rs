//! The one place that picks the synchronisation types the readiness protocol runs on.
//!
//! Under `--cfg loom` the slot and table logic in [`crate::slot`] is built on loom's atomics,
//! `Arc` and `Mutex`, so loom can explore every interleaving of the protocol; otherwise it uses
//! std's atomics and `Arc` and `parking_lot`'s mutex. Nothing else in the crate may reach for
//! these primitives directly, or the model would no longer describe the code that ships.

#[cfg(loom)]
mod imp {
    pub(crate) use loom::sync::Arc;
    pub(crate) use loom::sync::atomic::{AtomicUsize, Ordering};

    /// loom's mutex with parking_lot's signature (no poisoning to unwrap at every call).
    #[derive(Debug)]
    pub(crate) struct Mutex<T>(loom::sync::Mutex<T>);

    impl<T> Mutex<T> {
        pub(crate) fn new(value: T) -> Self {
            Self(loom::sync::Mutex::new(value))
        }

        pub(crate) fn lock(&self) -> loom::sync::MutexGuard<'_, T> {
            // A panic while holding the lock already fails the model; poisoning adds nothing.
            self.0
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner())
        }
    }
}

#[cfg(not(loom))]
mod imp {
    pub(crate) use parking_lot::Mutex;
    pub(crate) use std::sync::Arc;
    pub(crate) use std::sync::atomic::{AtomicUsize, Ordering};
}

pub(crate) use imp::*;
