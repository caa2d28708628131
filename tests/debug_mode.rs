//! asyncio's debug mode on Spindle: slow polls and panics nobody awaited are reported, with
//! the task's id, name and spawn location, to hooks or (with `SPINDLE_DEBUG=1`) stderr.

// Not a library: `pub` items here are shared with the tests through `#[path]` modules,
// so the workspace's API lints (missing_docs, unreachable_pub, missing Debug) do not apply.
#![allow(missing_docs, unreachable_pub, missing_debug_implementations)]

use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use spindle::runtime::Builder;

#[derive(Debug, Clone, PartialEq)]
struct Seen {
    id: spindle::task::Id,
    name: Option<String>,
    file: &'static str,
    line: u32,
    detail: String,
}

fn flavours() -> [Builder; 2] {
    let mut multi = Builder::new_multi_thread();
    multi.worker_threads(2);
    [Builder::new_current_thread(), multi]
}

#[test]
fn a_slow_poll_is_reported_with_its_task_and_spawn_location() {
    for mut builder in flavours() {
        let seen: Arc<Mutex<Vec<Seen>>> = Arc::default();
        let sink = seen.clone();
        let rt = builder
            .slow_poll_threshold(Duration::from_millis(30))
            .on_slow_poll(move |poll| {
                sink.lock().unwrap().push(Seen {
                    id: poll.id(),
                    name: poll.name().map(str::to_owned),
                    file: poll.spawned_at().file(),
                    line: poll.spawned_at().line(),
                    detail: format!("{:?}", poll.duration() >= poll.threshold()),
                })
            })
            .build()
            .unwrap();
        let (slow_id, line) = rt.block_on(async {
            let line = line!() + 1;
            let slow = spindle::task::Builder::new().name("blocker").spawn(async {
                // A blocking call made on the runtime by mistake.
                std::thread::sleep(Duration::from_millis(80));
            });
            let slow = slow.unwrap();
            let id = slow.id();
            slow.await.unwrap();
            // Quick tasks, and blocking closures on the pool, are not reported.
            for _ in 0..10 {
                spindle::spawn(async { spindle::task::yield_now().await })
                    .await
                    .unwrap();
            }
            spindle::spawn_blocking(|| std::thread::sleep(Duration::from_millis(50)))
                .await
                .unwrap();
            (id, line)
        });
        drop(rt);
        let seen = seen.lock().unwrap().clone();
        assert_eq!(
            seen,
            vec![Seen {
                id: slow_id,
                name: Some("blocker".into()),
                file: file!(),
                line,
                detail: "true".into(),
            }]
        );
    }
}

#[test]
fn a_panic_nobody_awaits_is_reported_and_an_awaited_one_is_not() {
    for mut builder in flavours() {
        let seen: Arc<Mutex<Vec<String>>> = Arc::default();
        let sink = seen.clone();
        let rt = builder
            .on_unobserved_panic(move |report| sink.lock().unwrap().push(report.to_string()))
            .build()
            .unwrap();
        rt.block_on(async {
            // Awaited: the JoinError reports it, so debug mode stays quiet.
            let awaited = spindle::spawn(async { panic!("seen by its handle") }).await;
            assert!(awaited.unwrap_err().is_panic());
            // Detached before it panics.
            let detached = spindle::task::Builder::new()
                .name("n1")
                .spawn(async { panic!("nobody is listening") })
                .unwrap();
            drop(detached);
            // Finished, but its handle is dropped without reading the panic.
            let unread = spindle::spawn(async { panic!("never read") });
            while !unread.is_finished() {
                spindle::task::yield_now().await;
            }
            drop(unread);
            // A blocking closure that panics with nobody awaiting it.
            drop(spindle::spawn_blocking(|| panic!("blocking and alone")));
            for _ in 0..200 {
                if seen_len(&seen) == 3 {
                    break;
                }
                spindle::time::sleep(Duration::from_millis(5)).await;
            }
        });
        drop(rt);
        let mut seen = seen.lock().unwrap().clone();
        seen.sort();
        assert_eq!(seen.len(), 3, "{seen:?}");
        assert!(seen.iter().any(|r| r.contains("'n1'")
            && r.ends_with("panicked and nobody awaited it: nobody is listening")
            && r.contains(file!())));
        assert!(seen.iter().any(|r| r.ends_with(": never read")));
        assert!(seen.iter().any(|r| r.ends_with(": blocking and alone")));
        assert!(!seen.iter().any(|r| r.contains("seen by its handle")));
    }
}

fn seen_len(seen: &Arc<Mutex<Vec<String>>>) -> usize {
    seen.lock().unwrap().len()
}

const CHILD_ENV: &str = "SPINDLE_DEBUG_MODE_TEST_CHILD";

/// `SPINDLE_DEBUG=1` turns both reports on, printed to stderr, with no code change.
#[test]
fn spindle_debug_env_prints_both_reports() {
    if std::env::var_os(CHILD_ENV).is_some() {
        spindle::run(async {
            spindle::task::Builder::new()
                .name("sleepy")
                .spawn(async { std::thread::sleep(Duration::from_millis(150)) })
                .unwrap()
                .await
                .unwrap();
            let lost = spindle::spawn(async { panic!("lost panic") });
            drop(lost);
            spindle::time::sleep(Duration::from_millis(50)).await;
        });
        return;
    }
    let out = Command::new(std::env::current_exe().unwrap())
        .args([
            "spindle_debug_env_prints_both_reports",
            "--exact",
            "--nocapture",
        ])
        .env(CHILD_ENV, "1")
        .env("SPINDLE_DEBUG", "1")
        .output()
        .unwrap();
    assert!(out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    let slow = stderr
        .lines()
        .find(|l| l.starts_with("spindle: task") && l.contains("'sleepy'"))
        .unwrap_or_else(|| panic!("no slow-poll line in:\n{stderr}"));
    assert!(slow.contains("longer than the 100ms threshold"), "{slow}");
    assert!(slow.contains(file!()), "{slow}");
    assert!(
        stderr.lines().any(|l| l.starts_with("spindle: task")
            && l.ends_with("panicked and nobody awaited it: lost panic")),
        "{stderr}"
    );
}
