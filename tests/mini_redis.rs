//! mini_redis in-process on 127.0.0.1:0: command semantics, pipelining, Redis's exact error
//! replies, every kind of bad input (each closing only its own connection, with memory
//! bounded, while another client is served), graceful shutdown, and a proptest of the RESP
//! parser. Every wait is bounded by a timeout; no test asserts how fast anything is.

// Not a library: `pub` items here are shared with the tests through `#[path]` modules,
// so the workspace's API lints (missing_docs, unreachable_pub, missing Debug) do not apply.
#![allow(missing_docs, unreachable_pub, missing_debug_implementations)]

// The `redis` example brings the server (`example::mini_redis`) and the tutorial's client
// (`example::resp`, `example::sessions`), so the client is tested against the server too.
#[allow(dead_code)]
#[path = "../examples/redis.rs"]
mod example;

use example::mini_redis;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use futures::{AsyncReadExt, AsyncWriteExt};
use mini_redis::frame::{self, Limits, Mode, Parser, Value};
use mini_redis::{Config, Server, Stats};
use proptest::prelude::*;
use spindle::net::TcpStream;
use spindle::time::{sleep, timeout};

/// The bound on any single wait in these tests: far above what anything should take, so a
/// failure is a hang caught, not a slow machine.
const PATIENCE: Duration = Duration::from_secs(10);

fn rt() -> spindle::runtime::Runtime {
    spindle::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap()
}

/// Small caps and short timeouts, so each is hit quickly.
fn small_config() -> Config {
    Config {
        max_request_buffer: 1 << 20,
        max_reply_buffer: 64 << 10,
        stalled_request_timeout: Duration::from_millis(300),
        write_timeout: Duration::from_millis(300),
        sweep_interval: Duration::from_millis(20),
        grace: Duration::from_millis(500),
        ..Config::default()
    }
}

/// A minimal RESP client on the shared parser, every read bounded by [`PATIENCE`].
struct Client {
    stream: TcpStream,
    parser: Parser,
    buf: Vec<u8>,
}

impl Client {
    async fn connect(addr: SocketAddr) -> Client {
        let stream = timeout(PATIENCE, TcpStream::connect(addr))
            .await
            .expect("connect timed out")
            .expect("connect failed");
        Client {
            stream,
            parser: Parser::new(Mode::Reply, Limits::REPLY),
            buf: Vec::new(),
        }
    }

    async fn send_raw(&mut self, bytes: &[u8]) {
        timeout(PATIENCE, self.stream.write_all(bytes))
            .await
            .expect("write timed out")
            .expect("write failed");
    }

    async fn send(&mut self, args: &[&str]) {
        let args: Vec<&[u8]> = args.iter().map(|a| a.as_bytes()).collect();
        let mut out = Vec::new();
        frame::write_command(&mut out, &args);
        self.send_raw(&out).await;
    }

    /// The next reply; panics if the connection closes first or nothing comes in time.
    async fn reply(&mut self) -> Value {
        timeout(PATIENCE, async {
            loop {
                let parsed = self.parser.parse(&self.buf).expect("server sent bad RESP");
                self.buf.drain(..parsed.consumed);
                if let Some(value) = parsed.frame {
                    return value;
                }
                let mut chunk = [0u8; 4096];
                let n = self.stream.read(&mut chunk).await.expect("read failed");
                assert!(n > 0, "server closed the connection instead of replying");
                self.buf.extend_from_slice(&chunk[..n]);
            }
        })
        .await
        .expect("no reply in time")
    }

    async fn cmd(&mut self, args: &[&str]) -> Value {
        self.send(args).await;
        self.reply().await
    }

    /// Everything the server sends until it closes the connection (a reset counts as a
    /// close: the server may close with our bytes still unread).
    async fn until_closed(&mut self) -> Vec<u8> {
        timeout(PATIENCE, async {
            let mut all = std::mem::take(&mut self.buf);
            let mut chunk = [0u8; 4096];
            loop {
                match self.stream.read(&mut chunk).await {
                    Ok(0) | Err(_) => return all,
                    Ok(n) => all.extend_from_slice(&chunk[..n]),
                }
            }
        })
        .await
        .expect("the server did not close the connection")
    }
}

