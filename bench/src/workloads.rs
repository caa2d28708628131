//! The workloads: each is one generic function over [`Rt`], listed by name in [`ALL`], and
//! run from there by both `compare` and the criterion benches (`benches/`).
//!
//! To add one, write `fn name<R: Rt>(rt: &R, s: &Sizes) -> f64` (or `-> Sample`, to report
//! extra metrics beside the number), give it its sizes in [`Sizes`], and add a `workload!`
//! line to [`ALL`]. It must work on both flavours: on a current-thread runtime the tasks
//! run only while `block_on` does.

use std::future::{Future, poll_fn};
use std::net::{Ipv4Addr, SocketAddr};
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::task::Poll;
use std::time::{Duration, Instant};

use futures::channel::oneshot;

use crate::child;
use crate::rt::{Rt, Smol, Spindle, Tokio, join};

/// How big each workload is. [`Sizes::full`] is what the issue asks for;
/// [`Sizes::quick`] is a smoke test that finishes in seconds.
#[derive(Debug, Clone)]
pub struct Sizes {
    /// `spawn_inside`, `spawn_outside`: tasks spawned and joined.
    pub spawn_tasks: usize,
    /// `yield_many`: tasks, each yielding `yields_per_task` times.
    pub yield_tasks: usize,
    /// `yield_many`: yields per task.
    pub yields_per_task: usize,
    /// `ping_pong`: pairs of tasks passing a ball.
    pub ping_pairs: usize,
    /// `ping_pong`: round trips per pair.
    pub ping_round_trips: usize,
    /// `chained_spawn`: tasks in the chain, each spawning the next.
    pub chain_depth: usize,
    /// `idle_task_memory`: idle tasks spawned in the child process.
    pub idle_tasks: usize,
    /// `tcp_echo`: concurrent connections.
    pub echo_conns: usize,
    /// `tcp_echo`: 64-byte round trips per connection.
    pub echo_round_trips: usize,
    /// `tcp_bulk`: bytes sent over one connection.
    pub bulk_bytes: usize,
    /// `timer_create_cancel`: timers registered, then cancelled.
    pub timers: usize,
    /// `sleep_lateness`: concurrent 10 ms sleeps.
    pub sleepers: usize,
    /// `sleep_reset_churn`: resets, round robin over a few sleeps.
    pub resets: usize,
    /// `spawn_blocking`: trivial closures run on the blocking pool.
    pub blocking_tasks: usize,
}

impl Sizes {
    /// The sizes of the run of record.
    pub fn full() -> Sizes {
        Sizes {
            spawn_tasks: 10_000,
            yield_tasks: 200,
            yields_per_task: 1_000,
            ping_pairs: 1_000,
            ping_round_trips: 100,
            chain_depth: 1_000,
            idle_tasks: 100_000,
            echo_conns: 50,
            echo_round_trips: 2_000,
            bulk_bytes: 256 << 20,
            timers: 100_000,
            sleepers: 10_000,
            resets: 100_000,
            blocking_tasks: 10_000,
        }
    }

    /// Tiny sizes: `compare --quick`, a smoke test of a fraction of a second.
    pub fn quick() -> Sizes {
        Sizes {
            spawn_tasks: 1_000,
            yield_tasks: 20,
            yields_per_task: 100,
            ping_pairs: 50,
            ping_round_trips: 10,
            chain_depth: 100,
            idle_tasks: 1_000,
            echo_conns: 4,
            echo_round_trips: 100,
            bulk_bytes: 8 << 20,
            timers: 1_000,
            sleepers: 100,
            resets: 1_000,
            blocking_tasks: 1_000,
        }
    }
}

/// What a workload's number is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    /// Wall-clock seconds for one run (lower is better).
    Seconds,
    /// Resident memory per idle task, measured in a fresh child process (lower is
    /// better); the heap bytes allocated per task are the extra metric `"heap"`.
    BytesPerTask,
    /// Mean seconds a sleep completed after its deadline (lower is better); the p99 is the
    /// extra metric `"p99"`.
    Lateness,
}

