//! Spindle, built through the facade crate exactly as a user would.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::time::Instant;

use super::{Flavor, Rt};

/// A Spindle runtime of either flavour.
#[derive(Debug)]
pub struct Spindle {
    rt: spindle::runtime::Runtime,
    flavor: Flavor,
    workers: usize,
}

impl Rt for Spindle {
    const NAME: &'static str = "spindle";
    type JoinHandle<T: Send + 'static> = spindle::task::JoinHandle<T>;
    type JoinError = spindle::task::JoinError;
    type Listener = spindle::net::TcpListener;
    type Stream = spindle::net::TcpStream;
    type Sleep = spindle::time::Sleep;

    fn new(flavor: Flavor, workers: usize) -> Self {
        let (mut builder, workers) = match flavor {
            Flavor::MultiThread => {
                let mut builder = spindle::runtime::Builder::new_multi_thread();
                builder.worker_threads(workers);
                (builder, workers)
            }
            Flavor::CurrentThread => (spindle::runtime::Builder::new_current_thread(), 1),
        };
        let rt = builder.build().expect("build spindle runtime");
        Spindle {
            rt,
            flavor,
            workers,
        }
    }

    fn flavor(&self) -> Flavor {
        self.flavor
    }

    fn workers(&self) -> usize {
        self.workers
    }

    fn block_on<F: Future>(&self, future: F) -> F::Output {
        self.rt.block_on(future)
    }

    fn spawn_outside<F>(&self, future: F) -> Self::JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.rt.spawn(future)
    }

    fn spawn<F>(future: F) -> Self::JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        spindle::spawn(future)
    }

    fn spawn_blocking<F, T>(f: F) -> Self::JoinHandle<T>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        spindle::spawn_blocking(f)
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
