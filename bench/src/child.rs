//! `idle_task_memory` in a fresh process: `compare` re-executes itself as
//! `compare --child-rss RUNTIME FLAVOR WORKERS TASKS`, and the child builds that one runtime,
//! spawns the idle tasks and prints what they cost.
//!
//! Why a child: resident memory is the number a user sees, and in the parent it would be
//! blurred by the other five runtimes and by memory the earlier workloads freed but the
//! allocator kept. A fresh process has neither.

use std::process::{Command, ExitCode, Stdio};

use crate::alloc;
use crate::rt::{Flavor, Rt, Smol, Spindle, Tokio};
use crate::workloads::{Sample, spawn_idle_tasks};

/// The hidden flag that makes `compare` the child.
pub const FLAG: &str = "--child-rss";

/// In the parent: runs the current executable as the child for `runtime` (an [`Rt::NAME`])
/// and returns resident bytes per task, with heap bytes per task as the extra `"heap"`
/// (NaN where the child has no counting allocator).
///
/// # Panics
///
/// If the child fails or prints something else: the current executable must call
/// [`main_if_child`] first thing, as `compare` does.
pub fn idle_task_memory(runtime: &str, flavor: Flavor, workers: usize, tasks: usize) -> Sample {
    let exe = std::env::current_exe().expect("the path of this executable");
    let out = Command::new(&exe)
        .args([FLAG, runtime, flavor.name()])
        .args([workers.to_string(), tasks.to_string()])
        .stderr(Stdio::inherit())
        .output()
        .unwrap_or_else(|e| panic!("run {} {FLAG}: {e}", exe.display()));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{FLAG} child failed: {stdout}");
    let numbers: Vec<f64> = stdout
        .split_whitespace()
        .map(|n| n.parse().unwrap_or(f64::NAN))
        .collect();
    let [rss, heap] = numbers[..] else {
        panic!("{FLAG} child printed {stdout:?}, not two numbers");
    };
    Sample {
        value: rss,
        extra: vec![("heap", heap)],
    }
}

/// In the child: when `args` (without the program name) start with [`FLAG`], measures and
/// prints `RSS_BYTES_PER_TASK HEAP_BYTES_PER_TASK`, and returns the exit code; `None` for
/// any other command line.
pub fn main_if_child(args: &[String]) -> Option<ExitCode> {
    let [flag, runtime, flavor, workers, tasks] = args else {
        return (args.first().map(String::as_str) == Some(FLAG)).then(|| {
            eprintln!("usage: {FLAG} RUNTIME FLAVOR WORKERS TASKS");
            ExitCode::from(2)
        });
    };
    if flag != FLAG {
        return None;
    }
    Some(match child(runtime, flavor, workers, tasks) {
        Ok((rss, heap)) => {
            println!("{rss} {heap}");
            // Skip the runtime's shutdown: cancelling the idle tasks is not measured.
            std::process::exit(0)
        }
        Err(msg) => {
            eprintln!("{FLAG}: {msg}");
            ExitCode::from(2)
        }
    })
}

/// Parses the child's arguments and measures.
fn child(runtime: &str, flavor: &str, workers: &str, tasks: &str) -> Result<(f64, f64), String> {
    let flavor: Flavor = flavor.parse()?;
    let workers: usize = workers.parse().map_err(|e| format!("workers: {e}"))?;
    let tasks: usize = tasks.parse().map_err(|e| format!("tasks: {e}"))?;
    match runtime {
        Spindle::NAME => Ok(measure::<Spindle>(flavor, workers, tasks)),
        Tokio::NAME => Ok(measure::<Tokio>(flavor, workers, tasks)),
        Smol::NAME => Ok(measure::<Smol>(flavor, workers, tasks)),
        other => Err(format!("unknown runtime {other:?}")),
    }
}

/// Resident bytes and heap bytes per idle task, on a fresh runtime of `R`.
fn measure<R: Rt>(flavor: Flavor, workers: usize, tasks: usize) -> (f64, f64) {
    let rt = R::new(flavor, workers);
    // Let the runtime's threads start and its drivers settle before the first reading.
    rt.block_on(R::yield_now());
    let before = resident_bytes();
    let ((), heap) = alloc::measure(|| spawn_idle_tasks(&rt, tasks));
    let after = resident_bytes();
    let per_task = |bytes: f64| bytes / tasks as f64;
    (
        per_task(after - before),
        heap.map_or(f64::NAN, |b| per_task(b as f64)),
    )
}

/// This process's resident set (`VmRSS` in `/proc/self/status`), in bytes.
fn resident_bytes() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("read /proc/self/status");
    let kb = status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| {
            rest.trim()
                .trim_end_matches("kB")
                .trim()
                .parse::<f64>()
                .ok()
        })
        .expect("VmRSS in /proc/self/status");
    kb * 1024.0
}