fn bulk(s: &str) -> Value {
    Value::Bulk(Some(s.as_bytes().to_vec()))
}

fn simple(s: &str) -> Value {
    Value::Simple(s.into())
}

fn err(s: &str) -> Value {
    Value::Error(s.into())
}

fn array(items: &[Value]) -> Value {
    Value::Array(Some(items.to_vec()))
}

fn sorted_pairs(value: Value) -> Vec<(Vec<u8>, Vec<u8>)> {
    let Value::Array(Some(items)) = value else {
        panic!("expected an array, got {value:?}");
    };
    let mut pairs: Vec<_> = items
        .chunks(2)
        .map(|pair| match pair {
            [Value::Bulk(Some(k)), Value::Bulk(Some(v))] => (k.clone(), v.clone()),
            other => panic!("expected bulk pairs, got {other:?}"),
        })
        .collect();
    pairs.sort();
    pairs
}

#[test]
fn strings_nx_xx_and_expiry_on_a_real_clock() {
    rt().block_on(async {
        let server = Server::start("127.0.0.1:0", small_config()).await.unwrap();
        let mut c = Client::connect(server.addr).await;
        assert_eq!(c.cmd(&["PING"]).await, simple("PONG"));
        assert_eq!(c.cmd(&["ping", "hi"]).await, bulk("hi"));
        assert_eq!(c.cmd(&["ECHO", "hello"]).await, bulk("hello"));
        assert_eq!(c.cmd(&["SET", "k", "v"]).await, simple("OK"));
        assert_eq!(c.cmd(&["GET", "k"]).await, bulk("v"));
        assert_eq!(c.cmd(&["GET", "missing"]).await, Value::Bulk(None));

        // NX / XX / GET
        assert_eq!(c.cmd(&["SET", "n", "1", "NX"]).await, simple("OK"));
        assert_eq!(c.cmd(&["SET", "n", "2", "NX"]).await, Value::Bulk(None));
        assert_eq!(c.cmd(&["SET", "x", "1", "XX"]).await, Value::Bulk(None));
        assert_eq!(c.cmd(&["EXISTS", "x"]).await, Value::Int(0));
        assert_eq!(c.cmd(&["SET", "n", "3", "xx"]).await, simple("OK"));
        assert_eq!(c.cmd(&["SET", "n", "4", "GET"]).await, bulk("3"));
        assert_eq!(c.cmd(&["GET", "n"]).await, bulk("4"));

        // TTL: -1 without expiry, -2 for a missing key, about the seconds left otherwise.
        assert_eq!(c.cmd(&["TTL", "k"]).await, Value::Int(-1));
        assert_eq!(c.cmd(&["TTL", "missing"]).await, Value::Int(-2));
        assert_eq!(
            c.cmd(&["SET", "long", "v", "EX", "100"]).await,
            simple("OK")
        );
        let Value::Int(ttl) = c.cmd(&["TTL", "long"]).await else {
            panic!("TTL answers an integer");
        };
        assert!((90..=100).contains(&ttl), "{ttl}");
        assert_eq!(c.cmd(&["EXPIRE", "k", "100"]).await, Value::Int(1));
        assert_eq!(c.cmd(&["EXPIRE", "missing", "100"]).await, Value::Int(0));
        assert_eq!(c.cmd(&["PERSIST", "k"]).await, Value::Int(1));
        assert_eq!(c.cmd(&["TTL", "k"]).await, Value::Int(-1));
        // SET without KEEPTTL clears the deadline.
        assert_eq!(c.cmd(&["SET", "long", "w"]).await, simple("OK"));
        assert_eq!(c.cmd(&["TTL", "long"]).await, Value::Int(-1));

        // A real 100 ms expiry, checked after 300 ms; EXPIRE of 0 deletes at once.
        assert_eq!(
            c.cmd(&["SET", "short", "v", "PX", "100"]).await,
            simple("OK")
        );
        assert_eq!(c.cmd(&["GET", "short"]).await, bulk("v"));
        assert_eq!(c.cmd(&["EXPIRE", "n", "0"]).await, Value::Int(1));
        assert_eq!(c.cmd(&["EXISTS", "n"]).await, Value::Int(0));
        sleep(Duration::from_millis(300)).await;
        assert_eq!(c.cmd(&["GET", "short"]).await, Value::Bulk(None));
        assert_eq!(c.cmd(&["TTL", "short"]).await, Value::Int(-2));

        // Keys nobody reads again are swept: DBSIZE counts them until then.
        assert_eq!(c.cmd(&["FLUSHDB"]).await, simple("OK"));
        for i in 0..50 {
            let key = format!("sweep:{i}");
            assert_eq!(c.cmd(&["SET", &key, "v", "PX", "50"]).await, simple("OK"));
        }
        assert_eq!(c.cmd(&["SET", "stays", "v"]).await, simple("OK"));
        let swept = timeout(PATIENCE, async {
            loop {
                if c.cmd(&["DBSIZE"]).await == Value::Int(1) {
                    break;
                }
                sleep(Duration::from_millis(20)).await;
            }
        })
        .await;
        assert!(swept.is_ok(), "expired keys were never swept");
        assert!(Stats::get(&server.stats().swept) >= 50);
        server.shutdown().await;
    });
}

