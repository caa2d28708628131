//! The `web` example: `/` and `/red` against a real redis-server, 404 and 405, a client that
//! hangs up mid-request, graceful shutdown from code and on Ctrl-C.
#![cfg(feature = "hyper")]

mod peers;

#[allow(dead_code)]
#[path = "../examples/web.rs"]
mod example;

use std::time::Duration;

use example::{App, Server, get, resp};
use futures::{AsyncReadExt, AsyncWriteExt};
use hyper::StatusCode;
use spindle::net::TcpStream;

fn app(redis: Option<&peers::Peer>, red_delay: Duration) -> App {
    App {
        redis: redis.map(|peer| resp::Pool::new(peer.addr(), 4)),
        red_delay,
    }
}

#[test]
fn root_and_red_against_real_redis() {
    let redis = peers::redis();
    spindle::run(async {
        let server = Server::start("127.0.0.1:0", app(Some(&redis), Duration::from_millis(50)))
            .await
            .unwrap();
        let (status, body) = get(server.addr, "/").await.unwrap();
        assert_eq!(
            (status, body.as_str()),
            (StatusCode::OK, r#"{"message": "hello"}"#)
        );

        let start = std::time::Instant::now();
        let (status, body) = get(server.addr, "/red").await.unwrap();
        assert!(
            start.elapsed() >= Duration::from_millis(50),
            "/red sleeps first"
        );
        assert_eq!(status, StatusCode::OK);
        assert_eq!(body, r#"{"message": "hello from redis", "hits": 1}"#);

        // Concurrent requests share the pool; every hit is counted once.
        let handles: Vec<_> = (0..8)
            .map(|_| spindle::spawn(get(server.addr, "/red")))
            .collect();
        for h in handles {
            assert_eq!(h.await.unwrap().unwrap().0, StatusCode::OK);
        }
        let (_, body) = get(server.addr, "/red").await.unwrap();
        assert!(body.ends_with(r#""hits": 10}"#), "{body}");

        // And the writes really are in Redis.
        let mut conn = resp::Connection::connect(redis.addr()).await.unwrap();
        assert_eq!(conn.get("web:hits").await.unwrap().as_deref(), Some("10"));
        assert_eq!(server.shutdown().await.unwrap(), 11);
    });
}

#[test]
fn unknown_paths_404_wrong_methods_405_no_redis_503() {
    spindle::run(async {
        let server = Server::start("127.0.0.1:0", app(None, Duration::ZERO))
            .await
            .unwrap();
        let (status, body) = get(server.addr, "/nope").await.unwrap();
        assert_eq!(
            (status, body.as_str()),
            (StatusCode::NOT_FOUND, r#"{"detail": "Not Found"}"#)
        );
        let (status, _) = get(server.addr, "/red/extra").await.unwrap();
        assert_eq!(status, StatusCode::NOT_FOUND);
        let (status, body) = get(server.addr, "/red").await.unwrap();
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert!(body.contains("redis is not configured"), "{body}");

        let mut stream = TcpStream::connect(server.addr).await.unwrap();
        stream
            .write_all(
                b"POST / HTTP/1.1\r\nhost: x\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
            )
            .await
            .unwrap();
        let mut reply = String::new();
        stream.read_to_string(&mut reply).await.unwrap();
        assert!(reply.starts_with("HTTP/1.1 405"), "{reply}");
        server.shutdown().await.unwrap();
    });
}

#[test]
fn survives_a_client_that_disconnects_mid_request() {
    let redis = peers::redis();
    spindle::run(async {
        let server = Server::start("127.0.0.1:0", app(Some(&redis), Duration::from_millis(200)))
            .await
            .unwrap();
        // Half a request line and headers, then gone.
        let mut half = TcpStream::connect(server.addr).await.unwrap();
        half.write_all(b"GET / HTTP/1.1\r\nHost: loc")
            .await
            .unwrap();
        drop(half);
        // A whole request, but the client leaves while /red is still sleeping.
        let mut impatient = TcpStream::connect(server.addr).await.unwrap();
        impatient
            .write_all(b"GET /red HTTP/1.1\r\nhost: x\r\n\r\n")
            .await
            .unwrap();
        spindle::time::sleep(Duration::from_millis(50)).await;
        drop(impatient);
        spindle::time::sleep(Duration::from_millis(300)).await;

        let (status, body) = get(server.addr, "/").await.unwrap();
        assert_eq!(
            (status, body.as_str()),
            (StatusCode::OK, r#"{"message": "hello"}"#)
        );
        let (status, _) = get(server.addr, "/red").await.unwrap();
        assert_eq!(status, StatusCode::OK);
        server.shutdown().await.unwrap();
    });
}

#[test]
fn graceful_shutdown_finishes_in_flight_requests_then_refuses() {
    let redis = peers::redis();
    spindle::run(async {
        let server = Server::start("127.0.0.1:0", app(Some(&redis), Duration::from_millis(300)))
            .await
            .unwrap();
        let addr = server.addr;
        let in_flight = spindle::spawn(get(addr, "/red"));
        spindle::time::sleep(Duration::from_millis(100)).await;
        let start = std::time::Instant::now();
        assert_eq!(server.shutdown().await.unwrap(), 1);
        // Shutdown waited for the sleeping request, and that request got its answer.
        assert!(start.elapsed() >= Duration::from_millis(100));
        let (status, body) = in_flight.await.unwrap().unwrap();
        assert_eq!(status, StatusCode::OK, "{body}");
        let err = TcpStream::connect(addr).await.unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::ConnectionRefused);
    });
}

#[test]
fn ctrl_c_stops_the_server_gracefully() {
    spindle::run(async {
        let server = Server::start("127.0.0.1:0", app(None, Duration::ZERO))
            .await
            .unwrap();
        let addr = server.addr;
        // Registered before the signal is raised: the handler replaces SIGINT's default
        // action (killing this test process).
        let ctrl_c = example::ctrl_c().unwrap();
        let waiter = spindle::spawn(async move {
            ctrl_c.await.unwrap();
            server.shutdown().await.unwrap()
        });
        assert_eq!(get(addr, "/").await.unwrap().0, StatusCode::OK);
        signal_hook::low_level::raise(signal_hook::consts::SIGINT).unwrap();
        let served = spindle::time::timeout(Duration::from_secs(10), waiter)
            .await
            .expect("Ctrl-C shut the server down")
            .unwrap();
        assert_eq!(served, 1);
        assert!(TcpStream::connect(addr).await.is_err());
    });
}
