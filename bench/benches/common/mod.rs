//! What the criterion benches share: one group per workload, one entry per runtime and
//! flavour, each running the very function `compare` runs (`spindle_bench::workloads`).

use std::time::Duration;

use criterion::{BenchmarkId, Criterion};
use spindle_bench::field::{Contender, Field};
use spindle_bench::rt::Flavor;
use spindle_bench::workloads::{self, Sizes};

/// The group `workload`, with entries `RUNTIME/FLAVOUR` (`spindle/multi_thread`, ...).
///
/// Each iteration is one run of the workload at `Sizes::full()`, and its time is the one
/// the workload measured itself (building the runtime is outside it). Ten samples and two
/// seconds per entry keep a full `cargo bench` to a few minutes on two cores.
pub(crate) fn group(c: &mut Criterion, workload: &str) {
    let w = workloads::find(workload).unwrap_or_else(|| panic!("no workload {workload}"));
    let sizes = Sizes::full();
    let workers = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mut group = c.benchmark_group(workload);
    group
        .sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
    for flavor in Flavor::ALL {
        let field = Field::new(flavor, workers);
        for who in Contender::ALL {
            let id = BenchmarkId::new(who.name(), flavor);
            group.bench_function(id, |b| {
                b.iter_custom(|iters| {
                    (0..iters)
                        .map(|_| Duration::from_secs_f64(field.run(who, w, &sizes).value))
                        .sum()
                })
            });
        }
    }
    group.finish();
}