#[test]
fn counters_hashes_lists_and_multi_key_commands() {
    rt().block_on(async {
        let server = Server::start("127.0.0.1:0", small_config()).await.unwrap();
        let mut c = Client::connect(server.addr).await;
        assert_eq!(c.cmd(&["INCR", "n"]).await, Value::Int(1));
        assert_eq!(c.cmd(&["INCR", "n"]).await, Value::Int(2));
        assert_eq!(c.cmd(&["DECR", "n"]).await, Value::Int(1));
        assert_eq!(c.cmd(&["INCRBY", "n", "41"]).await, Value::Int(42));
        assert_eq!(c.cmd(&["GET", "n"]).await, bulk("42"));

        assert_eq!(
            c.cmd(&["HSET", "h", "a", "1", "b", "2"]).await,
            Value::Int(2)
        );
        assert_eq!(c.cmd(&["HSET", "h", "a", "3"]).await, Value::Int(0));
        assert_eq!(c.cmd(&["HGET", "h", "a"]).await, bulk("3"));
        assert_eq!(c.cmd(&["HGET", "h", "zz"]).await, Value::Bulk(None));
        assert_eq!(
            sorted_pairs(c.cmd(&["HGETALL", "h"]).await),
            vec![
                (b"a".to_vec(), b"3".to_vec()),
                (b"b".to_vec(), b"2".to_vec())
            ]
        );
        assert_eq!(c.cmd(&["HGETALL", "nohash"]).await, array(&[]));

        assert_eq!(c.cmd(&["MSET", "a", "1", "b", "2"]).await, simple("OK"));
        assert_eq!(
            c.cmd(&["MGET", "a", "nope", "b", "h"]).await,
            array(&[bulk("1"), Value::Bulk(None), bulk("2"), Value::Bulk(None)])
        );
        assert_eq!(
            c.cmd(&["EXISTS", "a", "b", "a", "nope"]).await,
            Value::Int(3)
        );
        assert_eq!(c.cmd(&["DEL", "a", "b", "nope"]).await, Value::Int(2));
        assert_eq!(c.cmd(&["EXISTS", "a", "b"]).await, Value::Int(0));

        assert_eq!(c.cmd(&["LPUSH", "l", "a", "b"]).await, Value::Int(2));
        assert_eq!(c.cmd(&["RPUSH", "l", "z"]).await, Value::Int(3));
        assert_eq!(
            c.cmd(&["LRANGE", "l", "0", "-1"]).await,
            array(&[bulk("b"), bulk("a"), bulk("z")])
        );
        assert_eq!(c.cmd(&["LPOP", "l"]).await, bulk("b"));
        assert_eq!(
            c.cmd(&["RPOP", "l", "5"]).await,
            array(&[bulk("z"), bulk("a")])
        );
        assert_eq!(c.cmd(&["EXISTS", "l"]).await, Value::Int(0));

        // What redis-benchmark and redis-cli ask at startup.
        assert_eq!(
            c.cmd(&["CONFIG", "GET", "save"]).await,
            array(&[bulk("save"), bulk("")])
        );
        assert_eq!(
            c.cmd(&["config", "get", "appendonly"]).await,
            array(&[bulk("appendonly"), bulk("no")])
        );
        assert_eq!(c.cmd(&["CONFIG", "GET", "nothing"]).await, array(&[]));
        assert_eq!(c.cmd(&["COMMAND", "DOCS"]).await, array(&[]));

        assert_eq!(c.cmd(&["DBSIZE"]).await, Value::Int(2));
        assert_eq!(c.cmd(&["FLUSHDB"]).await, simple("OK"));
        assert_eq!(c.cmd(&["DBSIZE"]).await, Value::Int(0));

        // Inline commands, as telnet and redis-benchmark's PING_INLINE send them.
        c.send_raw(b"PING\r\nECHO  spaced\n").await;
        assert_eq!(c.reply().await, simple("PONG"));
        assert_eq!(c.reply().await, bulk("spaced"));
        assert_eq!(c.cmd(&["QUIT"]).await, simple("OK"));
        assert!(c.until_closed().await.is_empty());
        server.shutdown().await;
    });
}

