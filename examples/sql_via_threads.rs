//! The asyncio tutorial's point about MySQL: its drivers block, so an async program runs
//! them on a thread pool (`loop.run_in_executor`). Here the blocking `mysql` crate runs
//! inside `spindle::spawn_blocking`, called from many concurrent tasks, against a real
//! MariaDB server that the example starts itself (a throwaway `mariadbd` on a free loopback
//! port). Without MariaDB it falls back to SQLite, embedded through rusqlite, and says so.
//!
//! Each task also runs a deliberately slow query (`DO SLEEP(0.2)` on MariaDB): on threads
//! they overlap, so twenty of them take about as long as one, while a ticker task on the
//! event loop keeps ticking.
//!
//! `cargo run --example sql_via_threads`

// Not a library: `pub` items here are shared with the tests through `#[path]` modules,
// so the workspace's API lints (missing_docs, unreachable_pub, missing Debug) do not apply.
#![allow(missing_docs, unreachable_pub, missing_debug_implementations)]

use std::io;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use mysql::prelude::Queryable;

#[allow(dead_code)]
#[path = "common/peers.rs"]
pub mod peers;

/// How long each task's slow query takes, where the backend has a way to be slow on purpose.
pub const SLOW_QUERY: Duration = Duration::from_millis(200);

/// Where the rows go. Every method blocks: call them from `spawn_blocking`.
pub enum Backend {
    MariaDb(mysql::Pool),
    /// rusqlite connections are not `Sync`: each blocking call opens its own on this file.
    Sqlite(PathBuf),
}

fn db_err(err: impl std::fmt::Display) -> io::Error {
    io::Error::other(err.to_string())
}

impl Backend {
    /// Connects to a MariaDB/MySQL server on 127.0.0.1:`port` as root without a password (the
    /// throwaway server runs with grant tables off) and creates the `tutorial` database.
    pub fn mariadb(port: u16) -> io::Result<Backend> {
        let opts = mysql::OptsBuilder::new()
            .ip_or_hostname(Some("127.0.0.1"))
            .tcp_port(port)
            .user(Some("root"))
            // Stay on TCP: the point is a network driver, not a local socket shortcut.
            .prefer_socket(false);
        let mut conn = mysql::Conn::new(opts.clone()).map_err(db_err)?;
        conn.query_drop("CREATE DATABASE IF NOT EXISTS tutorial")
            .map_err(db_err)?;
        let pool = mysql::Pool::new(opts.db_name(Some("tutorial"))).map_err(db_err)?;
        Ok(Backend::MariaDb(pool))
    }

    /// An SQLite database file at `path` (created if missing).
    pub fn sqlite(path: PathBuf) -> io::Result<Backend> {
        let conn = rusqlite::Connection::open(&path).map_err(db_err)?;
        // WAL lets readers and the one writer overlap; the busy timeout makes concurrent
        // writers wait their turn instead of failing with SQLITE_BUSY.
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(db_err)?;
        Ok(Backend::Sqlite(path))
    }

    pub fn name(&self) -> &'static str {
        match self {
            Backend::MariaDb(_) => "MariaDB (blocking `mysql` driver)",
            Backend::Sqlite(_) => "SQLite (embedded, rusqlite bundled)",
        }
    }

    fn sqlite_conn(path: &PathBuf) -> io::Result<rusqlite::Connection> {
        let conn = rusqlite::Connection::open(path).map_err(db_err)?;
        conn.busy_timeout(Duration::from_secs(10)).map_err(db_err)?;
        Ok(conn)
    }

    /// Creates (or empties) the `people` table.
    pub fn setup(&self) -> io::Result<()> {
        match self {
            Backend::MariaDb(pool) => {
                let mut conn = pool.get_conn().map_err(db_err)?;
                conn.query_drop(
                    "CREATE TABLE IF NOT EXISTS people (id INT PRIMARY KEY, name VARCHAR(64) NOT NULL)",
                )
                .map_err(db_err)?;
                conn.query_drop("DELETE FROM people").map_err(db_err)
            }
            Backend::Sqlite(path) => {
                let conn = Self::sqlite_conn(path)?;
                conn.execute_batch(
                    "CREATE TABLE IF NOT EXISTS people (id INTEGER PRIMARY KEY, name TEXT NOT NULL);
                     DELETE FROM people;",
                )
                .map_err(db_err)
            }
        }
    }

    /// One task's work: a slow query, an INSERT, then a SELECT of the row it wrote.
    pub fn insert_and_read(&self, id: u32, name: &str) -> io::Result<String> {
        match self {
            Backend::MariaDb(pool) => {
                let mut conn = pool.get_conn().map_err(db_err)?;
                conn.query_drop(format!("DO SLEEP({})", SLOW_QUERY.as_secs_f64()))
                    .map_err(db_err)?;
                conn.exec_drop("INSERT INTO people (id, name) VALUES (?, ?)", (id, name))
                    .map_err(db_err)?;
                conn.exec_first("SELECT name FROM people WHERE id = ?", (id,))
                    .map_err(db_err)?
                    .ok_or_else(|| io::Error::other(format!("row {id} not found")))
            }
            Backend::Sqlite(path) => {
                let conn = Self::sqlite_conn(path)?;
                conn.execute(
                    "INSERT INTO people (id, name) VALUES (?1, ?2)",
                    rusqlite::params![id, name],
                )
                .map_err(db_err)?;
                conn.query_row("SELECT name FROM people WHERE id = ?1", [id], |row| {
                    row.get(0)
                })
                .map_err(db_err)
            }
        }
    }

    /// Every row, ordered by id.
    pub fn all_rows(&self) -> io::Result<Vec<(u32, String)>> {
        match self {
            Backend::MariaDb(pool) => pool
                .get_conn()
                .map_err(db_err)?
                .query("SELECT id, name FROM people ORDER BY id")
                .map_err(db_err),
            Backend::Sqlite(path) => {
                let conn = Self::sqlite_conn(path)?;
                let mut stmt = conn
                    .prepare("SELECT id, name FROM people ORDER BY id")
                    .map_err(db_err)?;
                stmt.query_map([], |row| Ok((row.get(0)?, row.get(1)?)))
                    .map_err(db_err)?
                    .collect::<Result<_, _>>()
                    .map_err(db_err)
            }
        }
    }

    /// Whether `insert_and_read` includes the deliberately slow query.
    pub fn has_slow_query(&self) -> bool {
        matches!(self, Backend::MariaDb(_))
    }
}

