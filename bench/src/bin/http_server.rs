//! HTTP/1 hello world with hyper, on Spindle or on tokio, for `bench/http.sh` to load with
//! wrk. Both sides use the same hyper `http1` server with the runtime's own timer (hyper
//! arms its header-read timeout with it on every request) and Nagle off.
//!
//! ```text
//! cargo run --release -p spindle-bench --bin http_server -- --runtime spindle|tokio --port P [--workers N]
//! ```

use std::convert::Infallible;
use std::net::{Ipv4Addr, SocketAddr};
use std::process::ExitCode;

use bytes::Bytes;
use http_body_util::Full;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};

const USAGE: &str = "usage: http_server --runtime spindle|tokio --port P [--workers N]
  --runtime  which runtime serves
  --port     loopback port to listen on (127.0.0.1)
  --workers  worker threads (default: available cores)";

async fn hello(_req: Request<hyper::body::Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    Ok(Response::new(Full::new(Bytes::from_static(
        b"Hello, world!",
    ))))
}

fn serve_spindle(addr: SocketAddr, workers: usize) -> std::io::Result<()> {
    let rt = spindle::runtime::Builder::new_multi_thread()
        .worker_threads(workers)
        .build()?;
    rt.block_on(async move {
        let listener = spindle::net::TcpListener::bind(addr).await?;
        eprintln!("http_server: spindle on http://{addr}/ ({workers} workers)");
        loop {
            let (stream, _) = listener.accept().await?;
            stream.set_nodelay(true)?;
            spindle::spawn(async move {
                let _ = http1::Builder::new()
                    .timer(spindle::hyper::Timer::new())
                    .serve_connection(stream, service_fn(hello))
                    .await;
            });
        }
    })
}

fn serve_tokio(addr: SocketAddr, workers: usize) -> std::io::Result<()> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers)
        .enable_all()
        .build()?;
    rt.block_on(async move {
        let listener = tokio::net::TcpListener::bind(addr).await?;
        eprintln!("http_server: tokio on http://{addr}/ ({workers} workers)");
        loop {
            let (stream, _) = listener.accept().await?;
            stream.set_nodelay(true)?;
            tokio::spawn(async move {
                let _ = http1::Builder::new()
                    .timer(hyper_util::rt::TokioTimer::new())
                    .serve_connection(hyper_util::rt::TokioIo::new(stream), service_fn(hello))
                    .await;
            });
        }
    })
}

fn main() -> ExitCode {
    let (mut runtime, mut port) = (None, None);
    let mut workers = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let value = args.next();
        match (arg.as_str(), value) {
            ("--runtime", Some(v)) if v == "spindle" || v == "tokio" => runtime = Some(v),
            ("--port", Some(v)) => port = v.parse::<u16>().ok(),
            ("--workers", Some(v)) => match v.parse() {
                Ok(n) if n > 0 => workers = n,
                _ => port = None,
            },
            _ => {
                eprintln!("{USAGE}");
                return ExitCode::from(2);
            }
        }
    }
    let (Some(runtime), Some(port)) = (runtime, port) else {
        eprintln!("{USAGE}");
        return ExitCode::from(2);
    };
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let served = match runtime.as_str() {
        "spindle" => serve_spindle(addr, workers),
        _ => serve_tokio(addr, workers),
    };
    match served {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("http_server: {err}");
            ExitCode::FAILURE
        }
    }
}
