//! Runs every workload on Spindle and on tokio, alternating, in one process, and prints a
//! markdown table of medians and Spindle/tokio ratios (below 1.0: Spindle is faster).
//!
//! ```text
//! cargo run --release -p spindle-bench --bin compare -- [--workers N] [--rounds N] [--quick] [FILTER...]
//! ```

use std::process::ExitCode;

use spindle_bench::alloc::CountingAlloc;
use spindle_bench::rt::{Rt, Spindle, Tokio};
use spindle_bench::workloads::{ALL, Sample, Sizes, Unit, Workload};

#[global_allocator]
static ALLOC: CountingAlloc = CountingAlloc;

const USAGE: &str = "usage: compare [--workers N] [--rounds N] [--quick] [FILTER...]
  --workers N  worker threads for both runtimes (default: available cores)
  --rounds N   runs per runtime; the median is reported (default 7, 1 with --quick)
  --quick      tiny sizes, for a CI smoke test
  FILTER       run only workloads whose name contains one of these";

struct Options {
    workers: usize,
    rounds: Option<usize>,
    quick: bool,
    filters: Vec<String>,
}

fn parse(mut args: impl Iterator<Item = String>) -> Result<Options, String> {
    let mut opts = Options {
        workers: std::thread::available_parallelism().map_or(1, |n| n.get()),
        rounds: None,
        quick: false,
        filters: Vec::new(),
    };
    let number = |flag: &str, value: Option<String>| -> Result<usize, String> {
        value
            .and_then(|v| v.parse().ok())
            .filter(|&n| n > 0)
            .ok_or_else(|| format!("{flag} needs a positive number"))
    };
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--workers" => opts.workers = number("--workers", args.next())?,
            "--rounds" => opts.rounds = Some(number("--rounds", args.next())?),
            "--quick" => opts.quick = true,
            "-h" | "--help" => return Err(String::new()),
            flag if flag.starts_with('-') => return Err(format!("unknown flag {flag}")),
            _ => opts.filters.push(arg),
        }
    }
    Ok(opts)
}

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    let mid = xs.len() / 2;
    if xs.len() % 2 == 1 {
        xs[mid]
    } else {
        (xs[mid - 1] + xs[mid]) / 2.0
    }
}

/// The median of each metric over the rounds.
fn median_sample(samples: Vec<Sample>) -> Sample {
    let extra = samples[0]
        .extra
        .iter()
        .enumerate()
        .map(|(i, &(name, _))| (name, median(samples.iter().map(|s| s.extra[i].1).collect())))
        .collect();
    Sample {
        value: median(samples.iter().map(|s| s.value).collect()),
        extra,
    }
}

fn time(seconds: f64) -> String {
    if seconds < 1e-3 {
        format!("{:.1} µs", seconds * 1e6)
    } else {
        format!("{:.2} ms", seconds * 1e3)
    }
}

fn cell(w: &Workload, sizes: &Sizes, sample: &Sample) -> String {
    let value = sample.value;
    match w.unit {
        Unit::BytesPerTask if value.is_nan() => "n/a".to_string(),
        Unit::BytesPerTask => format!("{value:.0} B/task"),
        Unit::Lateness => {
            let mut out = format!("mean {}", time(value));
            for (name, extra) in &sample.extra {
                out += &format!(", {name} {}", time(*extra));
            }
            out
        }
        Unit::Seconds => {
            let time = time(value);
            match w.per_run {
                Some(per_run) => {
                    let (items, label) = per_run(sizes);
                    format!("{time} ({:.0} {label})", items / value)
                }
                None => time,
            }
        }
    }
}

fn main() -> ExitCode {
    let opts = match parse(std::env::args().skip(1)) {
        Ok(opts) => opts,
        Err(msg) => {
            if !msg.is_empty() {
                eprintln!("compare: {msg}");
            }
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    let (sizes, rounds) = if opts.quick {
        (Sizes::quick(), opts.rounds.unwrap_or(1))
    } else {
        (Sizes::full(), opts.rounds.unwrap_or(7))
    };
    let chosen: Vec<&Workload> = ALL
        .iter()
        .filter(|w| opts.filters.is_empty() || opts.filters.iter().any(|f| w.name.contains(f)))
        .collect();
    if chosen.is_empty() {
        let names: Vec<_> = ALL.iter().map(|w| w.name).collect();
        eprintln!(
            "compare: no workload matches; there are: {}",
            names.join(", ")
        );
        return ExitCode::from(2);
    }

    let spindle = Spindle::multi_thread(opts.workers);
    let tokio = Tokio::multi_thread(opts.workers);
    eprintln!(
        "{} workers, {rounds} round(s), {} sizes; alternating {} and {} each round",
        opts.workers,
        if opts.quick { "quick" } else { "full" },
        Spindle::NAME,
        Tokio::NAME,
    );

    let mut rows = Vec::new();
    for w in chosen {
        let (mut s, mut t) = (Vec::new(), Vec::new());
        for round in 0..rounds {
            // Alternate who goes first, so neither always runs on a warmer machine.
            if round % 2 == 0 {
                s.push((w.spindle)(&spindle, &sizes));
                t.push((w.tokio)(&tokio, &sizes));
            } else {
                t.push((w.tokio)(&tokio, &sizes));
                s.push((w.spindle)(&spindle, &sizes));
            }
        }
        let (s, t) = (median_sample(s), median_sample(t));
        let row = format!(
            "| {} | {} | {} | {} | {:.2} |",
            w.name,
            (w.size)(&sizes),
            cell(w, &sizes, &s),
            cell(w, &sizes, &t),
            s.value / t.value
        );
        eprintln!("{row}");
        rows.push(row);
    }

    println!(
        "| workload | size | {} (median) | {} (median) | {}/{} |",
        Spindle::NAME,
        Tokio::NAME,
        Spindle::NAME,
        Tokio::NAME
    );
    println!("|---|---|---:|---:|---:|");
    for row in rows {
        println!("{row}");
    }
    ExitCode::SUCCESS
}