/// What one run of a workload measured: its number (the one the ratio compares) and any
/// extra metrics, by name. The table shows the median of each over the rounds.
#[derive(Debug, Clone, Default)]
pub struct Sample {
    /// The number, in the workload's [`Unit`].
    pub value: f64,
    /// Other metrics of the same run, by name, in the same unit.
    pub extra: Vec<(&'static str, f64)>,
}

impl From<f64> for Sample {
    fn from(value: f64) -> Sample {
        Sample {
            value,
            extra: Vec::new(),
        }
    }
}

/// `(items, label)` that one run of a throughput workload moves.
pub type PerRun = fn(&Sizes) -> (f64, &'static str);

/// One named workload, ready to run on any of the runtimes, of either flavour.
#[derive(Debug)]
pub struct Workload {
    /// The name in the table and on `compare`'s command line.
    pub name: &'static str,
    /// What its number is.
    pub unit: Unit,
    /// The size, in words, for the table.
    pub size: fn(&Sizes) -> String,
    /// For throughput workloads: how many `(items, label)` one run moves, so the table can
    /// show a rate (items / second).
    pub per_run: Option<PerRun>,
    /// One run on Spindle.
    pub spindle: fn(&Spindle, &Sizes) -> Sample,
    /// One run on tokio.
    pub tokio: fn(&Tokio, &Sizes) -> Sample,
    /// One run on smol.
    pub smol: fn(&Smol, &Sizes) -> Sample,
}

macro_rules! workload {
    (@opt) => { None };
    (@opt $e:expr) => { Some($e) };
    ($name:ident, $unit:ident, $size:expr $(, per_run = $per_run:expr)?) => {
        Workload {
            name: stringify!($name),
            unit: Unit::$unit,
            size: $size,
            per_run: workload!(@opt $($per_run)?),
            spindle: |rt, s| Sample::from($name::<Spindle>(rt, s)),
            tokio: |rt, s| Sample::from($name::<Tokio>(rt, s)),
            smol: |rt, s| Sample::from($name::<Smol>(rt, s)),
        }
    };
}

/// Every workload, in table order.
pub const ALL: &[Workload] = &[
    workload!(spawn_inside, Seconds, |s| format!(
        "{} tasks",
        s.spawn_tasks
    )),
    workload!(spawn_outside, Seconds, |s| format!(
        "{} tasks",
        s.spawn_tasks
    )),
    workload!(yield_many, Seconds, |s| format!(
        "{} tasks x {} yields",
        s.yield_tasks, s.yields_per_task
    )),
    workload!(ping_pong, Seconds, |s| format!(
        "{} pairs x {} round trips",
        s.ping_pairs, s.ping_round_trips
    )),
    workload!(chained_spawn, Seconds, |s| format!(
        "{} deep",
        s.chain_depth
    )),
    workload!(
        spawn_blocking,
        Seconds,
        |s| format!("{} closures", s.blocking_tasks),
        per_run = |s| (s.blocking_tasks as f64, "closures/s")
    ),
    workload!(idle_task_memory, BytesPerTask, |s| format!(
        "{} idle tasks",
        s.idle_tasks
    )),
    workload!(
        tcp_echo,
        Seconds,
        |s| format!("{} conns x {} x 64 B", s.echo_conns, s.echo_round_trips),
        per_run = |s| ((s.echo_conns * s.echo_round_trips) as f64, "round trips/s")
    ),
    workload!(
        tcp_bulk,
        Seconds,
        |s| format!("1 conn, {} MB", s.bulk_bytes >> 20),
        per_run = |s| (s.bulk_bytes as f64 / 1e6, "MB/s")
    ),
    workload!(
        timer_create_cancel,
        Seconds,
        |s| format!("{} timers", s.timers),
        per_run = |s| (s.timers as f64, "timers/s")
    ),
    workload!(sleep_lateness, Lateness, |s| format!(
        "{} tasks x sleep {} ms",
        s.sleepers,
        LATENESS_SLEEP.as_millis()
    )),
    workload!(
        sleep_reset_churn,
        Seconds,
        |s| format!("{} sleeps, {} resets", RESET_SLEEPS, s.resets),
        per_run = |s| (s.resets as f64, "resets/s")
    ),
];

/// The workload called `name`, if there is one.
pub fn find(name: &str) -> Option<&'static Workload> {
    ALL.iter().find(|w| w.name == name)
}

fn timed(f: impl FnOnce()) -> f64 {
    let start = Instant::now();
    f();
    start.elapsed().as_secs_f64()
}

/// Runs `future` as a task, as a server's code runs (on a multi-thread runtime that is a
/// worker, not the `block_on` thread), and waits for it.
fn in_task<R: Rt, F>(rt: &R, future: F) -> F::Output
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    rt.block_on(join::<R, _>(rt.spawn_outside(future)))
}

