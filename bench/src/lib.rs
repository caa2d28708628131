//! Spindle side by side with tokio and smol: the same workloads, written once against the
//! small [`rt::Rt`] trait, run on all three runtimes, multi-thread and current-thread, in one
//! process, by the `compare` binary and by the criterion benches.
//!
//! `cargo run --release -p spindle-bench --bin compare [-- --quick] [-- FILTER]`
//! `cargo bench -p spindle-bench [-- --quick]`

pub mod alloc;
pub mod chart;
pub mod child;
pub mod field;
pub mod report;
pub mod rt;
pub mod workloads;
