//! The asyncio tutorial's Redis section: an async client (connection pool, HSET, HGETALL,
//! pipelining) talking to two real `redis-server`s at once, each from its own task.
//!
//! `cargo run --example redis` starts two throwaway servers on free loopback ports. Without
//! `redis-server` installed it runs against two embedded `mini_redis` servers instead (the
//! RESP server of `examples/mini_redis.rs`, in this process) and says so.

// Not a library: `pub` items here are shared with the tests through `#[path]` modules,
// so the workspace's API lints (missing_docs, unreachable_pub, missing Debug) do not apply.
#![allow(missing_docs, unreachable_pub, missing_debug_implementations)]
// The client (`resp`) and the embedded server (`mini_redis`) each compile the shared RESP
// framing module.
#![allow(clippy::duplicate_mod)]

use std::collections::BTreeMap;
use std::io;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

// Shared with the `web` example and the tests; not every user calls every helper.
#[allow(dead_code)]
#[path = "common/mini_redis.rs"]
pub mod mini_redis;
#[allow(dead_code)]
#[path = "common/peers.rs"]
pub mod peers;
#[allow(dead_code)]
#[path = "common/resp.rs"]
pub mod resp;

use resp::{Pool, Value};

/// What one server round of the tutorial did, for printing and for the tests.
#[derive(Debug)]
pub struct Session {
    pub addr: SocketAddr,
    /// HGETALL of the hash written with HSET.
    pub hash: BTreeMap<String, String>,
    /// GET of the key written with SET.
    pub greeting: Option<String>,
    /// The replies to a pipeline of INCRs, in order.
    pub counters: Vec<i64>,
    /// How many concurrent tasks shared the pool, and the pool's size.
    pub tasks: usize,
    pub pool_size: usize,
    pub elapsed: Duration,
}

/// One server's share of the tutorial: HSET/HGETALL a hash, SET/GET a key, pipeline ten
/// INCRs, and have `tasks` concurrent tasks share a pool of `pool_size` connections.
pub async fn session(addr: SocketAddr, tag: &str) -> io::Result<Session> {
    let start = Instant::now();
    let pool = std::sync::Arc::new(Pool::new(addr, 4));
    let key = format!("tutorial:{tag}:hash");
    let mut conn = pool.get().await?;
    conn.ping().await?;
    conn.hset(
        &key,
        &[("name", tag), ("lang", "rust"), ("runtime", "spindle")],
    )
    .await?;
    let hash = conn.hgetall(&key).await?;
    conn.set(
        &format!("tutorial:{tag}:greeting"),
        &format!("hello from {tag}"),
    )
    .await?;
    let greeting = conn.get(&format!("tutorial:{tag}:greeting")).await?;

    // Pipelining: ten commands in one write, ten replies in one read (or a few).
    let counter = format!("tutorial:{tag}:counter");
    let incr: [&[u8]; 2] = [b"INCR", counter.as_bytes()];
    let commands = vec![&incr[..]; 10];
    let counters = conn
        .pipeline(&commands)
        .await?
        .into_iter()
        .map(|reply| match reply {
            Value::Int(n) => Ok(n),
            got => Err(resp::Error::UnexpectedReply {
                command: "INCR",
                got,
            }),
        })
        .collect::<Result<Vec<_>, _>>()?;
    drop(conn);

    // Many tasks, few connections: each task borrows one from the pool, waits if none is free.
    let tasks = 16;
    let handles: Vec<_> = (0..tasks)
        .map(|i| {
            let pool = pool.clone();
            let key = format!("tutorial:{tag}:task:{i}");
            spindle::spawn(async move {
                let mut conn = pool.get().await?;
                conn.set(&key, &i.to_string()).await?;
                let back = conn.get(&key).await?;
                Ok::<_, resp::Error>(back == Some(i.to_string()))
            })
        })
        .collect();
    for handle in handles {
        let ok = handle.await.map_err(io::Error::other)??;
        if !ok {
            return Err(io::Error::other("a task read back a different value"));
        }
    }
    Ok(Session {
        addr,
        hash,
        greeting,
        counters,
        tasks,
        pool_size: pool.size(),
        elapsed: start.elapsed(),
    })
}

/// Runs [`session`] against every server at once, each in its own task.
pub async fn sessions(addrs: &[SocketAddr]) -> io::Result<Vec<Session>> {
    let handles: Vec<_> = addrs
        .iter()
        .enumerate()
        .map(|(i, &addr)| spindle::spawn(session(addr, ["alpha", "beta", "gamma"][i % 3])))
        .collect();
    let mut out = Vec::new();
    for handle in handles {
        out.push(handle.await.map_err(io::Error::other)??);
    }
    Ok(out)
}

pub fn print_session(s: &Session) {
    println!("redis at {}:", s.addr);
    println!("  HGETALL -> {:?}", s.hash);
    println!("  GET     -> {:?}", s.greeting);
    println!("  pipeline of 10 INCR -> {:?}", s.counters);
    println!(
        "  {} tasks shared a pool of {} connections; {:.1} ms in all",
        s.tasks,
        s.pool_size,
        s.elapsed.as_secs_f64() * 1e3
    );
}

/// The tour's entry point: starts two `redis-server`s, runs the tutorial against both at
/// once, prints what came back. If `redis-server` is missing (or does not start) it says so
/// and runs the same against two embedded `mini_redis` servers.
pub async fn demo() -> io::Result<()> {
    let started =
        spindle::spawn_blocking(|| Ok::<_, peers::PeerError>((peers::redis()?, peers::redis()?)))
            .await
            .map_err(io::Error::other)?;
    let (a, b) = match started {
        Ok(pair) => pair,
        Err(err) => return demo_embedded(err).await,
    };
    println!("started two redis-servers: {} and {}", a.addr(), b.addr());
    for s in sessions(&[a.addr(), b.addr()]).await? {
        print_session(&s);
    }
    Ok(())
}

/// The demo against two in-process `mini_redis` servers, when no real one could start.
async fn demo_embedded(why: peers::PeerError) -> io::Result<()> {
    match why {
        peers::PeerError::Missing { .. } => {
            println!("using the embedded mini_redis (redis-server not installed)")
        }
        other => println!("using the embedded mini_redis ({other})"),
    }
    let a = mini_redis::start_in_process().await?;
    let b = mini_redis::start_in_process().await?;
    println!("started two mini_redis servers: {} and {}", a.addr, b.addr);
    for s in sessions(&[a.addr, b.addr]).await? {
        print_session(&s);
    }
    a.shutdown().await;
    b.shutdown().await;
    Ok(())
}

fn main() -> io::Result<()> {
    spindle::run(demo())
}