fn spawn_inside<R: Rt>(rt: &R, s: &Sizes) -> f64 {
    let n = s.spawn_tasks;
    timed(|| {
        in_task(rt, async move {
            let handles: Vec<_> = (0..n).map(|_| R::spawn(async {})).collect();
            for handle in handles {
                join::<R, _>(handle).await;
            }
        })
    })
}

fn spawn_outside<R: Rt>(rt: &R, s: &Sizes) -> f64 {
    timed(|| {
        let handles: Vec<_> = (0..s.spawn_tasks)
            .map(|_| rt.spawn_outside(async {}))
            .collect();
        rt.block_on(async {
            for handle in handles {
                join::<R, _>(handle).await;
            }
        })
    })
}

fn yield_many<R: Rt>(rt: &R, s: &Sizes) -> f64 {
    let (tasks, yields) = (s.yield_tasks, s.yields_per_task);
    timed(|| {
        in_task(rt, async move {
            let handles: Vec<_> = (0..tasks)
                .map(|_| {
                    R::spawn(async move {
                        for _ in 0..yields {
                            R::yield_now().await;
                        }
                    })
                })
                .collect();
            for handle in handles {
                join::<R, _>(handle).await;
            }
        })
    })
}

/// The ball passed back and forth: where to send the reply.
struct Ball(oneshot::Sender<Ball>);

fn ping_pong<R: Rt>(rt: &R, s: &Sizes) -> f64 {
    let (pairs, trips) = (s.ping_pairs, s.ping_round_trips);
    timed(|| {
        in_task(rt, async move {
            let mut handles = Vec::with_capacity(2 * pairs);
            for _ in 0..pairs {
                let (to_pong, mut pong_rx) = oneshot::channel::<Ball>();
                handles.push(R::spawn(async move {
                    let mut to_pong = to_pong;
                    for _ in 0..trips {
                        let (reply, reply_rx) = oneshot::channel();
                        to_pong.send(Ball(reply)).ok().expect("pong is gone");
                        to_pong = reply_rx.await.expect("pong dropped the ball").0;
                    }
                }));
                handles.push(R::spawn(async move {
                    for _ in 0..trips {
                        let Ball(reply) = pong_rx.await.expect("ping dropped the ball");
                        let (next, next_rx) = oneshot::channel();
                        reply.send(Ball(next)).ok().expect("ping is gone");
                        pong_rx = next_rx;
                    }
                }));
            }
            for handle in handles {
                join::<R, _>(handle).await;
            }
        })
    })
}

/// One link of the chain: spawns the next, and the last one completes `done`.
fn chain<R: Rt>(left: usize, done: oneshot::Sender<()>) {
    if left == 0 {
        let _ = done.send(());
    } else {
        drop(R::spawn(async move { chain::<R>(left - 1, done) }));
    }
}

fn chained_spawn<R: Rt>(rt: &R, s: &Sizes) -> f64 {
    let depth = s.chain_depth;
    timed(|| {
        in_task(rt, async move {
            let (done, finished) = oneshot::channel();
            chain::<R>(depth, done);
            finished.await.expect("chain broke");
        })
    })
}

/// `blocking_tasks` trivial closures on the blocking pool, spawned from a task and
/// awaited: the cost of a hand-off to a pool thread and back (asyncio's `to_thread`).
fn spawn_blocking<R: Rt>(rt: &R, s: &Sizes) -> f64 {
    let n = s.blocking_tasks;
    timed(|| {
        in_task(rt, async move {
            let handles: Vec<_> = (0..n)
                .map(|i| R::spawn_blocking(move || std::hint::black_box(i)))
                .collect();
            for (i, handle) in handles.into_iter().enumerate() {
                assert_eq!(join::<R, _>(handle).await, i);
            }
        })
    })
}

