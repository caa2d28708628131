//! A faster loop (asyncio tutorial, "uvloop"): the event loop itself can be made faster
//! without changing the program. This runs a few of `bench/`'s workloads — spawning, yielding,
//! a TCP echo — once on Spindle and once on tokio, in the same process, and prints the
//! ratios (below 1.0: Spindle is faster). For the full table run
//! `cargo run --release -p spindle-bench --bin compare`.
//!
//! `cargo run --release --example fast_loop` (debug builds give meaningless ratios)

use spindle_bench::rt::{Rt, Spindle, Tokio};
use spindle_bench::workloads::{ALL, Sizes, Unit};

/// The workloads this example shows, by their names in `bench/`.
pub const SHOWN: &[&str] = &["spawn_inside", "yield_many", "tcp_echo"];

/// One workload on both runtimes: median seconds of `runs` runs each.
#[derive(Debug, Clone)]
pub struct Row {
    pub name: &'static str,
    pub spindle_secs: f64,
    pub tokio_secs: f64,
}

impl Row {
    /// Spindle's time over tokio's.
    pub fn ratio(&self) -> f64 {
        self.spindle_secs / self.tokio_secs
    }
}

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    xs[xs.len() / 2]
}

/// Runs each of `SHOWN` at `sizes`, `runs` times per runtime, on `workers` worker threads.
pub fn compare(sizes: &Sizes, runs: usize, workers: usize) -> Vec<Row> {
    let spindle = Spindle::multi_thread(workers);
    let tokio = Tokio::multi_thread(workers);
    ALL.iter()
        .filter(|w| SHOWN.contains(&w.name) && w.unit == Unit::Seconds)
        .map(|w| {
            // Alternate the runtimes so a noisy moment on the machine hits both alike.
            let (mut s, mut t) = (Vec::new(), Vec::new());
            for _ in 0..runs.max(1) {
                s.push((w.spindle)(&spindle, sizes).value);
                t.push((w.tokio)(&tokio, sizes).value);
            }
            let row = Row {
                name: w.name,
                spindle_secs: median(s),
                tokio_secs: median(t),
            };
            println!(
                "  {:<14} {:<26} spindle {:>9.3} ms  tokio {:>9.3} ms  ratio {:.2}",
                row.name,
                (w.size)(sizes),
                row.spindle_secs * 1e3,
                row.tokio_secs * 1e3,
                row.ratio()
            );
            row
        })
        .collect()
}

#[allow(dead_code)] // the tests include this file for its functions, not for `main`
pub fn main() {
    // Not #[spindle::main]: each runtime is built by the bench harness, side by side.
    println!("Spindle vs tokio, same process, 2 workers each (ratio < 1: Spindle faster):");
    let rows = compare(&Sizes::quick(), 5, 2);
    let geo = rows.iter().map(|r| r.ratio().ln()).sum::<f64>() / rows.len() as f64;
    println!("geometric mean ratio: {:.2}", geo.exp());
}
