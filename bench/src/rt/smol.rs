//! smol, assembled from its parts the way the `smol` crate's docs show: an
//! `async_executor::Executor` run on N threads for the multi-thread flavour, a
//! `LocalExecutor` on the calling thread for the current-thread one, async-io's reactor for
//! timers and sockets, and smol's blocking pool (`blocking::unblock`).
//!
//! smol has no ambient "current runtime", so [`Rt::spawn`] goes through a thread-local
//! reference to the executor, set on the executor threads and inside `block_on`.

use std::cell::RefCell;
use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::pin::Pin;
use std::rc::Rc;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::thread;
use std::time::Instant;

use async_executor::{Executor, LocalExecutor, Task};
use async_io::{Async, Timer};

use super::{Flavor, Rt};

/// The executor that [`Rt::spawn`] spawns onto, on this thread.
#[derive(Debug, Clone)]
enum Current {
    Multi(Arc<Executor<'static>>),
    Local(Rc<LocalExecutor<'static>>),
}

impl Current {
    fn spawn<F>(&self, future: F) -> Task<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        match self {
            Current::Multi(ex) => ex.spawn(future),
            // LocalExecutor takes `Send` futures too: the task just never leaves this thread.
            Current::Local(ex) => ex.spawn(future),
        }
    }
}

thread_local! {
    static CURRENT: RefCell<Option<Current>> = const { RefCell::new(None) };
}

/// Makes an executor current on this thread until dropped, then restores the previous one.
struct Enter(Option<Current>);

impl Enter {
    fn new(current: Current) -> Enter {
        Enter(CURRENT.with(|c| c.replace(Some(current))))
    }
}

impl Drop for Enter {
    fn drop(&mut self) {
        CURRENT.with(|c| *c.borrow_mut() = self.0.take());
    }
}

/// A smol "runtime" of either flavour.
#[derive(Debug)]
pub struct Smol {
    executor: Current,
    flavor: Flavor,
    /// Multi-thread: dropping it closes the channel, which ends every thread's `run`.
    stop: Option<async_channel::Sender<()>>,
    threads: Vec<thread::JoinHandle<()>>,
}

impl Drop for Smol {
    fn drop(&mut self) {
        drop(self.stop.take());
        for thread in self.threads.drain(..) {
            thread.join().expect("a smol executor thread panicked");
        }
    }
}

/// smol's task handle, made to behave like tokio's `JoinHandle`: dropping it detaches the
/// task (an `async_task::Task` cancels it when dropped), and awaiting it gives a `Result`.
/// A task that panicked re-raises the panic when awaited, so the error never happens.
#[derive(Debug)]
pub struct JoinHandle<T>(Option<Task<T>>);

impl<T> Future for JoinHandle<T> {
    type Output = Result<T, Infallible>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let task = self.0.as_mut().expect("JoinHandle polled after completion");
        let out = Pin::new(task).poll(cx);
        if out.is_ready() {
            self.0 = None;
        }
        out.map(Ok)
    }
}

impl<T> Drop for JoinHandle<T> {
    fn drop(&mut self) {
        if let Some(task) = self.0.take() {
            task.detach();
        }
    }
}

impl Rt for Smol {
    const NAME: &'static str = "smol";
    type JoinHandle<T: Send + 'static> = JoinHandle<T>;
    type JoinError = Infallible;
    type Listener = Async<TcpListener>;
    type Stream = Async<TcpStream>;
    type Sleep = Timer;

    fn new(flavor: Flavor, workers: usize) -> Self {
        match flavor {
            Flavor::MultiThread => {
                let executor = Arc::new(Executor::new());
                let (stop, stopped) = async_channel::bounded::<()>(1);
                let threads = (0..workers)
                    .map(|i| {
                        let (executor, stopped) = (executor.clone(), stopped.clone());
                        thread::Builder::new()
                            .name(format!("smol-{i}"))
                            .spawn(move || {
                                let _enter = Enter::new(Current::Multi(executor.clone()));
                                // Parked in here, a thread also drives async-io's reactor.
                                let _ = async_io::block_on(executor.run(stopped.recv()));
                            })
                            .expect("spawn a smol executor thread")
                    })
                    .collect();
                Smol {
                    executor: Current::Multi(executor),
                    flavor,
                    stop: Some(stop),
                    threads,
                }
            }
            Flavor::CurrentThread => Smol {
                executor: Current::Local(Rc::new(LocalExecutor::new())),
                flavor,
                stop: None,
                threads: Vec::new(),
            },
        }
    }

    fn flavor(&self) -> Flavor {
        self.flavor
    }

    fn workers(&self) -> usize {
        self.threads.len().max(1)
    }

    fn block_on<F: Future>(&self, future: F) -> F::Output {
        let _enter = Enter::new(self.executor.clone());
        match &self.executor {
            Current::Multi(_) => async_io::block_on(future),
            Current::Local(ex) => async_io::block_on(ex.run(future)),
        }
    }

    fn spawn_outside<F>(&self, future: F) -> Self::JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        JoinHandle(Some(self.executor.spawn(future)))
    }

    fn spawn<F>(future: F) -> Self::JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        let task = CURRENT.with(|c| {
            let current = c.borrow();
            let current = current
                .as_ref()
                .expect("Smol::spawn outside a smol runtime");
            current.spawn(future)
        });
        JoinHandle(Some(task))
    }

    fn spawn_blocking<F, T>(f: F) -> Self::JoinHandle<T>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        JoinHandle(Some(blocking::unblock(f)))
    }

    fn yield_now() -> impl Future<Output = ()> + Send {
        futures_lite::future::yield_now()
    }

    fn sleep_until(deadline: Instant) -> Self::Sleep {
        Timer::at(deadline)
    }

    fn reset(sleep: Pin<&mut Self::Sleep>, deadline: Instant) {
        sleep.get_mut().set_at(deadline);
    }

    async fn bind(addr: SocketAddr) -> io::Result<Self::Listener> {
        Async::<TcpListener>::bind(addr)
    }

    fn local_addr(listener: &Self::Listener) -> SocketAddr {
        listener.get_ref().local_addr().expect("listener address")
    }

    async fn accept(listener: &Self::Listener) -> io::Result<Self::Stream> {
        let (stream, _) = listener.accept().await?;
        stream.get_ref().set_nodelay(true)?;
        Ok(stream)
    }

    async fn connect(addr: SocketAddr) -> io::Result<Self::Stream> {
        let stream = Async::<TcpStream>::connect(addr).await?;
        stream.get_ref().set_nodelay(true)?;
        Ok(stream)
    }

    async fn read(s: &mut Self::Stream, buf: &mut [u8]) -> io::Result<usize> {
        futures_lite::AsyncReadExt::read(s, buf).await
    }

    async fn read_exact(s: &mut Self::Stream, buf: &mut [u8]) -> io::Result<()> {
        futures_lite::AsyncReadExt::read_exact(s, buf).await
    }

    async fn write_all(s: &mut Self::Stream, buf: &[u8]) -> io::Result<()> {
        futures_lite::AsyncWriteExt::write_all(s, buf).await
    }

    async fn close(s: &mut Self::Stream) -> io::Result<()> {
        futures_lite::AsyncWriteExt::close(s).await
    }
}
