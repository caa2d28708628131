//! The asyncio tutorial's "download images" section: fetch three images one after another,
//! then all at once, and compare the wall times. No network: the example serves generated
//! images itself (hyper on Spindle), each answered after a fixed delay, so the concurrent
//! run takes about one delay and the sequential run about three.
//!
//! `cargo run --example download_images --features hyper`

// Not a library: `pub` items here are shared with the tests through `#[path]` modules,
// so the workspace's API lints (missing_docs, unreachable_pub, missing Debug) do not apply.
#![allow(missing_docs, unreachable_pub, missing_debug_implementations)]

#[path = "common/http.rs"]
mod http;

use std::convert::Infallible;
use std::io;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::Full;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use spindle::net::TcpListener;
use spindle::task::JoinHandle;

/// The images the tutorial downloads (names only: the bytes are generated).
pub const IMAGES: [&str; 3] = ["red.ppm", "green.ppm", "blue.ppm"];

/// A 64x64 PPM (binary P6) gradient, tinted by the image's name: real image bytes that any
/// viewer opens, different for each name, reproducible for the tests.
pub fn image_bytes(name: &str) -> Vec<u8> {
    let tint: [u8; 3] = match name {
        "red.ppm" => [255, 0, 0],
        "green.ppm" => [0, 255, 0],
        _ => [0, 0, 255],
    };
    let (w, h) = (64u32, 64u32);
    let mut out = format!("P6\n{w} {h}\n255\n").into_bytes();
    for y in 0..h {
        for x in 0..w {
            let shade = ((x + y) * 255 / (w + h - 2)) as u16;
            for channel in tint {
                out.push((u16::from(channel) * shade / 255) as u8);
            }
        }
    }
    out
}

/// The local image server: answers `GET /images/<name>` after `delay`, 404 otherwise.
pub struct ImageServer {
    pub addr: SocketAddr,
    accept_loop: JoinHandle<()>,
}

impl ImageServer {
    pub async fn start(delay: Duration) -> io::Result<ImageServer> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let accept_loop = spindle::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                spindle::spawn(async move {
                    let service =
                        service_fn(move |req: Request<hyper::body::Incoming>| async move {
                            let name = req.uri().path().strip_prefix("/images/").unwrap_or("");
                            let response = if IMAGES.contains(&name) {
                                // The "network": every image takes `delay` to arrive.
                                spindle::time::sleep(delay).await;
                                Response::builder()
                                    .header("content-type", "image/x-portable-pixmap")
                                    .body(Full::new(Bytes::from(image_bytes(name))))
                            } else {
                                Response::builder()
                                    .status(StatusCode::NOT_FOUND)
                                    .body(Full::new(Bytes::from_static(b"no such image")))
                            };
                            Ok::<_, Infallible>(response.expect("a valid response"))
                        });
                    // A client that hangs up early is its own problem, not the server's.
                    let _ = hyper::server::conn::http1::Builder::new()
                        .timer(spindle::hyper::Timer::new())
                        .serve_connection(stream, service)
                        .await;
                });
            }
        });
        Ok(ImageServer { addr, accept_loop })
    }
}

impl Drop for ImageServer {
    fn drop(&mut self) {
        self.accept_loop.abort();
    }
}

/// GET `http://{addr}{path}`; anything but 200 is an error.
pub async fn fetch(addr: SocketAddr, path: &str) -> io::Result<Bytes> {
    let (status, body) = http::get(addr, path).await?;
    if status != StatusCode::OK {
        return Err(io::Error::other(format!("GET {path}: {status}")));
    }
    Ok(body)
}

/// Downloads one image and writes it into `dir`.
pub async fn download(addr: SocketAddr, name: &str, dir: &Path) -> io::Result<PathBuf> {
    let bytes = fetch(addr, &format!("/images/{name}")).await?;
    let path = dir.join(name);
    // A small file on a local disk: writing it inline costs less than a thread hop.
    std::fs::write(&path, &bytes)?;
    Ok(path)
}

/// One after another: each `await` finishes before the next download starts.
pub async fn sequential(addr: SocketAddr, dir: &Path) -> io::Result<Vec<PathBuf>> {
    let mut paths = Vec::new();
    for name in IMAGES {
        paths.push(download(addr, name, dir).await?);
    }
    Ok(paths)
}

/// All at once: one task per image (asyncio.create_task), then await each.
pub async fn concurrent(addr: SocketAddr, dir: &Path) -> io::Result<Vec<PathBuf>> {
    let tasks: Vec<_> = IMAGES
        .iter()
        .map(|name| {
            let dir = dir.to_path_buf();
            spindle::spawn(async move { download(addr, name, &dir).await })
        })
        .collect();
    let mut paths = Vec::new();
    for task in tasks {
        paths.push(task.await.map_err(io::Error::other)??);
    }
    Ok(paths)
}

#[derive(Debug)]
pub struct Timings {
    pub sequential: Duration,
    pub concurrent: Duration,
    pub sequential_files: Vec<PathBuf>,
    pub concurrent_files: Vec<PathBuf>,
}

/// Both runs against one server with the given per-image delay, files under `dir/sequential`
/// and `dir/concurrent`.
pub async fn compare(delay: Duration, dir: &Path) -> io::Result<Timings> {
    let server = ImageServer::start(delay).await?;
    let (seq_dir, con_dir) = (dir.join("sequential"), dir.join("concurrent"));
    std::fs::create_dir_all(&seq_dir)?;
    std::fs::create_dir_all(&con_dir)?;

    let start = Instant::now();
    let sequential_files = sequential(server.addr, &seq_dir).await?;
    let sequential_time = start.elapsed();

    let start = Instant::now();
    let concurrent_files = concurrent(server.addr, &con_dir).await?;
    let concurrent_time = start.elapsed();

    Ok(Timings {
        sequential: sequential_time,
        concurrent: concurrent_time,
        sequential_files,
        concurrent_files,
    })
}

/// The tour's entry point: 200 ms per image, files in a fresh temp dir (removed after).
pub async fn demo() -> io::Result<()> {
    let delay = Duration::from_millis(200);
    let dir = std::env::temp_dir().join(format!("spindle-images-{}", std::process::id()));
    let timings = compare(delay, &dir).await;
    let result = timings.map(|t| {
        println!("each image takes {delay:?} to serve");
        for path in &t.concurrent_files {
            let size = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
            println!("  downloaded {} ({size} bytes)", path.display());
        }
        println!(
            "sequential: {:>6.0} ms (about 3 x {delay:?})",
            t.sequential.as_secs_f64() * 1e3
        );
        println!(
            "concurrent: {:>6.0} ms (about 1 x {delay:?})",
            t.concurrent.as_secs_f64() * 1e3
        );
    });
    let _ = std::fs::remove_dir_all(&dir);
    result
}

fn main() -> io::Result<()> {
    spindle::run(demo())
}