#[test]
fn error_replies_are_redis_exact_and_the_connection_stays_usable() {
    rt().block_on(async {
        let server = Server::start("127.0.0.1:0", small_config()).await.unwrap();
        let mut c = Client::connect(server.addr).await;
        let cases: &[(&[&str], &str)] = &[
            (
                &["foo", "a", "b"],
                "ERR unknown command 'foo', with args beginning with: 'a' 'b' ",
            ),
            (
                &["FOO"],
                "ERR unknown command 'FOO', with args beginning with: ",
            ),
            (&["GET"], "ERR wrong number of arguments for 'get' command"),
            (
                &["set", "k"],
                "ERR wrong number of arguments for 'set' command",
            ),
            (
                &["MSET", "a", "1", "b"],
                "ERR wrong number of arguments for 'mset' command",
            ),
            (
                &["HSET", "h", "f"],
                "ERR wrong number of arguments for 'hset' command",
            ),
            (&["SET", "s", "abc"], ""),
            (
                &["INCR", "s"],
                "ERR value is not an integer or out of range",
            ),
            (
                &["INCRBY", "n", "1.5"],
                "ERR value is not an integer or out of range",
            ),
            (&["SET", "max", "9223372036854775807"], ""),
            (
                &["INCR", "max"],
                "ERR increment or decrement would overflow",
            ),
            (&["HSET", "h", "f", "v"], ""),
            (
                &["GET", "h"],
                "WRONGTYPE Operation against a key holding the wrong kind of value",
            ),
            (
                &["LPUSH", "s", "x"],
                "WRONGTYPE Operation against a key holding the wrong kind of value",
            ),
            (
                &["INCR", "h"],
                "WRONGTYPE Operation against a key holding the wrong kind of value",
            ),
            (
                &["SET", "k", "v", "EX", "-1"],
                "ERR invalid expire time in 'set' command",
            ),
            (
                &["SET", "k", "v", "EX", "soon"],
                "ERR value is not an integer or out of range",
            ),
            (&["SET", "k", "v", "NX", "XX"], "ERR syntax error"),
            (&["SET", "k", "v", "sometimes"], "ERR syntax error"),
            (
                &["CONFIG", "foo"],
                "ERR unknown subcommand 'foo'. Try CONFIG HELP.",
            ),
        ];
        for (args, expected) in cases {
            let reply = c.cmd(args).await;
            if expected.is_empty() {
                assert!(!matches!(reply, Value::Error(_)), "{args:?}: {reply:?}");
            } else {
                assert_eq!(reply, err(expected), "{args:?}");
            }
        }
        // The same connection still works after all of them.
        assert_eq!(c.cmd(&["PING"]).await, simple("PONG"));
        assert_eq!(c.cmd(&["GET", "s"]).await, bulk("abc"));
        server.shutdown().await;
    });
}