/// Resident and heap memory per idle task. Measured in a fresh child process (see
/// [`child`]), so that neither the other runtimes nor the earlier workloads' freed memory,
/// kept by the allocator, blur the resident size.
fn idle_task_memory<R: Rt>(rt: &R, s: &Sizes) -> Sample {
    child::idle_task_memory(R::NAME, rt.flavor(), rt.workers(), s.idle_tasks)
}

/// Spawns `n` tasks that never finish, from inside the runtime, and returns once each has
/// been polled once and is idle, as a parked connection handler would be. Their handles are
/// dropped (detached): the tasks alone are what is measured. Run once per process: the
/// count of polled tasks is a global.
pub fn spawn_idle_tasks<R: Rt>(rt: &R, n: usize) {
    static POLLED: AtomicUsize = AtomicUsize::new(0);
    POLLED.store(0, Relaxed);
    rt.block_on(async {
        for _ in 0..n {
            drop(R::spawn(async {
                POLLED.fetch_add(1, Relaxed);
                std::future::pending::<()>().await
            }));
        }
        // A current-thread runtime runs the tasks only while this future yields.
        while POLLED.load(Relaxed) < n {
            R::yield_now().await;
        }
    });
}

const LOOPBACK: SocketAddr = SocketAddr::new(std::net::IpAddr::V4(Ipv4Addr::LOCALHOST), 0);

fn tcp_echo<R: Rt>(rt: &R, s: &Sizes) -> f64 {
    let (conns, trips) = (s.echo_conns, s.echo_round_trips);
    timed(|| {
        in_task(rt, async move {
            let listener = R::bind(LOOPBACK).await.expect("bind");
            let addr = R::local_addr(&listener);
            let server = R::spawn(async move {
                let mut echoers = Vec::with_capacity(conns);
                for _ in 0..conns {
                    let mut stream = R::accept(&listener).await.expect("accept");
                    echoers.push(R::spawn(async move {
                        let mut buf = [0u8; 64];
                        loop {
                            match R::read(&mut stream, &mut buf).await.expect("server read") {
                                0 => break,
                                n => R::write_all(&mut stream, &buf[..n]).await.expect("echo"),
                            }
                        }
                    }));
                }
                for echoer in echoers {
                    join::<R, _>(echoer).await;
                }
            });
            let clients: Vec<_> = (0..conns)
                .map(|_| {
                    R::spawn(async move {
                        let mut stream = R::connect(addr).await.expect("connect");
                        let (msg, mut buf) = ([7u8; 64], [0u8; 64]);
                        for _ in 0..trips {
                            R::write_all(&mut stream, &msg).await.expect("client write");
                            R::read_exact(&mut stream, &mut buf)
                                .await
                                .expect("client read");
                        }
                        R::close(&mut stream).await.expect("close");
                    })
                })
                .collect();
            for client in clients {
                join::<R, _>(client).await;
            }
            join::<R, _>(server).await;
        })
    })
}

fn tcp_bulk<R: Rt>(rt: &R, s: &Sizes) -> f64 {
    const CHUNK: usize = 64 << 10;
    let total = s.bulk_bytes;
    timed(|| {
        in_task(rt, async move {
            let listener = R::bind(LOOPBACK).await.expect("bind");
            let addr = R::local_addr(&listener);
            let writer = R::spawn(async move {
                let mut stream = R::connect(addr).await.expect("connect");
                let chunk = vec![0x5a; CHUNK];
                let mut left = total;
                while left > 0 {
                    let n = left.min(CHUNK);
                    R::write_all(&mut stream, &chunk[..n]).await.expect("write");
                    left -= n;
                }
                R::close(&mut stream).await.expect("close");
            });
            let mut stream = R::accept(&listener).await.expect("accept");
            let mut buf = vec![0; CHUNK];
            let mut got = 0;
            loop {
                match R::read(&mut stream, &mut buf).await.expect("read") {
                    0 => break,
                    n => got += n,
                }
            }
            assert_eq!(got, total, "short transfer");
            join::<R, _>(writer).await;
        })
    })
}

/// splitmix64: a small, seeded generator, so both runtimes see the same "random" deadlines.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        (z ^ (z >> 31)) % n
    }

    /// A delay spread log-uniformly from 1 ms to ~17 minutes, so the timers land on every
    /// level of a timer wheel, not just one.
    fn delay(&mut self) -> Duration {
        let scale = 1u64 << self.below(20);
        Duration::from_millis(scale + self.below(scale))
    }
}

