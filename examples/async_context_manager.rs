//! Async context managers (asyncio tutorial, "Async context managers"): a connection whose
//! async open and async close bracket a block, like `async with connect() as conn:`.
//!
//! Rust has no `async with`, and `Drop` cannot await. So `Conn::with` opens, runs the block
//! (an async closure borrowing the connection), and awaits `close` whatever the block
//! returned — `Ok`, an early `return`, or an `Err` through `?`. If the block panics or its
//! task is cancelled, the future is dropped mid-block and `Drop` closes the connection
//! synchronously as a fallback.
//!
//! `cargo run --example async_context_manager`

// Not a library: `pub` items here are shared with the tests through `#[path]` modules,
// so the workspace's API lints (missing_docs, unreachable_pub, missing Debug) do not apply.
#![allow(missing_docs, unreachable_pub, missing_debug_implementations)]

use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use spindle::time::sleep;

/// What happened to connections, in order: "open", "query ...", "close", "close (drop)".
pub type Log = Arc<Mutex<Vec<String>>>;

fn note(log: &Log, what: String) {
    println!("  {what}");
    log.lock().unwrap().push(what);
}

/// A query the pretend server refused.
#[derive(Debug, PartialEq, Eq)]
pub struct QueryError(pub String);

impl fmt::Display for QueryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "query failed: {}", self.0)
    }
}

impl std::error::Error for QueryError {}

/// A pretend network connection: opening and closing take a round trip.
pub struct Conn {
    log: Log,
    open: bool,
}

impl Conn {
    /// `__aenter__`: connect.
    pub async fn open(log: Log) -> Conn {
        sleep(Duration::from_millis(10)).await; // the handshake
        note(&log, "open".into());
        Conn { log, open: true }
    }

    /// A query; one containing "fail" is refused.
    pub async fn query(&mut self, sql: &str) -> Result<usize, QueryError> {
        sleep(Duration::from_millis(10)).await;
        note(&self.log, format!("query {sql}"));
        if sql.contains("fail") {
            return Err(QueryError(sql.into()));
        }
        Ok(sql.len())
    }

    /// `__aexit__`: say goodbye to the server, then close.
    pub async fn close(mut self) {
        sleep(Duration::from_millis(10)).await;
        self.open = false;
        note(&self.log, "close".into());
    }

    /// `async with Conn.open() as conn: body(conn)`, with `close` awaited on every normal
    /// way out of `body`.
    pub async fn with<T, E>(
        log: Log,
        body: impl AsyncFnOnce(&mut Conn) -> Result<T, E>,
    ) -> Result<T, E> {
        let mut conn = Conn::open(log).await;
        let result = body(&mut conn).await;
        conn.close().await;
        result
    }
}

impl Drop for Conn {
    fn drop(&mut self) {
        // Only reached still open when the block never finished (a panic, a cancelled
        // task): no await is possible here, so close without the goodbye.
        if self.open {
            note(&self.log, "close (drop)".into());
        }
    }
}

/// A block that finishes: two queries.
pub async fn normal(log: Log) -> Result<usize, QueryError> {
    Conn::with(log, async |conn: &mut Conn| {
        let a = conn.query("select 1").await?;
        let b = conn.query("select 2").await?;
        Ok(a + b)
    })
    .await
}

/// A block that returns early, skipping its second query.
pub async fn early_return(log: Log) -> Result<usize, QueryError> {
    Conn::with(log, async |conn: &mut Conn| {
        let n = conn.query("select count").await?;
        if n > 0 {
            return Ok(n);
        }
        conn.query("never runs").await
    })
    .await
}

/// A block whose query fails: the error goes through `?` and out of `with`.
pub async fn error(log: Log) -> Result<usize, QueryError> {
    Conn::with(log, async |conn: &mut Conn| {
        conn.query("select fail").await?;
        conn.query("never runs").await
    })
    .await
}

/// A block that panics: run in its own task, whose `JoinHandle` reports the panic.
pub async fn panic(log: Log) -> bool {
    let task = spindle::spawn(async move {
        Conn::with(log, async |conn: &mut Conn| -> Result<(), QueryError> {
            conn.query("select 1").await?;
            panic!("bug in the block");
        })
        .await
    });
    task.await.unwrap_err().is_panic()
}

#[allow(dead_code)] // the tests include this file for its functions, not for `main`
#[spindle::main]
pub async fn main() {
    let log = Log::default();
    println!("a block that finishes:");
    println!("-> {:?}", normal(log.clone()).await);
    println!("a block that returns early:");
    println!("-> {:?}", early_return(log.clone()).await);
    println!("a block that fails:");
    println!("-> {:?}", error(log.clone()).await);
    println!("a block that panics (the panic message above is expected):");
    println!("-> panicked: {}", panic(log.clone()).await);
}
