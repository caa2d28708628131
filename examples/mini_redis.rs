//! mini_redis: a Redis-compatible server (RESP2) on Spindle, for `redis-cli` and
//! `redis-benchmark`. The server itself is `examples/common/mini_redis.rs`; this is the
//! binary around it.
//!
//! ```text
//! cargo run --release --example mini_redis -- --port 6390
//! redis-benchmark -p 6390 -t set,get -P 16 -q
//! ```
//!
//! `--port 0` picks a free port; either way it prints `mini_redis listening on
//! 127.0.0.1:PORT` once it accepts connections. Ctrl-C (or SIGTERM) shuts it down gracefully.
//! `--timeout SECS` closes connections idle that long (Redis's `timeout`; off by default).

// Not a library: `pub` items here are shared with the tests through `#[path]` modules,
// so the workspace's API lints (missing_docs, unreachable_pub, missing Debug) do not apply.
#![allow(missing_docs, unreachable_pub, missing_debug_implementations)]

use std::io::{self, Write};
use std::time::Duration;

#[allow(dead_code)]
#[path = "common/mini_redis.rs"]
pub mod mini_redis;

use mini_redis::{Config, Server, Stats};

fn usage() -> ! {
    eprintln!("usage: mini_redis [--port PORT] [--timeout SECS]");
    std::process::exit(2)
}

fn main() -> io::Result<()> {
    let mut port: u16 = 6379;
    let mut config = Config::default();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || args.next().unwrap_or_else(|| usage());
        match arg.as_str() {
            "--port" => port = value().parse().unwrap_or_else(|_| usage()),
            "--timeout" => {
                let secs: u64 = value().parse().unwrap_or_else(|_| usage());
                config.idle_timeout = (secs > 0).then(|| Duration::from_secs(secs));
            }
            "-h" | "--help" => usage(),
            _ => usage(),
        }
    }
    spindle::run(async move {
        let signal = mini_redis::shutdown_signal()?;
        let server = Server::start(("127.0.0.1", port), config).await?;
        println!("mini_redis listening on {}", server.addr);
        io::stdout().flush()?;
        signal.await?;
        let stats = server.stats();
        let (accepted, commands) = (Stats::get(&stats.accepted), Stats::get(&stats.commands));
        println!("mini_redis: shutting down");
        server.shutdown().await;
        println!("mini_redis: served {accepted} connections, {commands} commands; bye");
        Ok(())
    })
}