#[test]
fn a_hundred_pipelined_commands_get_a_hundred_replies_in_order() {
    rt().block_on(async {
        let server = Server::start("127.0.0.1:0", small_config()).await.unwrap();
        let mut c = Client::connect(server.addr).await;
        let mut batch = Vec::new();
        let mut expected = Vec::new();
        for i in 0..100 {
            let key = format!("p:{}", i / 4);
            let args: Vec<String> = match i % 4 {
                0 => vec!["SET".into(), key, i.to_string()],
                1 => vec!["GET".into(), key],
                2 => vec!["INCR".into(), "p:counter".into()],
                _ => vec!["ECHO".into(), format!("e{i}")],
            };
            expected.push(match i % 4 {
                0 => simple("OK"),
                1 => bulk(&(i - 1).to_string()),
                2 => Value::Int(i / 4 + 1),
                _ => bulk(&format!("e{i}")),
            });
            let args: Vec<&[u8]> = args.iter().map(|a| a.as_bytes()).collect();
            frame::write_command(&mut batch, &args);
        }
        c.send_raw(&batch).await;
        for (i, want) in expected.iter().enumerate() {
            assert_eq!(&c.reply().await, want, "reply {i}");
        }
        assert!(Stats::get(&server.stats().commands) >= 100);
        server.shutdown().await;
    });
}

/// Another client, served all along: it keeps doing SET/GET round trips until stopped.
struct Bystander {
    stop: Arc<AtomicBool>,
    task: spindle::task::JoinHandle<usize>,
}

impl Bystander {
    fn start(addr: SocketAddr) -> Bystander {
        let stop = Arc::new(AtomicBool::new(false));
        let task = spindle::spawn(Self::run(addr, stop.clone()));
        Bystander { stop, task }
    }

    async fn run(addr: SocketAddr, stop: Arc<AtomicBool>) -> usize {
        let mut c = Client::connect(addr).await;
        let mut rounds = 0;
        while !stop.load(Ordering::Relaxed) {
            let value = rounds.to_string();
            assert_eq!(c.cmd(&["SET", "bystander", &value]).await, simple("OK"));
            assert_eq!(c.cmd(&["GET", "bystander"]).await, bulk(&value));
            rounds += 1;
            sleep(Duration::from_millis(1)).await;
        }
        rounds
    }

    /// Stops it and checks that it was served all along.
    async fn stop_and_check(self) {
        self.stop.store(true, Ordering::Relaxed);
        let rounds = timeout(PATIENCE, self.task).await.unwrap().unwrap();
        assert!(rounds > 0, "the other client was never served");
    }
}

/// Sends `bytes`, then returns everything the server sends before it closes.
async fn send_and_wait_for_close(addr: SocketAddr, bytes: &[u8]) -> String {
    let mut c = Client::connect(addr).await;
    // The server may close (and reset) while we are still writing.
    let _ = timeout(PATIENCE, c.stream.write_all(bytes)).await;
    String::from_utf8_lossy(&c.until_closed().await).into_owned()
}

/// Writes up to `total` bytes of `prefix` then filler; how many got written before the
/// server closed the connection. Panics if it never closed.
async fn flood(addr: SocketAddr, prefix: &[u8], filler: u8, total: usize) -> usize {
    let mut c = Client::connect(addr).await;
    c.send_raw(prefix).await;
    let chunk = vec![filler; 1 << 20];
    let mut sent = prefix.len();
    let outcome = timeout(PATIENCE, async {
        while sent < total {
            match c.stream.write(&chunk).await {
                Ok(0) | Err(_) => return true,
                Ok(n) => sent += n,
            }
        }
        false
    })
    .await;
    assert_eq!(outcome, Ok(true), "the server kept reading {sent} bytes");
    sent
}

