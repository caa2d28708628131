//! A faster loop (asyncio tutorial, "uvloop"): the event loop itself can be made faster
//! without changing the program. This runs a few of `bench/`'s workloads — spawning, yielding,
//! a TCP echo — on Spindle and on tokio, in the same process, the two taking turns to go
//! first, and prints the ratios of their medians (below 1.0: Spindle is faster). For the full
//! table run `cargo run --release -p spindle-bench --bin compare`.
//!
//! `cargo run --release --example fast_loop` (debug builds give meaningless ratios)

// Not a library: `pub` items here are shared with the tests through `#[path]` modules,
// so the workspace's API lints (missing_docs, unreachable_pub, missing Debug) do not apply.
#![allow(missing_docs, unreachable_pub, missing_debug_implementations)]

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
    /// Which runtime ran first, round by round.
    pub firsts: Vec<&'static str>,
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

/// Whether Spindle goes first in `round` of the `nth` workload shown. The runtimes take
/// turns, round after round and workload after workload (so even with one round each, the
/// workloads do not all start on the same runtime): a noisy moment on the machine, or one
/// still warming up, does not always fall on the same one.
pub fn spindle_goes_first(nth: usize, round: usize) -> bool {
    (nth + round) % 2 == 0
}

/// Runs each of `SHOWN` at `sizes`, `runs` times per runtime, on `workers` worker threads.
pub fn compare(sizes: &Sizes, runs: usize, workers: usize) -> Vec<Row> {
    let spindle = Spindle::multi_thread(workers);
    let tokio = Tokio::multi_thread(workers);
    ALL.iter()
        .filter(|w| SHOWN.contains(&w.name) && w.unit == Unit::Seconds)
        .enumerate()
        .map(|(nth, w)| {
            let (mut s, mut t, mut firsts) = (Vec::new(), Vec::new(), Vec::new());
            for round in 0..runs.max(1) {
                if spindle_goes_first(nth, round) {
                    firsts.push(Spindle::NAME);
                    s.push((w.spindle)(&spindle, sizes).value);
                    t.push((w.tokio)(&tokio, sizes).value);
                } else {
                    firsts.push(Tokio::NAME);
                    t.push((w.tokio)(&tokio, sizes).value);
                    s.push((w.spindle)(&spindle, sizes).value);
                }
            }
            let row = Row {
                name: w.name,
                spindle_secs: median(s),
                tokio_secs: median(t),
                firsts,
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
