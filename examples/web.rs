//! The asyncio tutorial's FastAPI/uvicorn section: an HTTP server (hyper on Spindle) with
//! `GET /` answering plain JSON and `GET /red` that sleeps, then reads and writes Redis
//! through a connection pool; unknown paths get 404. Ctrl-C stops it gracefully: it stops
//! accepting, lets in-flight requests finish, then exits. `Server::shutdown` does the same
//! from code (the tests and the tour use it).
//!
//! `cargo run --example web --features hyper` (then `curl 127.0.0.1:8000/red`); it starts its
//! own `redis-server` when one is installed, else an embedded `mini_redis` (the RESP server
//! of `examples/mini_redis.rs`, in this process). `PORT=9000` picks another port.

// The client (`resp`) and the embedded server (`mini_redis`) each compile the shared RESP
// framing module.
#![allow(clippy::duplicate_mod)]

#[path = "common/http.rs"]
mod http;

use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::net::{SocketAddr, ToSocketAddrs};
use std::pin::pin;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures::channel::oneshot;
use futures::future::{Either, FutureExt, Shared, select};
use http_body_util::Full;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use spindle::net::TcpListener;
use spindle::task::{JoinHandle, JoinSet};

#[allow(dead_code)]
#[path = "common/mini_redis.rs"]
pub mod mini_redis;
#[allow(dead_code)]
#[path = "common/peers.rs"]
pub mod peers;
#[allow(dead_code)]
#[path = "common/resp.rs"]
pub mod resp;

/// What the handlers share.
pub struct App {
    /// `None`: no Redis, and `/red` answers 503 saying so.
    pub redis: Option<resp::Pool>,
    /// How long `/red` sleeps before touching Redis (the tutorial's `await asyncio.sleep`).
    pub red_delay: Duration,
}

/// How long shutdown waits for in-flight requests before cutting them off.
pub const GRACE: Duration = Duration::from_secs(5);

fn json(status: StatusCode, body: String) -> Response<Full<Bytes>> {
    Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(body)))
        .expect("a valid response")
}

