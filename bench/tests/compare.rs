//! `compare` end to end, at the smallest sizes: every workload runs on all three runtimes in
//! both flavours, the idle-memory children answer, and the markdown and SVG files appear.

use std::process::Command;

use spindle_bench::field::{Contender, Field};
use spindle_bench::rt::Flavor;
use spindle_bench::workloads::{ALL, Sizes, Unit};

/// Smaller than `Sizes::quick()`: this runs in debug builds, under `cargo test`.
fn tiny() -> Sizes {
    Sizes {
        spawn_tasks: 20,
        yield_tasks: 4,
        yields_per_task: 5,
        ping_pairs: 4,
        ping_round_trips: 3,
        chain_depth: 10,
        idle_tasks: 200,
        echo_conns: 2,
        echo_round_trips: 5,
        bulk_bytes: 256 << 10,
        timers: 100,
        sleepers: 20,
        resets: 100,
        blocking_tasks: 20,
    }
}

#[test]
fn every_workload_runs_on_every_runtime_and_flavour() {
    let sizes = tiny();
    for flavor in Flavor::ALL {
        let field = Field::new(flavor, 2);
        // idle_task_memory needs the compare binary as its child: tested below.
        for w in ALL.iter().filter(|w| w.unit != Unit::BytesPerTask) {
            for who in Contender::ALL {
                let sample = field.run(who, w, &sizes);
                assert!(
                    sample.value.is_finite() && sample.value >= 0.0,
                    "{} on {} {flavor}: {sample:?}",
                    w.name,
                    who.name()
                );
            }
        }
    }
}

#[test]
fn compare_writes_the_table_the_count_line_and_the_chart() {
    let dir = std::env::temp_dir().join(format!("spindle-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (md, svg) = (dir.join("ratios.md"), dir.join("ratios.svg"));
    let out = Command::new(env!("CARGO_BIN_EXE_compare"))
        .args(["--quick", "--markdown"])
        .arg(&md)
        .arg("--svg")
        .arg(&svg)
        .args(["idle", "chained"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // Two workloads x two flavours, and the count as the last line.
    let rows: Vec<_> = stdout
        .lines()
        .filter(|l| l.starts_with("| idle") || l.starts_with("| chained"))
        .collect();
    assert_eq!(rows.len(), 4, "{stdout}");
    for flavor in Flavor::ALL {
        assert!(rows.iter().any(|r| r.contains(flavor.name())), "{stdout}");
    }
    // The children measured resident and heap bytes for every runtime.
    let idle = rows.iter().find(|r| r.starts_with("| idle")).unwrap();
    assert_eq!(idle.matches("B/task (heap ").count(), 3, "{idle}");
    let last = stdout.lines().last().unwrap();
    assert!(last.ends_with(" of 4 rows at or below 0.90"), "{last}");

    assert_eq!(std::fs::read_to_string(&md).unwrap(), stdout);
    let svg = std::fs::read_to_string(&svg).unwrap();
    assert!(svg.starts_with("<svg") && svg.contains("chained_spawn MT"));
    assert!(svg.contains("goal 0.90") && svg.contains("parity 1.00"));
    std::fs::remove_dir_all(&dir).unwrap();
}