#[derive(Debug)]
pub struct Report {
    pub backend: &'static str,
    pub tasks: usize,
    /// What each task read back after its INSERT, in task order.
    pub read_back: Vec<String>,
    /// Every row in the table afterwards.
    pub rows: Vec<(u32, String)>,
    pub elapsed: Duration,
    /// How often a 10 ms ticker on the event loop fired meanwhile.
    pub ticks: u64,
}

pub fn person(id: u32) -> String {
    format!("person-{id}")
}

/// `tasks` concurrent tasks, each handing its blocking database work to `spawn_blocking`,
/// while a ticker task shows the event loop is never blocked.
pub async fn run_workload(backend: Arc<Backend>, tasks: usize) -> io::Result<Report> {
    let b = backend.clone();
    spindle::spawn_blocking(move || b.setup())
        .await
        .map_err(io::Error::other)??;

    let done = Arc::new(AtomicBool::new(false));
    let ticks = Arc::new(AtomicU64::new(0));
    let ticker = {
        let (done, ticks) = (done.clone(), ticks.clone());
        spindle::spawn(async move {
            while !done.load(Ordering::Relaxed) {
                spindle::time::sleep(Duration::from_millis(10)).await;
                ticks.fetch_add(1, Ordering::Relaxed);
            }
        })
    };

    let start = Instant::now();
    let handles: Vec<_> = (0..tasks as u32)
        .map(|id| {
            let backend = backend.clone();
            spindle::spawn(async move {
                // asyncio: await loop.run_in_executor(None, blocking_query, ...)
                spindle::spawn_blocking(move || backend.insert_and_read(id, &person(id))).await
            })
        })
        .collect();
    let mut read_back = Vec::with_capacity(tasks);
    for handle in handles {
        let inner = handle.await.map_err(io::Error::other)?;
        read_back.push(inner.map_err(io::Error::other)??);
    }
    let elapsed = start.elapsed();
    done.store(true, Ordering::Relaxed);
    ticker.await.map_err(io::Error::other)?;

    let b = backend.clone();
    let rows = spindle::spawn_blocking(move || b.all_rows())
        .await
        .map_err(io::Error::other)??;
    Ok(Report {
        backend: backend.name(),
        tasks,
        read_back,
        rows,
        elapsed,
        ticks: ticks.load(Ordering::Relaxed),
    })
}

pub fn print_report(r: &Report, slow: bool) {
    println!("backend: {}", r.backend);
    println!(
        "{} tasks each wrote and read back one row through spawn_blocking: {} rows in the table",
        r.tasks,
        r.rows.len()
    );
    println!("first rows: {:?}", &r.rows[..r.rows.len().min(3)]);
    if slow {
        println!(
            "each ran a {SLOW_QUERY:?} query; all {} together took {:.0} ms (one after another: {:.0} ms)",
            r.tasks,
            r.elapsed.as_secs_f64() * 1e3,
            SLOW_QUERY.as_secs_f64() * 1e3 * r.tasks as f64
        );
    } else {
        println!(
            "all {} took {:.1} ms",
            r.tasks,
            r.elapsed.as_secs_f64() * 1e3
        );
    }
    println!(
        "meanwhile the event loop's 10 ms ticker fired {} times",
        r.ticks
    );
}

/// The tour's entry point: MariaDB if `mariadbd` is installed and starts, else SQLite.
pub async fn demo() -> io::Result<()> {
    let server = spindle::spawn_blocking(peers::mariadb)
        .await
        .map_err(io::Error::other)?;
    // Keep the server (if any) and the SQLite dir alive until the workload is done.
    let mut sqlite_dir = None;
    let (backend, _server) = match server {
        Ok(server) => {
            println!("started a throwaway mariadbd on {}", server.addr());
            let port = server.port();
            let backend = spindle::spawn_blocking(move || Backend::mariadb(port))
                .await
                .map_err(io::Error::other)??;
            (backend, Some(server))
        }
        Err(err) => {
            println!("no MariaDB ({err}); falling back to SQLite, embedded");
            let dir = peers::temp_dir("sqlite")?;
            let backend = Backend::sqlite(dir.join("tutorial.db"))?;
            sqlite_dir = Some(dir);
            (backend, None)
        }
    };
    let slow = backend.has_slow_query();
    let report = run_workload(Arc::new(backend), 20).await;
    if let Some(dir) = sqlite_dir {
        let _ = std::fs::remove_dir_all(dir);
    }
    print_report(&report?, slow);
    Ok(())
}

fn main() -> io::Result<()> {
    spindle::run(demo())
}
