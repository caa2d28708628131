//! A web crawler (asyncio tutorial, "web crawler"): fetch N URLs concurrently with at most K
//! requests in flight, bounded by a semaphore (`async with asyncio.Semaphore(k):`).
//!
//! The pages come from a local server this example runs itself (hyper on Spindle, answering
//! each request after a delay), fetched with hyper's client over `spindle::net::TcpStream`.
//!
//! `cargo run --example crawler --features hyper`

// Not a library: `pub` items here are shared with the tests through `#[path]` modules,
// so the workspace's API lints (missing_docs, unreachable_pub, missing Debug) do not apply.
#![allow(missing_docs, unreachable_pub, missing_debug_implementations)]

#[path = "common/http.rs"]
mod http;

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use spindle::net::TcpListener;
use spindle::sync::Semaphore;
use spindle::time::{self, Instant};

/// Counts what is in flight now and the most seen at once.
#[derive(Default)]
struct Gauge {
    now: AtomicUsize,
    max: AtomicUsize,
}

impl Gauge {
    fn enter(&self) {
        let now = self.now.fetch_add(1, Ordering::SeqCst) + 1;
        self.max.fetch_max(now, Ordering::SeqCst);
    }

    fn leave(&self) {
        self.now.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Page `/page/N` is N × 100 bytes, served after `delay`.
async fn page(
    req: Request<hyper::body::Incoming>,
    delay: Duration,
    served: Arc<Gauge>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    served.enter();
    time::sleep(delay).await;
    served.leave();
    let n: usize = req
        .uri()
        .path()
        .strip_prefix("/page/")
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    Ok(Response::new(Full::new(Bytes::from(vec![b'x'; n * 100]))))
}

/// Starts the page server; returns its address and a gauge of requests being served.
async fn start_server(delay: Duration) -> (SocketAddr, Arc<Gauge>) {
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("binding the server");
    let addr = listener.local_addr().unwrap();
    let served = Arc::new(Gauge::default());
    let gauge = served.clone();
    spindle::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let served = served.clone();
            spindle::spawn(async move {
                let service = service_fn(move |req| page(req, delay, served.clone()));
                let _ = http1::Builder::new()
                    .timer(spindle::hyper::Timer::new())
                    .serve_connection(stream, service)
                    .await;
            });
        }
    });
    (addr, gauge)
}

/// One GET on a fresh connection; returns the body's size.
async fn fetch(addr: SocketAddr, path: &str) -> std::io::Result<usize> {
    Ok(http::get(addr, path).await?.1.len())
}

/// What a crawl saw.
#[derive(Debug)]
pub struct Crawl {
    /// `(path, body size)` for each URL, in the order given.
    pub pages: Vec<(String, usize)>,
    /// The most fetches the crawler had in flight at once.
    pub max_in_flight: usize,
    /// The most requests the server was serving at once.
    pub max_served: usize,
    pub elapsed: Duration,
}

/// Fetches `/page/1` ..= `/page/n` with at most `k` in flight, each answered after `delay`.
pub async fn crawl(n: usize, k: usize, delay: Duration) -> Crawl {
    let (addr, served) = start_server(delay).await;
    let limit = Arc::new(Semaphore::new(k));
    let in_flight = Arc::new(Gauge::default());
    let start = Instant::now();
    let tasks = (1..=n)
        .map(|i| {
            let (limit, in_flight) = (limit.clone(), in_flight.clone());
            spindle::spawn(async move {
                let path = format!("/page/{i}");
                let _permit = limit.acquire().await;
                in_flight.enter();
                let size = fetch(addr, &path).await;
                in_flight.leave();
                let size = size.unwrap_or_else(|err| panic!("fetching {path}: {err}"));
                println!("  {path}: {size} bytes");
                (path, size)
            })
        })
        .collect();
    let pages = spindle::task::gather(tasks)
        .await
        .into_iter()
        .map(|r| r.expect("a fetch task failed"))
        .collect();
    let elapsed = start.elapsed();
    Crawl {
        pages,
        max_in_flight: in_flight.max.load(Ordering::SeqCst),
        max_served: served.max.load(Ordering::SeqCst),
        elapsed,
    }
}

#[allow(dead_code)] // the tests include this file for its functions, not for `main`
#[spindle::main]
pub async fn main() {
    let (n, k, delay) = (12, 3, Duration::from_millis(200));
    println!("fetching {n} pages, at most {k} at a time, each taking {delay:?}:");
    let crawl = crawl(n, k, delay).await;
    let total: usize = crawl.pages.iter().map(|(_, size)| size).sum();
    println!(
        "{} pages, {total} bytes in {:.2?} (at most {} in flight; {n} one at a time would take {:.2?})",
        crawl.pages.len(),
        crawl.elapsed,
        crawl.max_in_flight,
        delay * n as u32
    );
}
