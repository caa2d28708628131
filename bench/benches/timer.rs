//! Timer micro-workloads on Spindle, tokio and smol, both flavours:
//! `cargo bench -p spindle-bench --bench timer [-- --quick]`.

use criterion::Criterion;

mod common;

fn timer(c: &mut Criterion) {
    for workload in ["timer_create_cancel", "sleep_reset_churn"] {
        common::group(c, workload);
    }
}

// What `criterion_group!`/`criterion_main!` expand to, minus the undocumented `pub fn`.
fn main() {
    let mut c = Criterion::default().configure_from_args();
    timer(&mut c);
    c.final_summary();
}