/// Escapes a string for a JSON string literal (the replies are small enough to format by
/// hand; no JSON library needed).
fn json_str(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

async fn red(app: &App) -> Response<Full<Bytes>> {
    let Some(pool) = &app.redis else {
        return json(
            StatusCode::SERVICE_UNAVAILABLE,
            r#"{"detail": "redis is not configured"}"#.into(),
        );
    };
    spindle::time::sleep(app.red_delay).await;
    let result = async {
        let mut conn = pool.get().await?;
        let hits = conn.incr("web:hits").await?;
        conn.set("web:message", "hello from redis").await?;
        let message = conn.get("web:message").await?.unwrap_or_default();
        Ok::<_, resp::Error>((message, hits))
    }
    .await;
    match result {
        Ok((message, hits)) => json(
            StatusCode::OK,
            format!(r#"{{"message": {}, "hits": {hits}}}"#, json_str(&message)),
        ),
        Err(err) => json(
            StatusCode::BAD_GATEWAY,
            format!(r#"{{"detail": {}}}"#, json_str(&err.to_string())),
        ),
    }
}

/// The routes.
pub async fn route(
    app: Arc<App>,
    req: Request<hyper::body::Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let response = match (req.method(), req.uri().path()) {
        (&Method::GET, "/") => json(StatusCode::OK, r#"{"message": "hello"}"#.into()),
        (&Method::GET, "/red") => red(&app).await,
        (_, "/" | "/red") => json(
            StatusCode::METHOD_NOT_ALLOWED,
            r#"{"detail": "Method Not Allowed"}"#.into(),
        ),
        _ => json(StatusCode::NOT_FOUND, r#"{"detail": "Not Found"}"#.into()),
    };
    Ok(response)
}

/// A running server. Dropping it shuts it down too (without waiting).
pub struct Server {
    pub addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<usize>>,
}

impl Server {
    /// Binds `addr` and serves on a task of the current runtime.
    pub async fn start(addr: impl ToSocketAddrs, app: App) -> io::Result<Server> {
        let listener = TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let (stop, stopped) = oneshot::channel();
        let task = spindle::spawn(serve(listener, Arc::new(app), stopped.shared()));
        Ok(Server {
            addr,
            stop: Some(stop),
            task: Some(task),
        })
    }

    /// Graceful shutdown: stop accepting, let in-flight requests finish (up to [`GRACE`]),
    /// close idle keep-alive connections. Returns how many connections were served.
    pub async fn shutdown(mut self) -> io::Result<usize> {
        drop(self.stop.take());
        let task = self.task.take().expect("present until shutdown");
        task.await.map_err(io::Error::other)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        // Dropping the sender resolves the stop signal: the serve task winds down by itself.
        drop(self.stop.take());
    }
}

type Stop = Shared<oneshot::Receiver<()>>;

async fn serve(listener: TcpListener, app: Arc<App>, mut stop: Stop) -> usize {
    let mut connections = JoinSet::new();
    let mut served = 0;
    loop {
        let accepted = match select(pin!(listener.accept()), &mut stop).await {
            Either::Left((accepted, _)) => accepted,
            Either::Right(_) => break,
        };
        let stream = match accepted {
            Ok((stream, _)) => stream,
            Err(err) => {
                // Out of file descriptors and the like: say so, back off, keep serving.
                eprintln!("web: accept failed: {err}");
                spindle::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        served += 1;
        // Forget connections that have finished, so the set only holds live ones.
        while let Some(Some(_)) = connections.join_next().now_or_never() {}
        let (app, stop) = (app.clone(), stop.clone());
        connections.spawn(async move {
            let service = service_fn(move |req| route(app.clone(), req));
            let conn = hyper::server::conn::http1::Builder::new()
                .timer(spindle::hyper::Timer::new())
                // A client that sends half a request and stalls is dropped, not kept forever.
                .header_read_timeout(GRACE)
                .serve_connection(stream, service);
            let mut conn = pin!(conn);
            // Errors here are one client's (it hung up, sent garbage): never the server's.
            if let Either::Right(_) = select(conn.as_mut(), stop).await {
                conn.as_mut().graceful_shutdown();
                let _ = conn.await;
            }
        });
    }
    drop(listener);
    let drain = async { while connections.join_next().await.is_some() {} };
    if spindle::time::timeout(GRACE, drain).await.is_err() {
        connections.abort_all();
    }
    served
}

/// Resolves on the first Ctrl-C (SIGINT) after this call. The signal handler only writes a
/// byte to a socket pair (the self-pipe trick); the reactor wakes us when it is readable.
/// Call it inside the runtime.
pub fn ctrl_c() -> io::Result<impl Future<Output = io::Result<()>>> {
    let (read, write) = std::os::unix::net::UnixStream::pair()?;
    read.set_nonblocking(true)?;
    write.set_nonblocking(true)?;
    let id = signal_hook::low_level::pipe::register(signal_hook::consts::SIGINT, write)?;
    let read = spindle::io::Async::new(read)?;
    Ok(async move {
        let mut byte = [0u8; 1];
        let result = futures::AsyncReadExt::read(&mut &read, &mut byte).await;
        signal_hook::low_level::unregister(id);
        result.map(drop)
    })
}

/// A one-request HTTP client, for the demo and the tests: status and body of `GET path`.
pub async fn get(addr: SocketAddr, path: &str) -> io::Result<(StatusCode, String)> {
    let (status, body) = http::get(addr, path).await?;
    Ok((status, String::from_utf8_lossy(&body).into_owned()))
}

/// The Redis behind `/red` in the demo: a real one, or the embedded mini_redis.
pub enum DemoRedis {
    Real(peers::Peer),
    Embedded(mini_redis::Server),
}

impl DemoRedis {
    pub fn addr(&self) -> SocketAddr {
        match self {
            DemoRedis::Real(peer) => peer.addr(),
            DemoRedis::Embedded(server) => server.addr,
        }
    }
}

/// Starts a `redis-server` if one is installed, else an in-process mini_redis (saying so).
pub async fn optional_redis() -> io::Result<Option<DemoRedis>> {
    match spindle::spawn_blocking(peers::redis)
        .await
        .map_err(io::Error::other)?
    {
        Ok(peer) => Ok(Some(DemoRedis::Real(peer))),
        Err(err) => {
            match err {
                peers::PeerError::Missing { .. } => {
                    println!("using the embedded mini_redis (redis-server not installed)")
                }
                other => println!("using the embedded mini_redis ({other})"),
            }
            let server = mini_redis::start_in_process().await?;
            Ok(Some(DemoRedis::Embedded(server)))
        }
    }
}

/// The tour's entry point: serve on a free port, request `/`, `/red` and an unknown path,
/// print the answers, shut down gracefully.
pub async fn demo() -> io::Result<()> {
    let redis = optional_redis().await?;
    let app = App {
        redis: redis.as_ref().map(|peer| resp::Pool::new(peer.addr(), 8)),
        red_delay: Duration::from_millis(100),
    };
    let server = Server::start("127.0.0.1:0", app).await?;
    println!("serving on http://{}", server.addr);
    for path in ["/", "/red", "/red", "/nope"] {
        let (status, body) = get(server.addr, path).await?;
        println!("  GET {path:<5} -> {status} {body}");
    }
    let served = server.shutdown().await?;
    println!("shut down gracefully after {served} connections");
    Ok(())
}

fn main() -> io::Result<()> {
    spindle::run(async {
        let redis = optional_redis().await?;
        let app = App {
            redis: redis.as_ref().map(|peer| resp::Pool::new(peer.addr(), 8)),
            red_delay: Duration::from_secs(1),
        };
        let port = std::env::var("PORT").unwrap_or_else(|_| "8000".into());
        let server = Server::start(format!("127.0.0.1:{port}"), app).await?;
        let ctrl_c = ctrl_c()?;
        println!(
            "serving on http://{0}/ and http://{0}/red; Ctrl-C to stop",
            server.addr
        );
        ctrl_c.await?;
        println!("\nCtrl-C: no new connections; finishing in-flight requests");
        let served = server.shutdown().await?;
        println!("served {served} connections; bye");
        Ok(())
    })
}
