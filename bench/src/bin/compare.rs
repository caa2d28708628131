//! Runs every workload on Spindle, tokio and smol, multi-thread and current-thread, in one
//! process, rotating which runtime goes first each round, and prints a markdown table of
//! medians and of the ratio Spindle / best peer of the same flavour (below 1.0: Spindle is
//! better). The last line counts the rows at or below the 0.90 goal.
//!
//! ```text
//! cargo run --release -p spindle-bench --bin compare -- [--workers N] [--rounds N] [--quick]
//!     [--flavor F] [--markdown PATH] [--svg PATH] [FILTER...]
//! ```

use std::path::PathBuf;
use std::process::ExitCode;

use spindle_bench::alloc::CountingAlloc;
use spindle_bench::field::{Contender, Field, order};
use spindle_bench::report::{self, Row};
use spindle_bench::rt::Flavor;
use spindle_bench::workloads::{ALL, Sample, Sizes, Workload};
use spindle_bench::{chart, child};

#[global_allocator]
static ALLOC: CountingAlloc = CountingAlloc;

const USAGE: &str = "usage: compare [--workers N] [--rounds N] [--quick] [--flavor F]
               [--markdown PATH] [--svg PATH] [FILTER...]
  --workers N      worker threads of each multi-thread runtime (default: available cores)
  --rounds N       runs per runtime; the median is reported (default 7, 1 with --quick)
  --quick          tiny sizes, for a CI smoke test
  --flavor F       only multi_thread (MT) or current_thread (1T); default both
  --markdown PATH  also write the table, and the count line, to PATH
  --svg PATH       also draw the ratios as a bar chart to PATH
  --only RUNTIME   run only spindle, tokio or smol (for strace, perf, callgrind: one
                   runtime's system calls and samples alone); other columns read n/a
  FILTER           run only workloads whose name contains one of these";

struct Options {
    workers: usize,
    rounds: Option<usize>,
    quick: bool,
    flavors: Vec<Flavor>,
    markdown: Option<PathBuf>,
    svg: Option<PathBuf>,
    only: Option<Contender>,
    filters: Vec<String>,
}

fn parse(mut args: impl Iterator<Item = String>) -> Result<Options, String> {
    let mut opts = Options {
        workers: std::thread::available_parallelism().map_or(1, |n| n.get()),
        rounds: None,
        quick: false,
        flavors: Flavor::ALL.to_vec(),
        markdown: None,
        svg: None,
        only: None,
        filters: Vec::new(),
    };
    let number = |flag: &str, value: Option<String>| -> Result<usize, String> {
        value
            .and_then(|v| v.parse().ok())
            .filter(|&n| n > 0)
            .ok_or_else(|| format!("{flag} needs a positive number"))
    };
    let path = |flag: &str, value: Option<String>| -> Result<PathBuf, String> {
        value
            .map(PathBuf::from)
            .ok_or_else(|| format!("{flag} needs a path"))
    };
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--workers" => opts.workers = number("--workers", args.next())?,
            "--rounds" => opts.rounds = Some(number("--rounds", args.next())?),
            "--quick" => opts.quick = true,
            "--flavor" | "--flavour" => {
                let value = args.next().ok_or("--flavor needs a flavour")?;
                opts.flavors = vec![value.parse()?];
            }
            "--markdown" => opts.markdown = Some(path("--markdown", args.next())?),
            "--svg" => opts.svg = Some(path("--svg", args.next())?),
            "--only" => {
                let value = args.next().ok_or("--only needs a runtime")?;
                let who = Contender::ALL.into_iter().find(|c| c.name() == value);
                opts.only = Some(who.ok_or_else(|| format!("--only: no runtime {value}"))?);
            }
            "-h" | "--help" => return Err(String::new()),
            flag if flag.starts_with('-') => return Err(format!("unknown flag {flag}")),
            _ => opts.filters.push(arg),
        }
    }
    Ok(opts)
}

/// Runs `workload` `rounds` times on each runtime of `field`, in a rotating order, and
/// returns the medians (NaN for a runtime left out by `only`).
fn measure(
    field: &Field,
    (nth, w): (usize, &'static Workload),
    sizes: &Sizes,
    rounds: usize,
    only: Option<Contender>,
) -> Row {
    let mut samples: [Vec<_>; 3] = Default::default();
    for round in 0..rounds {
        for who in order(nth, round) {
            if only.is_none_or(|only| only == who) {
                samples[who.index()].push(field.run(who, w, sizes));
            }
        }
    }
    Row {
        workload: w,
        flavor: field.flavor(),
        medians: samples.map(|s| {
            if s.is_empty() {
                Sample::from(f64::NAN)
            } else {
                report::median_sample(&s)
            }
        }),
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let Some(code) = child::main_if_child(&args) {
        return code;
    }
    let opts = match parse(args.into_iter()) {
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
    let chosen: Vec<(usize, &'static Workload)> = ALL
        .iter()
        .filter(|w| opts.filters.is_empty() || opts.filters.iter().any(|f| w.name.contains(f)))
        .enumerate()
        .collect();
    if chosen.is_empty() {
        let names: Vec<_> = ALL.iter().map(|w| w.name).collect();
        eprintln!(
            "compare: no workload matches; there are: {}",
            names.join(", ")
        );
        return ExitCode::from(2);
    }

    let names: Vec<_> = Contender::ALL.map(Contender::name).to_vec();
    eprintln!(
        "{} workers, {rounds} round(s), {} sizes; {} rotating which goes first each round",
        opts.workers,
        if opts.quick { "quick" } else { "full" },
        names.join(", "),
    );

    // One flavour at a time, so the idle runtimes of the other cannot get in the way (smol's
    // reactor is shared by the whole process).
    let mut rows = Vec::new();
    for &flavor in &opts.flavors {
        eprintln!("{flavor}:");
        let field = Field::new(flavor, opts.workers);
        for &(nth, w) in &chosen {
            let row = measure(&field, (nth, w), &sizes, rounds, opts.only);
            eprintln!("{}", row.markdown(&sizes));
            rows.push(row);
        }
    }
    // Table order: by workload, each flavour under it.
    rows.sort_by_key(|row| {
        let nth = ALL.iter().position(|w| w.name == row.workload.name);
        let flavor = Flavor::ALL.iter().position(|&f| f == row.flavor);
        (nth, flavor)
    });

    let table = report::markdown(&rows, &sizes);
    print!("{table}");
    if let Some(path) = &opts.markdown {
        if let Err(e) = std::fs::write(path, &table) {
            eprintln!("compare: write {}: {e}", path.display());
            return ExitCode::FAILURE;
        }
    }
    if let Some(path) = &opts.svg {
        let title = format!(
            "Spindle / best of tokio and smol, {} workers, median of {rounds}",
            opts.workers
        );
        if let Err(e) = chart::write_svg(&rows, &title, path) {
            eprintln!("compare: {e}");
            return ExitCode::FAILURE;
        }
    }
    ExitCode::SUCCESS
}
