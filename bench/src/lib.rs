//! Spindle side by side with tokio: the same workloads, written once against the small
//! [`rt::Rt`] trait, run on both runtimes in one process by the `compare` binary.
//!
//! `cargo run --release -p spindle-bench --bin compare [-- --quick] [-- FILTER]`

pub mod alloc;
pub mod rt;
pub mod workloads;