/// Sleeps polled per task poll in `timer_create_cancel`: below tokio's coop budget (128), so
/// every poll registers its timer (tokio's `Sleep` returns `Pending` without registering once
/// the budget is spent, which would leave most timers unregistered and cheap to drop).
const TIMERS_PER_POLL: usize = 64;

/// Creates `timers` sleeps with random deadlines, polls each once (which registers it with
/// the timer), [`TIMERS_PER_POLL`] per task poll with a yield between, then drops them all
/// (which cancels them). The time includes the `Vec` of sleeps (one allocation) but no
/// per-timer allocation of the bench's own.
fn timer_create_cancel<R: Rt>(rt: &R, s: &Sizes) -> f64 {
    let n = s.timers;
    timed(|| {
        in_task(rt, async move {
            let now = Instant::now();
            let mut rng = Rng(0x5eed);
            let mut sleeps: Vec<R::Sleep> =
                (0..n).map(|_| R::sleep_until(now + rng.delay())).collect();
            for start in (0..n).step_by(TIMERS_PER_POLL) {
                let end = (start + TIMERS_PER_POLL).min(n);
                poll_fn(|cx| {
                    for sleep in &mut sleeps[start..end] {
                        // SAFETY: the sleeps are never moved after this: the `Vec` is not
                        // resized, and dropping it drops them in place.
                        let sleep = unsafe { Pin::new_unchecked(sleep) };
                        // Pending but for the odd 1 ms timer whose deadline passed meanwhile.
                        let _ = sleep.poll(cx);
                    }
                    Poll::Ready(())
                })
                .await;
                R::yield_now().await;
            }
            drop(sleeps);
        })
    })
}

/// How long each task of `sleep_lateness` sleeps.
const LATENESS_SLEEP: Duration = Duration::from_millis(10);

/// `sleepers` tasks each sleep until 10 ms after they first run; each measures how late it
/// woke (as the task sees it: timer precision plus the time to get scheduled). Reports the
/// mean lateness, with the p99 as an extra metric.
fn sleep_lateness<R: Rt>(rt: &R, s: &Sizes) -> Sample {
    let n = s.sleepers;
    let mut late = in_task(rt, async move {
        let handles: Vec<_> = (0..n)
            .map(|_| {
                R::spawn(async {
                    let deadline = Instant::now() + LATENESS_SLEEP;
                    R::sleep_until(deadline).await;
                    let woke = Instant::now();
                    assert!(woke >= deadline, "a sleep completed early");
                    (woke - deadline).as_secs_f64()
                })
            })
            .collect();
        let mut late = Vec::with_capacity(n);
        for handle in handles {
            late.push(join::<R, _>(handle).await);
        }
        late
    });
    late.sort_by(f64::total_cmp);
    let p99 = late[(late.len() * 99 / 100).min(late.len() - 1)];
    Sample {
        value: late.iter().sum::<f64>() / late.len() as f64,
        extra: vec![("p99", p99)],
    }
}

/// How many sleeps `sleep_reset_churn` resets, round robin.
const RESET_SLEEPS: usize = 4;

/// A few sleeps, reset round robin `resets` times to random deadlines 10–11 s out (earlier or
/// later than the current one), each polled after its reset, as a connection's idle or
/// header timeout is pushed around.
fn sleep_reset_churn<R: Rt>(rt: &R, s: &Sizes) -> f64 {
    let resets = s.resets;
    timed(|| {
        in_task(rt, async move {
            let start = Instant::now();
            let mut rng = Rng(0xc0ffee);
            let mut sleeps: Vec<Pin<Box<R::Sleep>>> = (0..RESET_SLEEPS)
                .map(|_| Box::pin(R::sleep_until(start + Duration::from_secs(10))))
                .collect();
            poll_fn(|cx| {
                for i in 0..resets {
                    let sleep = sleeps[i % RESET_SLEEPS].as_mut();
                    let at = start + Duration::from_millis(10_000 + rng.below(1_000));
                    R::reset(sleep, at);
                    let sleep = sleeps[i % RESET_SLEEPS].as_mut();
                    assert!(sleep.poll(cx).is_pending(), "a timer fired early");
                }
                Poll::Ready(())
            })
            .await;
        })
    })
}
