//! Futures (asyncio tutorial, "Futures"): a value that another task fills in later.
//!
//! asyncio's `fut = loop.create_future()` / `fut.set_result(v)` / `await fut` is a oneshot
//! channel: the sender is the setter, the receiver is the awaitable.
//!
//! `cargo run --example futures`

// Not a library: `pub` items here are shared with the tests through `#[path]` modules,
// so the workspace's API lints (missing_docs, unreachable_pub, missing Debug) do not apply.
#![allow(missing_docs, unreachable_pub, missing_debug_implementations)]

use std::time::Duration;

use spindle::sync::oneshot;
use spindle::time::{self, Instant};

/// Creates a future, has another task set its result after `delay`, and awaits it.
/// Returns the value and how long the await took.
pub async fn set_after(delay: Duration, value: &'static str) -> (&'static str, Duration) {
    let (setter, fut) = oneshot::channel();
    spindle::spawn(async move {
        time::sleep(delay).await;
        // `send` is synchronous, like `set_result`; it fails only if nobody awaits any more.
        let _ = setter.send(value);
    });
    let start = Instant::now();
    let result = fut
        .await
        .expect("the setter task dropped its end without a result");
    (result, start.elapsed())
}

#[allow(dead_code)] // the tests include this file for its functions, not for `main`
#[spindle::main]
pub async fn main() {
    println!("awaiting a future that another task sets in 2 s...");
    let (value, waited) = set_after(Duration::from_secs(2), "done!").await;
    println!("result: {value:?} after {waited:.2?}");
}
