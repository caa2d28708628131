//! Blocking code (asyncio tutorial, "run_in_executor"): blocking calls go to a thread pool
//! so the event loop stays responsive.
//!
//! - `spawn_blocking` for a blocking `std::thread::sleep` (asyncio's `loop.run_in_executor(None,
//!   time.sleep, 1)`);
//! - a blocking HTTP fetch with `std::net::TcpStream` (the tutorial's `requests.get`), against
//!   a small HTTP server this example runs on Spindle itself;
//! - CPU-bound work on a bounded pool (asyncio's `ProcessPoolExecutor(max_workers=2)`): a
//!   semaphore lets at most `workers` closures into `spawn_blocking` at once.
//!
//! Meanwhile a ticker task counts ticks: if blocking work ran on the loop, it would stall.
//!
//! Finally, asyncio's debug mode (`PYTHONASYNCIODEBUG=1`, `loop.slow_callback_duration`):
//! a runtime with `slow_poll_threshold` names the task that made a blocking call on the loop
//! by mistake, and where it was spawned. `SPINDLE_DEBUG=1` does the same for any Spindle
//! program, printing to stderr.
//!
//! `cargo run --example run_in_executor`

// Not a library: `pub` items here are shared with the tests through `#[path]` modules,
// so the workspace's API lints (missing_docs, unreachable_pub, missing Debug) do not apply.
#![allow(missing_docs, unreachable_pub, missing_debug_implementations)]

use std::io::{Read, Write};
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use futures::{AsyncReadExt, AsyncWriteExt};
use spindle::net::TcpListener;
use spindle::sync::Semaphore;
use spindle::time::{self, Instant};

/// What the run saw, for the test to check.
#[derive(Debug)]
pub struct Report {
    /// Ticks the ticker counted while the blocking work ran.
    pub ticks: usize,
    /// The body the blocking HTTP fetch got.
    pub fetched: String,
    /// The CPU-bound results (number of primes below each bound), in order.
    pub primes: Vec<usize>,
    /// The most CPU-bound closures that ran at once.
    pub max_parallel: usize,
    /// Wall time of the whole run.
    pub elapsed: Duration,
}

/// Debug mode: a task calls `std::thread::sleep` on the loop (the mistake `spawn_blocking`
/// exists to avoid), on a runtime that reports polls over 50 ms. Returns the reports.
pub fn debug_mode_catches_a_blocking_call() -> Vec<String> {
    let reports = Arc::new(std::sync::Mutex::new(Vec::new()));
    let sink = reports.clone();
    let rt = spindle::runtime::Builder::new_current_thread()
        .slow_poll_threshold(Duration::from_millis(50))
        .on_slow_poll(move |poll| sink.lock().unwrap().push(poll.to_string()))
        .build()
        .expect("building the debug runtime");
    rt.block_on(async {
        let mistake = spindle::task::Builder::new()
            .name("requests.get on the loop")
            .spawn(async { std::thread::sleep(Duration::from_millis(120)) })
            .expect("spawning");
        mistake.await.unwrap();
    });
    let reports = reports.lock().unwrap().clone();
    for report in &reports {
        println!("debug mode: {report}");
    }
    reports
}

/// A tiny HTTP/1.0-style server on Spindle: answers every request with `body`, then closes.
async fn serve(listener: TcpListener, body: &'static str) {
    loop {
        let Ok((mut stream, _)) = listener.accept().await else {
            return;
        };
        spindle::spawn(async move {
            // Read up to the end of the request head; this server ignores the rest.
            let mut head = Vec::new();
            let mut buf = [0u8; 512];
            while !head.ends_with(b"\r\n\r\n") {
                match stream.read(&mut buf).await {
                    Ok(0) | Err(_) => return,
                    Ok(n) => head.extend_from_slice(&buf[..n]),
                }
            }
            let response = format!(
                "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = stream.write_all(response.as_bytes()).await;
            let _ = stream.close().await;
        });
    }
}

/// A blocking GET with std's TcpStream, as a synchronous HTTP library would do it.
fn blocking_get(addr: SocketAddr, path: &str) -> std::io::Result<String> {
    let mut stream = std::net::TcpStream::connect(addr)?;
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )?;
    let mut response = String::new();
    stream.read_to_string(&mut response)?;
    let (_head, body) = response
        .split_once("\r\n\r\n")
        .ok_or_else(|| std::io::Error::other("response without a header end"))?;
    Ok(body.to_string())
}

