//! The runtime seam: everything a workload needs from a runtime, implemented once for
//! Spindle and once for tokio, so that each workload is written once.

use std::fmt::Debug;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::time::Instant;

/// What a workload may ask of a runtime. Associated functions without `self` are called
/// from inside the runtime (a task or `block_on`).
pub trait Rt: Sized + Send + Sync + 'static {
    /// Shown in the table's header.
    const NAME: &'static str;
    /// The runtime's join handle: a future of `Result<T, JoinError>`.
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
    /// The runtime's sleep future (`!Unpin` on both: pin it to poll or reset it).
    type Sleep: Future<Output = ()> + Send + 'static;

    /// A multi-thread runtime with `workers` worker threads.
    fn multi_thread(workers: usize) -> Self;
    /// Runs `future` to completion on the calling thread (not a worker).
    fn block_on<F: Future>(&self, future: F) -> F::Output;
    /// Spawns from outside the runtime, through the runtime object.
    fn spawn_outside<F>(&self, future: F) -> Self::JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static;
    /// Spawns from inside the runtime (`spindle::spawn` / `tokio::spawn`).
    fn spawn<F>(future: F) -> Self::JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static;
    /// Cancels the task behind `handle`.
    fn abort<T: Send + 'static>(handle: &Self::JoinHandle<T>);
    /// Yields to the scheduler once.
    fn yield_now() -> impl Future<Output = ()> + Send;

    /// A sleep until `deadline` (a std `Instant`, converted to the runtime's own), registered
    /// with the runtime's timer on its first poll; dropping it cancels the timer.
    fn sleep_until(deadline: Instant) -> Self::Sleep;
    /// Moves a sleep's deadline in place (`Sleep::reset` on both runtimes).
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

/// Spindle's multi-thread runtime, built through the facade.
pub struct Spindle(spindle::runtime::Runtime);

impl Rt for Spindle {
    const NAME: &'static str = "spindle";
    type JoinHandle<T: Send + 'static> = spindle::task::JoinHandle<T>;
    type JoinError = spindle::task::JoinError;
    type Listener = spindle::net::TcpListener;
    type Stream = spindle::net::TcpStream;
    type Sleep = spindle::time::Sleep;

    fn multi_thread(workers: usize) -> Self {
        let rt = spindle::runtime::Builder::new_multi_thread()
            .worker_threads(workers)
            .build()
            .expect("build spindle runtime");
        Spindle(rt)
    }

    fn block_on<F: Future>(&self, future: F) -> F::Output {
        self.0.block_on(future)
    }

    fn spawn_outside<F>(&self, future: F) -> Self::JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.0.spawn(future)
    }

    fn spawn<F>(future: F) -> Self::JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        spindle::spawn(future)
    }

    fn abort<T: Send + 'static>(handle: &Self::JoinHandle<T>) {
        handle.abort();
    }

    fn yield_now() -> impl Future<Output = ()> + Send {
        spindle::task::yield_now()
    }

    fn sleep_until(deadline: Instant) -> Self::Sleep {
        spindle::time::sleep_until(spindle::time::Instant::from_std(deadline))
    }

    fn reset(sleep: Pin<&mut Self::Sleep>, deadline: Instant) {
        sleep.reset(spindle::time::Instant::from_std(deadline));
    }

    async fn bind(addr: SocketAddr) -> io::Result<Self::Listener> {
        spindle::net::TcpListener::bind(addr).await
    }

    fn local_addr(listener: &Self::Listener) -> SocketAddr {
        listener.local_addr().expect("listener address")
    }

    async fn accept(listener: &Self::Listener) -> io::Result<Self::Stream> {
        let (stream, _) = listener.accept().await?;
        stream.set_nodelay(true)?;
        Ok(stream)
    }

    async fn connect(addr: SocketAddr) -> io::Result<Self::Stream> {
        let stream = spindle::net::TcpStream::connect(addr).await?;
        stream.set_nodelay(true)?;
        Ok(stream)
    }

    async fn read(s: &mut Self::Stream, buf: &mut [u8]) -> io::Result<usize> {
        futures::io::AsyncReadExt::read(s, buf).await
    }

    async fn read_exact(s: &mut Self::Stream, buf: &mut [u8]) -> io::Result<()> {
        futures::io::AsyncReadExt::read_exact(s, buf).await
    }

    async fn write_all(s: &mut Self::Stream, buf: &[u8]) -> io::Result<()> {
        futures::io::AsyncWriteExt::write_all(s, buf).await
    }

    async fn close(s: &mut Self::Stream) -> io::Result<()> {
        futures::io::AsyncWriteExt::close(s).await
    }
}

/// tokio's multi-thread runtime, with everything enabled.
pub struct Tokio(tokio::runtime::Runtime);

impl Rt for Tokio {
    const NAME: &'static str = "tokio";
    type JoinHandle<T: Send + 'static> = tokio::task::JoinHandle<T>;
    type JoinError = tokio::task::JoinError;
    type Listener = tokio::net::TcpListener;
    type Stream = tokio::net::TcpStream;
    type Sleep = tokio::time::Sleep;

    fn multi_thread(workers: usize) -> Self {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(workers)
            .enable_all()
            .build()
            .expect("build tokio runtime");
        Tokio(rt)
    }

    fn block_on<F: Future>(&self, future: F) -> F::Output {
        self.0.block_on(future)
    }

    fn spawn_outside<F>(&self, future: F) -> Self::JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.0.spawn(future)
    }

    fn spawn<F>(future: F) -> Self::JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        tokio::spawn(future)
    }

    fn abort<T: Send + 'static>(handle: &Self::JoinHandle<T>) {
        handle.abort();
    }

    fn yield_now() -> impl Future<Output = ()> + Send {
        tokio::task::yield_now()
    }

    fn sleep_until(deadline: Instant) -> Self::Sleep {
        tokio::time::sleep_until(tokio::time::Instant::from_std(deadline))
    }

    fn reset(sleep: Pin<&mut Self::Sleep>, deadline: Instant) {
        sleep.reset(tokio::time::Instant::from_std(deadline));
    }

    async fn bind(addr: SocketAddr) -> io::Result<Self::Listener> {
        tokio::net::TcpListener::bind(addr).await
    }

    fn local_addr(listener: &Self::Listener) -> SocketAddr {
        listener.local_addr().expect("listener address")
    }

    async fn accept(listener: &Self::Listener) -> io::Result<Self::Stream> {
        let (stream, _) = listener.accept().await?;
        stream.set_nodelay(true)?;
        Ok(stream)
    }

    async fn connect(addr: SocketAddr) -> io::Result<Self::Stream> {
        let stream = tokio::net::TcpStream::connect(addr).await?;
        stream.set_nodelay(true)?;
        Ok(stream)
    }

    async fn read(s: &mut Self::Stream, buf: &mut [u8]) -> io::Result<usize> {
        tokio::io::AsyncReadExt::read(s, buf).await
    }

    async fn read_exact(s: &mut Self::Stream, buf: &mut [u8]) -> io::Result<()> {
        tokio::io::AsyncReadExt::read_exact(s, buf).await.map(drop)
    }

    async fn write_all(s: &mut Self::Stream, buf: &[u8]) -> io::Result<()> {
        tokio::io::AsyncWriteExt::write_all(s, buf).await
    }

    async fn close(s: &mut Self::Stream) -> io::Result<()> {
        tokio::io::AsyncWriteExt::shutdown(s).await
    }
}
