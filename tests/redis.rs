//! The `redis` example against two real `redis-server`s, and the RESP client's errors against
//! fake servers that send garbage or hang up.

// Not a library: `pub` items here are shared with the tests through `#[path]` modules,
// so the workspace's API lints (missing_docs, unreachable_pub, missing Debug) do not apply.
#![allow(missing_docs, unreachable_pub, missing_debug_implementations)]

mod peers;

#[allow(dead_code)]
#[path = "../examples/redis.rs"]
mod example;

use std::time::Duration;

use example::resp::{self, Connection, Pool, Value};
use futures::{AsyncReadExt, AsyncWriteExt};
use spindle::net::TcpListener;

fn rt() -> spindle::runtime::Runtime {
    spindle::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap()
}

#[test]
fn tutorial_against_two_real_servers_concurrently() {
    let (a, b) = (peers::redis(), peers::redis());
    let sessions = rt()
        .block_on(example::sessions(&[a.addr(), b.addr()]))
        .unwrap();
    assert_eq!(sessions.len(), 2);
    for (s, tag) in sessions.iter().zip(["alpha", "beta"]) {
        let expected: Vec<(String, String)> =
            [("lang", "rust"), ("name", tag), ("runtime", "spindle")]
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
        assert_eq!(s.hash.clone().into_iter().collect::<Vec<_>>(), expected);
        assert_eq!(
            s.greeting.as_deref(),
            Some(format!("hello from {tag}").as_str())
        );
        assert_eq!(s.counters, (1..=10).collect::<Vec<i64>>());
        assert_eq!((s.tasks, s.pool_size), (16, 4));
    }
    // Each session wrote to its own server only.
    rt().block_on(async {
        let mut conn = Connection::connect(a.addr()).await.unwrap();
        assert_eq!(conn.get("tutorial:beta:greeting").await.unwrap(), None);
        assert_eq!(
            conn.get("tutorial:alpha:greeting")
                .await
                .unwrap()
                .as_deref(),
            Some("hello from alpha")
        );
    });
}

#[test]
fn pool_never_opens_more_than_its_size_and_reuses_connections() {
    let server = peers::redis();
    rt().block_on(async {
        let pool = std::sync::Arc::new(Pool::new(server.addr(), 3));
        let handles: Vec<_> = (0..30)
            .map(|i| {
                let pool = pool.clone();
                spindle::spawn(async move {
                    let mut conn = pool.get().await.unwrap();
                    conn.incr("pool:count").await.unwrap();
                    spindle::time::sleep(Duration::from_millis(i % 3)).await;
                })
            })
            .collect();
        for h in handles {
            h.await.unwrap();
        }
        let mut conn = pool.get().await.unwrap();
        assert_eq!(conn.get("pool:count").await.unwrap().as_deref(), Some("30"));
        // CLIENT LIST has one line per open connection: the pool's, at most 3.
        let Value::Bulk(Some(list)) = conn.cmd(&[b"CLIENT", b"LIST"]).await.unwrap() else {
            panic!("CLIENT LIST returns a bulk string");
        };
        let clients = String::from_utf8(list).unwrap().lines().count();
        assert!((1..=3).contains(&clients), "{clients} connections open");
    });
}

#[test]
fn server_error_reply_is_an_error_and_leaves_the_connection_usable() {
    let server = peers::redis();
    rt().block_on(async {
        let mut conn = Connection::connect(server.addr()).await.unwrap();
        conn.set("text", "not a number").await.unwrap();
        let err = conn.incr("text").await.unwrap_err();
        assert!(matches!(err, resp::Error::Server(_)), "{err:?}");
        assert!(err.to_string().contains("not an integer"), "{err}");
        assert!(!conn.is_broken());
        // Pipelines keep error replies in place.
        let replies = conn
            .pipeline(&[&[b"INCR", b"text"], &[b"GET", b"text"]])
            .await
            .unwrap();
        assert!(matches!(replies[0], Value::Error(_)));
        assert_eq!(replies[1], Value::Bulk(Some(b"not a number".to_vec())));
    });
}

/// A fake server that reads one request, answers with `reply`, then closes.
async fn fake_server(reply: &'static [u8]) -> std::net::SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    spindle::spawn(async move {
        let (mut stream, _) = listener.accept().await.unwrap();
        // Closed before the reply goes out, so a client that has seen the reply knows the
        // server is gone (the pool test's reconnect must fail).
        drop(listener);
        let mut buf = [0u8; 1024];
        let _ = stream.read(&mut buf).await;
        let _ = stream.write_all(reply).await;
        let _ = stream.close().await;
    });
    addr
}