/// CPU-bound: counts primes below `bound` by trial division.
fn count_primes(bound: u64) -> usize {
    (2..bound)
        .filter(|&n| (2..).take_while(|d| d * d <= n).all(|d| n % d != 0))
        .count()
}

/// Runs the three kinds of blocking work while a ticker ticks every 10 ms.
/// `workers` bounds the CPU-bound pool; `bounds` are the CPU jobs.
pub async fn run(sleep_for: Duration, workers: usize, bounds: Vec<u64>) -> Report {
    let start = Instant::now();
    let ticks = Arc::new(AtomicUsize::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let ticker = {
        let (ticks, stop) = (ticks.clone(), stop.clone());
        spindle::spawn(async move {
            let mut interval = time::interval(Duration::from_millis(10));
            while !stop.load(Ordering::Relaxed) {
                interval.tick().await;
                ticks.fetch_add(1, Ordering::Relaxed);
            }
        })
    };

    // 1. A blocking sleep, off the loop.
    let slept = spindle::spawn_blocking(move || {
        std::thread::sleep(sleep_for);
        sleep_for
    });

    // 2. A blocking HTTP fetch, off the loop, from a server on the loop.
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("binding the server");
    let addr = listener.local_addr().unwrap();
    let server = spindle::spawn(serve(listener, "hello from the event loop"));
    let fetched = spindle::spawn_blocking(move || blocking_get(addr, "/"));

    // 3. CPU-bound jobs on a pool of `workers`: each holds a permit while it runs.
    let pool = Arc::new(Semaphore::new(workers));
    let running = Arc::new(AtomicUsize::new(0));
    let max_parallel = Arc::new(AtomicUsize::new(0));
    let mut jobs = Vec::new();
    for bound in bounds {
        let permit = pool.acquire_arc().await;
        let (running, max_parallel) = (running.clone(), max_parallel.clone());
        jobs.push(spindle::spawn_blocking(move || {
            let now = running.fetch_add(1, Ordering::SeqCst) + 1;
            max_parallel.fetch_max(now, Ordering::SeqCst);
            let primes = count_primes(bound);
            running.fetch_sub(1, Ordering::SeqCst);
            drop(permit); // hand the slot to the next job
            primes
        }));
    }

    let primes: Vec<usize> = spindle::task::gather(jobs)
        .await
        .into_iter()
        .map(|r| r.expect("a CPU job panicked"))
        .collect();
    let fetched = fetched.await.unwrap().expect("the blocking fetch failed");
    let slept = slept.await.unwrap();
    println!("blocking sleep of {slept:?} done");
    println!("blocking fetch got: {fetched:?}");
    println!("primes below each bound: {primes:?}");

    stop.store(true, Ordering::Relaxed);
    ticker.await.unwrap();
    server.abort();
    let ticks = ticks.load(Ordering::Relaxed);
    println!("meanwhile the ticker ticked {ticks} times: the loop stayed responsive");
    Report {
        ticks,
        fetched,
        primes,
        max_parallel: max_parallel.load(Ordering::SeqCst),
        elapsed: start.elapsed(),
    }
}

#[allow(dead_code)] // the tests include this file for its functions, not for `main`
#[spindle::main]
pub async fn main() {
    let report = run(
        Duration::from_millis(500),
        2,
        vec![200_000, 150_000, 100_000, 50_000],
    )
    .await;
    println!(
        "at most {} CPU jobs ran at once; all done in {:.2?}",
        report.max_parallel, report.elapsed
    );
    // Its own runtime, built on a blocking thread: one cannot block_on inside this one.
    spindle::spawn_blocking(debug_mode_catches_a_blocking_call)
        .await
        .unwrap();
}
