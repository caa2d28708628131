//! The crawler example: every page fetched, never more than K in flight.

// Not a library: `pub` items here are shared with the tests through `#[path]` modules,
// so the workspace's API lints (missing_docs, unreachable_pub, missing Debug) do not apply.
#![allow(missing_docs, unreachable_pub, missing_debug_implementations)]
#![cfg(feature = "hyper")]

use std::time::Duration;

#[path = "../examples/crawler.rs"]
mod crawler;

#[spindle::test(flavor = "multi_thread", worker_threads = 2)]
async fn crawler_fetches_all_with_at_most_k_in_flight() {
    let (n, k) = (15, 4);
    let crawl = crawler::crawl(n, k, Duration::from_millis(20)).await;
    let want: Vec<(String, usize)> = (1..=n).map(|i| (format!("/page/{i}"), i * 100)).collect();
    assert_eq!(crawl.pages, want);
    assert!(
        (1..=k).contains(&crawl.max_in_flight),
        "in flight: {}",
        crawl.max_in_flight
    );
    assert!(
        crawl.max_served <= k,
        "served at once: {}",
        crawl.max_served
    );
}
