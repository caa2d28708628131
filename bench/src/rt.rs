//! The runtime seam: everything a workload needs from a runtime, implemented once each for
//! Spindle, tokio and smol, so that each workload is written once.
//!
//! A value of an [`Rt`] is one runtime of one [`Flavor`]; [`Rt::new`] builds either.

mod smol;
mod spindle;
mod tokio;

use std::fmt::{self, Debug};
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::str::FromStr;
use std::time::Instant;

pub use self::smol::Smol;
pub use self::spindle::Spindle;
pub use self::tokio::Tokio;

/// The two shapes an async runtime comes in. Spindle is compared with its peers of the same
/// flavour only: a current-thread runtime skips all cross-thread synchronisation, so its
/// numbers say nothing about a multi-thread one's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Flavor {
    /// Worker threads that steal work from each other; `block_on` runs on a thread that is
    /// no worker.
    MultiThread,
    /// Every task runs on the thread that calls `block_on`, while it is in there.
    CurrentThread,
}

impl Flavor {
    /// Both, in table order.
    pub const ALL: [Flavor; 2] = [Flavor::MultiThread, Flavor::CurrentThread];

    /// The name on the command line and in the tables (`multi_thread`, `current_thread`),
    /// as in tokio's `#[tokio::main(flavor = ...)]`.
    pub fn name(self) -> &'static str {
        match self {
            Flavor::MultiThread => "multi_thread",
            Flavor::CurrentThread => "current_thread",
        }
    }

    /// A two-letter tag for narrow places (the chart's labels): `MT`, `1T`.
    pub fn tag(self) -> &'static str {
        match self {
            Flavor::MultiThread => "MT",
            Flavor::CurrentThread => "1T",
        }
    }
}

impl fmt::Display for Flavor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Flavor {
    type Err = String;

    fn from_str(s: &str) -> Result<Flavor, String> {
        Flavor::ALL
            .into_iter()
            .find(|f| f.name() == s || f.tag() == s)
            .ok_or_else(|| format!("unknown flavour {s:?} (multi_thread or current_thread)"))
    }
}

/// What a workload may ask of a runtime. Associated functions without `self` are called
/// from inside the runtime (a task or `block_on`).
///
/// No `Send` bound: smol's current-thread executor (`LocalExecutor`) is `!Send`, and
/// nothing moves a runtime between threads.
pub trait Rt: Sized + 'static {
    /// Shown in the table's header and passed to `compare --child-rss`.
    const NAME: &'static str;
    /// The runtime's join handle: a future of `Result<T, JoinError>`. Dropping it detaches
    /// the task (it does not cancel it).
    type JoinHandle<T: Send + 'static>: Future<Output = Result<T, Self::JoinError>>
        + Send
        + Unpin
        + 'static;
    /// Why a join failed.
    type JoinError: Debug;
    /// A bound TCP listener.
    type Listener: Send + Sync + 'static;
    /// A connected TCP stream.
    type Stream: Send + 'static;
    /// The runtime's sleep future. Its output is ignored (smol's `Timer` yields an
    /// `Instant`); pin it to poll or reset it.
    type Sleep: Future + Send + 'static;

    /// A runtime of `flavor`; a multi-thread one has `workers` worker threads.
    fn new(flavor: Flavor, workers: usize) -> Self;
    /// A multi-thread runtime with `workers` worker threads.
    fn multi_thread(workers: usize) -> Self {
        Self::new(Flavor::MultiThread, workers)
    }
    /// Which flavour this runtime is.
    fn flavor(&self) -> Flavor;
    /// Worker threads: as built for a multi-thread runtime, 1 for a current-thread one.
    fn workers(&self) -> usize;

    /// Runs `future` to completion on the calling thread (a multi-thread runtime's workers
    /// run the tasks meanwhile; a current-thread runtime runs them on this thread).
    fn block_on<F: Future>(&self, future: F) -> F::Output;
    /// Spawns from outside the runtime, through the runtime object.
    fn spawn_outside<F>(&self, future: F) -> Self::JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static;
    /// Spawns from inside the runtime (`spindle::spawn` / `tokio::spawn` / the current
    /// smol executor).
    fn spawn<F>(future: F) -> Self::JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static;
    /// Runs a blocking closure on the runtime's blocking pool, from inside the runtime.
    fn spawn_blocking<F, T>(f: F) -> Self::JoinHandle<T>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static;
    /// Yields to the scheduler once.
    fn yield_now() -> impl Future<Output = ()> + Send;

    /// A sleep until `deadline` (a std `Instant`, converted to the runtime's own), registered
    /// with the runtime's timer on its first poll; dropping it cancels the timer.
    fn sleep_until(deadline: Instant) -> Self::Sleep;
    /// Moves a sleep's deadline in place (`Sleep::reset`, `Timer::set_at`).
    fn reset(sleep: Pin<&mut Self::Sleep>, deadline: Instant);

    /// Binds a listener (on loopback, in the workloads).
    fn bind(addr: SocketAddr) -> impl Future<Output = io::Result<Self::Listener>> + Send;
    /// The address a listener is bound to.
    fn local_addr(listener: &Self::Listener) -> SocketAddr;
    /// Accepts one connection, with Nagle off.
    fn accept(listener: &Self::Listener) -> impl Future<Output = io::Result<Self::Stream>> + Send;
    /// Connects, with Nagle off.
    fn connect(addr: SocketAddr) -> impl Future<Output = io::Result<Self::Stream>> + Send;
    /// Reads at most `buf.len()` bytes; 0 at end of stream.
    fn read(s: &mut Self::Stream, buf: &mut [u8])
    -> impl Future<Output = io::Result<usize>> + Send;
    /// Fills `buf` exactly.
    fn read_exact(
        s: &mut Self::Stream,
        buf: &mut [u8],
    ) -> impl Future<Output = io::Result<()>> + Send;
    /// Writes all of `buf`.
    fn write_all(s: &mut Self::Stream, buf: &[u8]) -> impl Future<Output = io::Result<()>> + Send;
    /// Shuts the write half down, so the peer reads end of stream.
    fn close(s: &mut Self::Stream) -> impl Future<Output = io::Result<()>> + Send;
}

/// Joins a task and unwraps its result: a failed task is a broken benchmark.
pub async fn join<R: Rt, T: Send + 'static>(handle: R::JoinHandle<T>) -> T {
    handle.await.expect("benchmark task failed")
}
