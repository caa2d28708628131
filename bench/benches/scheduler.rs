//! Scheduler micro-workloads on Spindle, tokio and smol, both flavours:
//! `cargo bench -p spindle-bench --bench scheduler [-- --quick]`.

use criterion::Criterion;

mod common;

fn scheduler(c: &mut Criterion) {
    for workload in [
        "spawn_inside",
        "spawn_outside",
        "yield_many",
        "ping_pong",
        "chained_spawn",
    ] {
        common::group(c, workload);
    }
}

// What `criterion_group!`/`criterion_main!` expand to, minus the undocumented `pub fn`.
fn main() {
    let mut c = Criterion::default().configure_from_args();
    scheduler(&mut c);
    c.final_summary();
}
