//! The asyncio tutorial on Spindle, from start to finish: every example, in the tutorial's
//! order, with a header for each section. This is the README's main command:
//!
//! ```text
//! cargo run --release --example tour
//! ```
//!
//! Sections that need a real peer (`redis-server`, MariaDB) start one on a free loopback port
//! when it is installed, and otherwise say how to install it and skip only that part
//! (`bash scripts/install-peers.sh` installs both).

// Not a library: `pub` items here are shared with the tests through `#[path]` modules,
// so the workspace's API lints (missing_docs, unreachable_pub, missing Debug) do not apply.
#![allow(missing_docs, unreachable_pub, missing_debug_implementations)]
// Each example is compiled here as a module, exactly as it runs on its own; the helper modules
// some of them share (examples/common) are therefore compiled more than once.
#![allow(clippy::duplicate_mod)]

#[allow(dead_code)]
#[path = "async_context_manager.rs"]
mod async_context_manager;
#[allow(dead_code)]
#[path = "async_iterator.rs"]
mod async_iterator;
#[allow(dead_code)]
#[path = "coroutines.rs"]
mod coroutines;
#[cfg(feature = "hyper")]
#[allow(dead_code)]
#[path = "crawler.rs"]
mod crawler;
#[cfg(feature = "hyper")]
#[allow(dead_code)]
#[path = "download_images.rs"]
mod download_images;
#[allow(dead_code)]
#[path = "fast_loop.rs"]
mod fast_loop;
#[allow(dead_code)]
#[path = "futures.rs"]
mod futures;
#[allow(dead_code)]
#[path = "redis.rs"]
mod redis;
#[allow(dead_code)]
#[path = "run_in_executor.rs"]
mod run_in_executor;
#[allow(dead_code)]
#[path = "sql_via_threads.rs"]
mod sql_via_threads;
#[allow(dead_code)]
#[path = "tasks.rs"]
mod tasks;
#[cfg(feature = "hyper")]
#[allow(dead_code)]
#[path = "web.rs"]
mod web;

use std::future::Future;
use std::io;

fn section(number: u32, title: &str, example: &str) {
    println!("\n=== {number}. {title}  (cargo run --example {example}) ===\n");
}

/// Runs one async section on a fresh runtime, like `asyncio.run`; a failure is reported and
/// the tour goes on.
fn run_async(demo: impl Future<Output = io::Result<()>>) {
    if let Err(err) = spindle::run(demo) {
        println!("!! this section failed: {err}");
    }
}

fn main() {
    println!("Spindle: the asyncio tutorial, section by section");

    section(
        1,
        "coroutines take turns: yield_now, sleep, and hand-written futures",
        "coroutines",
    );
    coroutines::main();

    #[cfg(feature = "hyper")]
    {
        section(
            2,
            "downloading images: sequential vs concurrent",
            "download_images",
        );
        run_async(download_images::demo());
    }

    section(
        3,
        "tasks: names, wait with done/pending and a timeout, gather, abort",
        "tasks",
    );
    tasks::main();

    section(
        4,
        "futures set by hand (loop.create_future / set_result)",
        "futures",
    );
    futures::main();

    section(
        5,
        "blocking calls on thread pools (run_in_executor)",
        "run_in_executor",
    );
    run_in_executor::main();

    section(6, "async iterators", "async_iterator");
    async_iterator::main();

    section(7, "async context managers", "async_context_manager");
    async_context_manager::main();

    section(
        8,
        "Redis: an async RESP client against two servers (redis-server, or the embedded mini_redis)",
        "redis",
    );
    run_async(redis::demo());

    section(
        9,
        "SQL through threads: a blocking driver under spawn_blocking",
        "sql_via_threads",
    );
    run_async(sql_via_threads::demo());

    #[cfg(feature = "hyper")]
    {
        section(
            10,
            "a web service: an axum app served by hyper on Spindle, Redis behind it",
            "web",
        );
        run_async(web::demo());

        section(11, "a crawler with at most K requests in flight", "crawler");
        crawler::main();
    }
    #[cfg(not(feature = "hyper"))]
    println!("\n(sections 2, 10 and 11 need the `hyper` feature, which is on by default)");

    section(
        12,
        "a faster loop: Spindle side by side with tokio (the uvloop section)",
        "fast_loop",
    );
    fast_loop::main();

    println!("\nTour complete.");
}