#[test]
fn malformed_reply_is_a_clear_error() {
    rt().block_on(async {
        let addr = fake_server(b"HTTP/1.1 200 OK\r\n\r\n").await;
        let mut conn = Connection::connect(addr).await.unwrap();
        let err = conn.get("k").await.unwrap_err();
        assert!(matches!(err, resp::Error::Malformed(_)), "{err:?}");
        let msg = err.to_string();
        assert!(
            msg.contains("malformed RESP reply") && msg.contains("'H'"),
            "{msg}"
        );
        assert!(conn.is_broken());
        let io_err: std::io::Error = err.into();
        assert_eq!(io_err.kind(), std::io::ErrorKind::InvalidData);

        let addr = fake_server(b"$abc\r\n").await;
        let mut conn = Connection::connect(addr).await.unwrap();
        let msg = conn.get("k").await.unwrap_err().to_string();
        assert!(
            msg.contains("expected an integer") && msg.contains("abc"),
            "{msg}"
        );
    });
}

#[test]
fn dropped_connection_is_a_clear_error() {
    rt().block_on(async {
        // Hangs up without a byte.
        let addr = fake_server(b"").await;
        let mut conn = Connection::connect(addr).await.unwrap();
        let err = conn.ping().await.unwrap_err();
        assert!(
            matches!(err, resp::Error::Closed { pending_bytes: 0 }),
            "{err:?}"
        );
        assert!(err.to_string().contains("closed the connection"), "{err}");

        // Hangs up half way through a bulk string.
        let addr = fake_server(b"$10\r\nhal").await;
        let mut conn = Connection::connect(addr).await.unwrap();
        let err = conn.get("k").await.unwrap_err();
        assert!(
            matches!(err, resp::Error::Closed { pending_bytes: 8 }),
            "{err:?}"
        );
        assert!(err.to_string().contains("middle of a reply"), "{err}");
        let io_err: std::io::Error = err.into();
        assert_eq!(io_err.kind(), std::io::ErrorKind::UnexpectedEof);
    });
}

#[test]
fn pool_drops_broken_connections_and_reconnects() {
    rt().block_on(async {
        // A server whose first connection answers garbage and whose second answers properly:
        // the pool must throw the first away and open the second (not hand the broken one
        // out again). Nothing here depends on a closed port staying closed.
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = spindle::spawn(async move {
            for reply in [&b"garbage\r\n"[..], &b"+PONG\r\n"[..]] {
                let (mut stream, _) = listener.accept().await.unwrap();
                let mut buf = [0u8; 1024];
                let _ = stream.read(&mut buf).await;
                let _ = stream.write_all(reply).await;
                if reply.starts_with(b"garbage") {
                    let _ = stream.close().await;
                } else {
                    // Keep the good connection open until the client is done with it.
                    let _ = stream.read(&mut buf).await;
                }
            }
        });
        let pool = Pool::new(addr, 1);
        {
            let mut conn = pool.get().await.unwrap();
            let err = conn.ping().await.unwrap_err();
            assert!(matches!(err, resp::Error::Malformed(_)), "{err:?}");
        }
        // Size 1: had the broken connection not given its slot back, this would hang.
        {
            let mut conn = pool.get().await.unwrap();
            conn.ping()
                .await
                .expect("a fresh connection, not the broken one");
        }
        drop(pool);
        server.await.unwrap();
    });
}

#[test]
fn parser_handles_split_and_nested_replies() {
    let whole = b"*3\r\n:1\r\n$3\r\nfoo\r\n*2\r\n+OK\r\n$-1\r\n";
    for cut in 0..whole.len() {
        assert!(
            resp::parse(&whole[..cut]).unwrap().is_none(),
            "cut at {cut}"
        );
    }
    let (value, used) = resp::parse(whole).unwrap().unwrap();
    assert_eq!(used, whole.len());
    assert_eq!(
        value,
        Value::Array(Some(vec![
            Value::Int(1),
            Value::Bulk(Some(b"foo".to_vec())),
            Value::Array(Some(vec![Value::Simple("OK".into()), Value::Bulk(None)])),
        ]))
    );
    assert!(resp::parse(b"$3\r\nfooXY").is_err());
    assert!(resp::parse(b"$-5\r\n").is_err());
}
