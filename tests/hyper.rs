//! hyper's HTTP/1 and HTTP/2 servers and clients on Spindle, unchanged.

// Not a library: `pub` items here are shared with the tests through `#[path]` modules,
// so the workspace's API lints (missing_docs, unreachable_pub, missing Debug) do not apply.
#![allow(missing_docs, unreachable_pub, missing_debug_implementations)]
#![cfg(feature = "hyper")]

mod common;

use std::convert::Infallible;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::server::conn::{http1, http2};
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use spindle::net::{TcpListener, TcpStream};

async fn hello(req: Request<hyper::body::Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    let body = format!("hello from spindle: {}", req.uri().path());
    Ok(Response::new(Full::new(Bytes::from(body))))
}

#[test]
fn http1_server_and_client() {
    for (flavor, rt) in common::runtimes() {
        rt.block_on(async {
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            let server = spindle::spawn(async move {
                let (stream, _) = listener.accept().await.unwrap();
                http1::Builder::new()
                    .timer(spindle::hyper::Timer::new())
                    .serve_connection(stream, service_fn(hello))
                    .await
                    .unwrap();
            });
            let stream = TcpStream::connect(addr).await.unwrap();
            let (mut sender, conn) = hyper::client::conn::http1::handshake(stream).await.unwrap();
            spindle::spawn(conn);
            let req = Request::get("/greet")
                .body(Full::new(Bytes::new()))
                .unwrap();
            let resp = sender.send_request(req).await.unwrap();
            assert_eq!(resp.status(), StatusCode::OK, "{flavor}");
            let body = resp.into_body().collect().await.unwrap().to_bytes();
            assert_eq!(&body[..], b"hello from spindle: /greet", "{flavor}");
            drop(sender);
            server.await.unwrap();
        });
    }
}

#[test]
fn http2_server_and_client_with_spindle_executor() {
    for (flavor, rt) in common::runtimes() {
        rt.block_on(async {
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            spindle::spawn(async move {
                let (stream, _) = listener.accept().await.unwrap();
                let _ = http2::Builder::new(spindle::hyper::Executor::new())
                    .timer(spindle::hyper::Timer::new())
                    .serve_connection(stream, service_fn(hello))
                    .await;
            });
            let stream = TcpStream::connect(addr).await.unwrap();
            let (mut sender, conn) =
                hyper::client::conn::http2::handshake(spindle::hyper::Executor::new(), stream)
                    .await
                    .unwrap();
            spindle::spawn(conn);
            for path in ["/a", "/b", "/c"] {
                let req = Request::get(path).body(Full::new(Bytes::new())).unwrap();
                let resp = sender.send_request(req).await.unwrap();
                assert_eq!(resp.status(), StatusCode::OK, "{flavor}");
                let body = resp.into_body().collect().await.unwrap().to_bytes();
                assert_eq!(
                    body,
                    Bytes::from(format!("hello from spindle: {path}")),
                    "{flavor}"
                );
            }
        });
    }
}
