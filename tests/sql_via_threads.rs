//! The `sql_via_threads` example: rows written and read back from many concurrent tasks
//! through `spawn_blocking`, against a real MariaDB server (started here) and against SQLite.

// Not a library: `pub` items here are shared with the tests through `#[path]` modules,
// so the workspace's API lints (missing_docs, unreachable_pub, missing Debug) do not apply.
#![allow(missing_docs, unreachable_pub, missing_debug_implementations)]

mod peers;

#[allow(dead_code)]
#[path = "../examples/sql_via_threads.rs"]
mod example;

use std::sync::Arc;

use example::{Backend, person};

fn check_rows(report: &example::Report, tasks: usize) {
    let expected: Vec<(u32, String)> = (0..tasks as u32).map(|id| (id, person(id))).collect();
    assert_eq!(report.rows, expected);
    let read_back: Vec<String> = (0..tasks as u32).map(person).collect();
    assert_eq!(report.read_back, read_back);
}

#[test]
fn mariadb_rows_from_concurrent_blocking_tasks() {
    let server = peers::mariadb();
    let backend = Backend::mariadb(server.port()).unwrap();
    let tasks = 20;
    let report = spindle::run(example::run_workload(Arc::new(backend), tasks)).unwrap();
    assert!(report.backend.starts_with("MariaDB"), "{}", report.backend);
    check_rows(&report, tasks);
    // Twenty 200 ms queries on threads overlap: far less than the 4 s they take in a row
    // (a loose bound; the point is overlap, not speed), and the event loop kept ticking.
    assert!(
        report.elapsed < example::SLOW_QUERY * tasks as u32 / 3,
        "{report:?}"
    );
    assert!(report.ticks >= 5, "{report:?}");

    // Running it again starts from an empty table: the rows are this run's.
    let backend = Backend::mariadb(server.port()).unwrap();
    let report = spindle::run(example::run_workload(Arc::new(backend), 3)).unwrap();
    check_rows(&report, 3);
}

#[test]
fn sqlite_rows_from_concurrent_blocking_tasks() {
    let dir = std::env::temp_dir().join(format!("spindle-sqlite-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let backend = Backend::sqlite(dir.join("t.db")).unwrap();
    let tasks = 20;
    let report = spindle::run(example::run_workload(Arc::new(backend), tasks)).unwrap();
    assert!(report.backend.starts_with("SQLite"), "{}", report.backend);
    check_rows(&report, tasks);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn unreachable_mariadb_is_an_error_not_a_hang() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    // On a helper thread, so a connect that hangs fails the test instead of hanging it.
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || tx.send(Backend::mariadb(port).err()));
    let err = rx
        .recv_timeout(std::time::Duration::from_secs(30))
        .expect("connecting to a closed port still had no answer after 30 s")
        .expect("nothing listens there");
    // The driver's own error, passed on whole: which address, and why.
    assert_eq!(err.kind(), std::io::ErrorKind::Other, "{err:?}");
    let msg = err.to_string();
    assert!(
        msg.contains(&format!("Could not connect to address `127.0.0.1:{port}'"))
            && msg.contains("Connection refused"),
        "{msg}"
    );
}