#[test]
fn the_redis_tutorial_runs_against_two_mini_redis_servers() {
    rt().block_on(async {
        let a = mini_redis::start_in_process().await.unwrap();
        let b = mini_redis::start_in_process().await.unwrap();
        let sessions = timeout(PATIENCE, example::sessions(&[a.addr, b.addr]))
            .await
            .expect("the tutorial hung")
            .unwrap();
        for (s, tag) in sessions.iter().zip(["alpha", "beta"]) {
            assert_eq!(s.hash.get("name").map(String::as_str), Some(tag));
            assert_eq!(
                s.greeting.as_deref(),
                Some(format!("hello from {tag}").as_str())
            );
            assert_eq!(s.counters, (1..=10).collect::<Vec<i64>>());
        }
        // Each session wrote to its own server only.
        let mut conn = example::resp::Connection::connect(a.addr).await.unwrap();
        assert_eq!(conn.get("tutorial:beta:greeting").await.unwrap(), None);
        a.shutdown().await;
        b.shutdown().await;
    });
}

#[test]
fn bad_input_closes_only_that_connection_and_memory_stays_bounded() {
    rt().block_on(async {
        let config = small_config();
        let server = Server::start("127.0.0.1:0", config.clone()).await.unwrap();
        let addr = server.addr;
        let other = Bystander::start(addr);

        let cases: &[(&str, &[u8], &str)] = &[
            (
                "wrong type byte",
                b"*1\r\n+PING\r\n",
                "-ERR Protocol error: expected '$', got '+'\r\n",
            ),
            (
                "bulk length -5",
                b"*1\r\n$-5\r\n",
                "-ERR Protocol error: invalid bulk length\r\n",
            ),
            (
                "bulk length 2^40",
                b"*1\r\n$1099511627776\r\n",
                "-ERR Protocol error: invalid bulk length\r\n",
            ),
            (
                "missing CRLF after a bulk",
                b"*1\r\n$4\r\nPINGxx",
                "-ERR Protocol error: bulk string of 4 bytes not followed by CRLF\r\n",
            ),
            (
                "10 million elements announced",
                b"*10000000\r\n",
                "-ERR Protocol error: invalid multibulk length\r\n",
            ),
            (
                "not a number",
                b"*abc\r\n",
                "-ERR Protocol error: invalid multibulk length\r\n",
            ),
        ];
        for (what, bytes, expected) in cases {
            let got = send_and_wait_for_close(addr, bytes).await;
            assert_eq!(got, *expected, "{what}");
        }

        // Replies to the good commands before a bad frame still go out, in order.
        let got = send_and_wait_for_close(addr, b"PING\r\n*1\r\n:1\r\n").await;
        assert_eq!(
            got,
            "+PONG\r\n-ERR Protocol error: expected '$', got ':'\r\n"
        );

        // A header line that never ends, and 100 MB of garbage without a newline: closed
        // after one line's worth (64 KiB), not buffered.
        let got = send_and_wait_for_close(addr, &[b'*'; 70_000]).await;
        assert!(got.contains("too big mbulk count string"), "{got}");
        let sent = flood(addr, b"", b'x', 100 << 20).await;
        assert!(sent < 100 << 20);

        // A huge bulk that does arrive, byte after byte: closed once the connection holds
        // its cap, with the buffer never much past it.
        let sent = flood(addr, b"*2\r\n$3\r\nSET\r\n$400000000\r\n", b'v', 100 << 20).await;
        assert!(sent < 100 << 20);
        let peak = Stats::get(&server.stats().peak_request_buffer);
        assert!(
            peak <= config.max_request_buffer + (64 << 10),
            "a connection buffered {peak} bytes"
        );

        // An array of a million elements (allowed) of which none ever comes, and a request
        // cut off half way: closed after the stalled-request timeout.
        let timeouts_before = Stats::get(&server.stats().timeouts);
        let got = send_and_wait_for_close(addr, b"*1000000\r\n").await;
        assert_eq!(got, "");
        let got = send_and_wait_for_close(addr, b"*2\r\n$3\r\nGET\r\n$3\r\nab").await;
        assert_eq!(got, "");
        assert_eq!(Stats::get(&server.stats().timeouts), timeouts_before + 2);

        // Random bytes (newlines and all): whatever they parse as, the server survives.
        let mut seed = 0x9e37_79b9_7f4a_7c15_u64;
        let noise: Vec<u8> = (0..(1 << 20))
            .map(|_| {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                (seed >> 24) as u8
            })
            .collect();
        let mut c = Client::connect(addr).await;
        let _ = timeout(Duration::from_secs(2), c.stream.write_all(&noise)).await;
        drop(c);

        other.stop_and_check().await;
        // And a fresh client is served as if nothing happened.
        let mut c = Client::connect(addr).await;
        assert_eq!(c.cmd(&["PING"]).await, simple("PONG"));
        assert!(Stats::get(&server.stats().protocol_errors) >= cases.len() + 4);
        server.shutdown().await;
    });
}

