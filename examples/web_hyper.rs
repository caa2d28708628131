//! The `web` example without a framework: what axum does for you, by hand on bare hyper.
//! One Spindle task per connection, hyper's HTTP/1 connection driver with Spindle's timer,
//! and a `service_fn` that matches on method and path itself — parsing `/items/{id}` and
//! writing the JSON out are the handler's job here.
//!
//! `cargo run --example web_hyper` (then `curl 127.0.0.1:8001/items/5`); `PORT=9001` picks
//! another port. Ctrl-C just ends the process: for graceful shutdown see `web`.

// Not a library: `pub` items here are shared with the tests through `#[path]` modules,
// so the workspace's API lints (missing_docs, unreachable_pub, missing Debug) do not apply.
#![allow(missing_docs, unreachable_pub, missing_debug_implementations)]

use std::convert::Infallible;
use std::io;

use bytes::Bytes;
use http_body_util::Full;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use spindle::net::TcpListener;

fn json(status: StatusCode, body: String) -> Response<Full<Bytes>> {
    Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(body)))
        .expect("a valid response")
}

/// The routes: `GET /`, `GET /items/{id}` (an integer id), anything else 404.
pub async fn handle(
    req: Request<hyper::body::Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let path = req.uri().path();
    let response = match (req.method(), path.strip_prefix("/items/")) {
        (&Method::GET, _) if path == "/" => {
            json(StatusCode::OK, r#"{"message":"Hello World"}"#.into())
        }
        (&Method::GET, Some(id)) => match id.parse::<u64>() {
            Ok(id) => json(StatusCode::OK, format!(r#"{{"item_id":{id}}}"#)),
            Err(_) => json(
                StatusCode::UNPROCESSABLE_ENTITY,
                r#"{"detail":"item_id should be an integer"}"#.into(),
            ),
        },
        _ => json(StatusCode::NOT_FOUND, r#"{"detail":"Not Found"}"#.into()),
    };
    Ok(response)
}

/// Accepts connections forever, each served on its own task.
pub async fn serve(listener: TcpListener) -> io::Result<()> {
    loop {
        let (stream, _) = listener.accept().await?;
        spindle::spawn(async move {
            // A client that hangs up or sends garbage ends its own connection, nothing else.
            let _ = http1::Builder::new()
                .timer(spindle::hyper::Timer::new())
                .serve_connection(stream, service_fn(handle))
                .await;
        });
    }
}

fn main() -> io::Result<()> {
    spindle::run(async {
        let port = std::env::var("PORT").unwrap_or_else(|_| "8001".into());
        let listener = TcpListener::bind(format!("127.0.0.1:{port}")).await?;
        println!(
            "serving on http://{}/ ; Ctrl-C to stop",
            listener.local_addr()?
        );
        serve(listener).await
    })
}
