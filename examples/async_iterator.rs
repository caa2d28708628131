//! Async iterators (asyncio tutorial, "Async iterators"): the tutorial's `Reader`, whose
//! `__anext__` awaits before each line, as a `Stream`.
//!
//! `async for line in reader:` is `while let Some(line) = reader.next().await`.
//!
//! `cargo run --example async_iterator`

// Not a library: `pub` items here are shared with the tests through `#[path]` modules,
// so the workspace's API lints (missing_docs, unreachable_pub, missing Debug) do not apply.
#![allow(missing_docs, unreachable_pub, missing_debug_implementations)]

use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use futures::StreamExt;
use futures_core::Stream;
use spindle::time::{Instant, Sleep, sleep};

/// Yields `1..=lines`, each after waiting `delay` (the tutorial's `readline` sleeps, then
/// returns the next count, and `None` ends the iteration).
pub struct Reader {
    count: u32,
    lines: u32,
    delay: Duration,
    // The pending `readline`: one timer, reset for each line rather than re-created.
    wait: Pin<Box<Sleep>>,
}

impl Reader {
    /// Must be called inside a runtime (it starts the first wait).
    pub fn new(lines: u32, delay: Duration) -> Reader {
        Reader {
            count: 0,
            lines,
            delay,
            wait: Box::pin(sleep(delay)),
        }
    }
}

impl Stream for Reader {
    type Item = u32;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<u32>> {
        if self.count == self.lines {
            return Poll::Ready(None); // StopAsyncIteration
        }
        if self.wait.as_mut().poll(cx).is_pending() {
            return Poll::Pending;
        }
        self.count += 1;
        let next = Instant::now() + self.delay;
        self.wait.as_mut().reset(next);
        Poll::Ready(Some(self.count))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let left = (self.lines - self.count) as usize;
        (left, Some(left))
    }
}

/// Reads every line, printing each as it arrives.
pub async fn read_all(lines: u32, delay: Duration) -> Vec<u32> {
    let mut reader = Reader::new(lines, delay);
    let mut got = Vec::new();
    while let Some(line) = reader.next().await {
        println!("  line {line}");
        got.push(line);
    }
    got
}

#[allow(dead_code)] // the tests include this file for its functions, not for `main`
#[spindle::main]
pub async fn main() {
    let start = Instant::now();
    let lines = read_all(5, Duration::from_millis(200)).await;
    println!("read {lines:?} in {:.2?}", start.elapsed());
}