#[test]
fn a_client_that_stops_reading_is_not_read_from_and_is_dropped() {
    rt().block_on(async {
        let config = small_config();
        let server = Server::start("127.0.0.1:0", config.clone()).await.unwrap();
        let addr = server.addr;
        let other = Bystander::start(addr);

        let value = "v".repeat(64 << 10);
        let mut setter = Client::connect(addr).await;
        assert_eq!(setter.cmd(&["SET", "big", &value]).await, simple("OK"));
        // 4000 GETs of 64 KiB: 256 MB of replies this client never reads.
        let mut slow = Client::connect(addr).await;
        let mut batch = Vec::new();
        for _ in 0..4000 {
            frame::write_command(&mut batch, &[b"GET", b"big"]);
        }
        let _ = timeout(Duration::from_secs(2), slow.stream.write_all(&batch)).await;
        let dropped = timeout(PATIENCE, async {
            while Stats::get(&server.stats().timeouts) == 0 {
                sleep(Duration::from_millis(10)).await;
            }
        })
        .await;
        assert!(dropped.is_ok(), "the slow reader was never dropped");
        let peak = Stats::get(&server.stats().peak_reply_buffer);
        assert!(
            peak <= config.max_reply_buffer + value.len() + 64,
            "replies buffered: {peak}"
        );

        other.stop_and_check().await;
        server.shutdown().await;
    });
}

#[test]
fn idle_clients_time_out_and_max_clients_is_enforced() {
    rt().block_on(async {
        let config = Config {
            idle_timeout: Some(Duration::from_millis(200)),
            max_clients: 2,
            ..small_config()
        };
        let server = Server::start("127.0.0.1:0", config).await.unwrap();
        let mut first = Client::connect(server.addr).await;
        let mut second = Client::connect(server.addr).await;
        assert_eq!(first.cmd(&["PING"]).await, simple("PONG"));
        assert_eq!(second.cmd(&["PING"]).await, simple("PONG"));
        let mut third = Client::connect(server.addr).await;
        assert_eq!(
            String::from_utf8_lossy(&third.until_closed().await),
            "-ERR max number of clients reached\r\n"
        );
        // Silent clients: closed once idle for 200 ms.
        assert!(first.until_closed().await.is_empty());
        assert!(second.until_closed().await.is_empty());
        assert_eq!(Stats::get(&server.stats().timeouts), 2);
        server.shutdown().await;
    });
}

#[test]
fn shutdown_closes_idle_connections_and_stops_accepting() {
    rt().block_on(async {
        let server = Server::start("127.0.0.1:0", small_config()).await.unwrap();
        let addr = server.addr;
        let mut idle = Client::connect(addr).await;
        assert_eq!(idle.cmd(&["SET", "k", "v"]).await, simple("OK"));
        timeout(PATIENCE, server.shutdown())
            .await
            .expect("shutdown hung");
        assert!(idle.until_closed().await.is_empty());
        assert!(TcpStream::connect(addr).await.is_err());
    });
}

