//! `spindle::sync`: the re-exported channels, locks and events work across Spindle tasks.

// Not a library: `pub` items here are shared with the tests through `#[path]` modules,
// so the workspace's API lints (missing_docs, unreachable_pub, missing Debug) do not apply.
#![allow(missing_docs, unreachable_pub, missing_debug_implementations)]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use spindle::sync::{Barrier, Event, Listener, Mutex, RwLock, Semaphore, mpsc, oneshot};
use spindle::time::{self, Instant};

#[spindle::test(flavor = "multi_thread", worker_threads = 2)]
async fn bounded_channel_carries_every_item_from_many_producers() {
    let (tx, rx) = mpsc::bounded(4);
    for p in 0..4u32 {
        let tx = tx.clone();
        spindle::spawn(async move {
            for i in 0..100 {
                tx.send(p * 1000 + i).await.unwrap();
            }
        });
    }
    drop(tx);
    let mut got = Vec::new();
    while let Ok(v) = rx.recv().await {
        got.push(v);
    }
    got.sort_unstable();
    let want: Vec<u32> = (0..4)
        .flat_map(|p| (0..100).map(move |i| p * 1000 + i))
        .collect();
    assert_eq!(got, want);
}

#[spindle::test]
async fn unbounded_channel_reports_closed() {
    let (tx, rx) = mpsc::unbounded();
    tx.try_send(1).unwrap();
    drop(tx);
    assert_eq!(rx.recv().await, Ok(1));
    assert_eq!(rx.recv().await, Err(mpsc::RecvError));
}

#[spindle::test(start_paused = true)]
async fn oneshot_is_set_by_another_task() {
    let (tx, rx) = oneshot::channel();
    spindle::spawn(async move {
        time::sleep(Duration::from_secs(2)).await;
        tx.send("result").unwrap();
    });
    let start = Instant::now();
    assert_eq!(rx.await, Ok("result"));
    assert_eq!(start.elapsed(), Duration::from_secs(2));

    let (tx, rx) = oneshot::channel::<()>();
    drop(tx);
    assert_eq!(rx.await, Err(oneshot::Canceled));
}

#[spindle::test(flavor = "multi_thread", worker_threads = 2)]
async fn mutex_and_rwlock_guard_shared_state() {
    let counter = Arc::new(Mutex::new(0u32));
    let handles: Vec<_> = (0..8)
        .map(|_| {
            let counter = counter.clone();
            spindle::spawn(async move {
                for _ in 0..100 {
                    let mut guard = counter.lock().await;
                    let v = *guard;
                    spindle::task::yield_now().await; // hold the lock across an await
                    *guard = v + 1;
                }
            })
        })
        .collect();
    for r in spindle::task::gather(handles).await {
        r.unwrap();
    }
    assert_eq!(*counter.lock().await, 800);

    let table = RwLock::new(vec![1]);
    {
        let a = table.read().await;
        let b = table.read().await; // many readers at once
        assert_eq!(a.len() + b.len(), 2);
        assert!(table.try_write().is_none());
    }
    table.write().await.push(2);
    assert_eq!(*table.read().await, [1, 2]);
}

#[spindle::test(start_paused = true)]
async fn semaphore_bounds_concurrency() {
    let sem = Arc::new(Semaphore::new(3));
    let now = Arc::new(AtomicUsize::new(0));
    let max = Arc::new(AtomicUsize::new(0));
    let handles = (0..10)
        .map(|_| {
            let (sem, now, max) = (sem.clone(), now.clone(), max.clone());
            spindle::spawn(async move {
                let _permit = sem.acquire().await;
                let n = now.fetch_add(1, Ordering::SeqCst) + 1;
                max.fetch_max(n, Ordering::SeqCst);
                time::sleep(Duration::from_secs(1)).await;
                now.fetch_sub(1, Ordering::SeqCst);
            })
        })
        .collect();
    let start = Instant::now();
    spindle::task::gather(handles).await;
    assert_eq!(max.load(Ordering::SeqCst), 3);
    // 10 jobs of 1 s, 3 at a time: 4 rounds.
    assert_eq!(start.elapsed(), Duration::from_secs(4));
}

#[spindle::test(start_paused = true)]
async fn event_wakes_listeners_and_barrier_releases_together() {
    let event = Arc::new(Event::new());
    let flag = Arc::new(AtomicUsize::new(0));
    let waiters: Vec<_> = (0..3)
        .map(|_| {
            let (event, flag) = (event.clone(), flag.clone());
            spindle::spawn(async move {
                // Listen first, then check: a notify in between is not lost.
                loop {
                    if flag.load(Ordering::SeqCst) == 1 {
                        return;
                    }
                    let listener = event.listen();
                    if flag.load(Ordering::SeqCst) == 1 {
                        return;
                    }
                    listener.await;
                }
            })
        })
        .collect();
    time::sleep(Duration::from_secs(1)).await;
    assert!(waiters.iter().all(|w| !w.is_finished()));
    flag.store(1, Ordering::SeqCst);
    event.notify(usize::MAX);
    for r in spindle::task::gather(waiters).await {
        r.unwrap();
    }

    // `Listener` also gives a blocking wait, for threads outside the runtime.
    let event = Arc::new(Event::new());
    let listener = event.listen();
    let e = event.clone();
    std::thread::spawn(move || e.notify(1));
    listener.wait();

    let barrier = Arc::new(Barrier::new(3));
    let handles = (0..3u64)
        .map(|i| {
            let barrier = barrier.clone();
            spindle::spawn(async move {
                time::sleep(Duration::from_secs(i)).await;
                barrier.wait().await;
                Instant::now()
            })
        })
        .collect();
    let start = Instant::now();
    let times = spindle::task::gather(handles).await;
    for t in times {
        assert_eq!(t.unwrap() - start, Duration::from_secs(2));
    }
}