// The parser, on its own.

/// Any RESP value a server could send (strings without line breaks).
fn any_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        "[a-zA-Z0-9 ]{0,12}".prop_map(Value::Simple),
        "[a-zA-Z0-9 ]{0,12}".prop_map(Value::Error),
        any::<i64>().prop_map(Value::Int),
        proptest::option::of(proptest::collection::vec(any::<u8>(), 0..40)).prop_map(Value::Bulk),
        Just(Value::Array(None)),
    ];
    leaf.prop_recursive(3, 24, 6, |inner| {
        proptest::collection::vec(inner, 0..6).prop_map(|items| Value::Array(Some(items)))
    })
}

fn encoded(value: &Value) -> Vec<u8> {
    let mut out = Vec::new();
    frame::write_value(&mut out, value);
    out
}

/// Feeds `bytes` to a fresh parser in pieces cut at `cuts`; the frame, if one came out.
fn parse_in_pieces(mode: Mode, bytes: &[u8], cuts: &[usize]) -> Option<Value> {
    let mut parser = Parser::new(mode, Limits::REPLY);
    let mut buf = Vec::new();
    let mut fed = 0;
    let mut cuts: Vec<usize> = cuts.iter().map(|c| c % (bytes.len() + 1)).collect();
    cuts.push(bytes.len());
    cuts.sort_unstable();
    for cut in cuts {
        buf.extend_from_slice(&bytes[fed..cut.max(fed)]);
        fed = fed.max(cut);
        let parsed = parser.parse(&buf).expect("a valid frame is never an error");
        buf.drain(..parsed.consumed);
        if let Some(frame) = parsed.frame {
            assert_eq!(
                fed,
                bytes.len(),
                "a frame came out before all of it was fed"
            );
            assert!(buf.is_empty(), "the frame did not use every byte");
            return Some(frame);
        }
    }
    None
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
        for mode in [Mode::Reply, Mode::Request] {
            let mut parser = Parser::new(mode, Limits::REQUEST);
            let mut rest = &bytes[..];
            // Parse frames until an error or "need more": never a panic, always progress.
            while let Ok(parsed) = parser.parse(rest) {
                rest = &rest[parsed.consumed..];
                if parsed.frame.is_none() {
                    break;
                }
            }
        }
    }

    #[test]
    fn a_truncated_reply_is_incomplete_and_the_whole_one_round_trips(
        value in any_value(),
        cuts in proptest::collection::vec(any::<usize>(), 0..4),
    ) {
        let bytes = encoded(&value);
        for cut in 0..bytes.len() {
            let parsed = Parser::new(Mode::Reply, Limits::REPLY).parse(&bytes[..cut]);
            prop_assert!(matches!(parsed, Ok(frame::Parsed { frame: None, .. })), "cut {}: {:?}", cut, parsed);
        }
        prop_assert_eq!(parse_in_pieces(Mode::Reply, &bytes, &cuts), Some(value));
    }

    #[test]
    fn a_truncated_request_is_incomplete_and_the_whole_one_round_trips(
        args in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..20), 1..6),
        cuts in proptest::collection::vec(any::<usize>(), 0..4),
    ) {
        let refs: Vec<&[u8]> = args.iter().map(Vec::as_slice).collect();
        let mut bytes = Vec::new();
        frame::write_command(&mut bytes, &refs);
        for cut in 0..bytes.len() {
            let parsed = Parser::new(Mode::Request, Limits::REQUEST).parse(&bytes[..cut]);
            prop_assert!(matches!(parsed, Ok(frame::Parsed { frame: None, .. })), "cut {}: {:?}", cut, parsed);
        }
        let want = Value::Array(Some(args.into_iter().map(|a| Value::Bulk(Some(a))).collect()));
        prop_assert_eq!(parse_in_pieces(Mode::Request, &bytes, &cuts), Some(want));
    }
}
