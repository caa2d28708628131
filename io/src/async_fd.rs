//! `Async<T>`: any non-blocking file descriptor, made awaitable.

use std::fmt;
use std::io::{self, IoSlice, IoSliceMut, Read, Write};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_io::{AsyncRead, AsyncWrite};

use crate::driver::Handle;
use crate::registration::Registration;
use crate::slot::Direction;

/// An IO source registered with the current Spindle runtime's reactor.
///
/// Wraps anything that owns a file descriptor (a pipe, an eventfd, a socket made by another
/// crate) and lets tasks wait for it to become readable or writable. The descriptor is put in
/// non-blocking mode. Operations go through [`read_with`](Async::read_with) and
/// [`write_with`](Async::write_with), which retry after `WouldBlock`; when `T` (or `&T`)
/// implements `Read`/`Write`, `Async<T>` (or `&Async<T>`) implements `futures_io::AsyncRead`
/// / `AsyncWrite`.
///
/// Readiness is edge-triggered: once reported it stays set until an operation through this
/// type gets `WouldBlock`. A raw operation on [`get_ref`](Async::get_ref) that gets
/// `WouldBlock` does not clear it, so a loop of `readable().await` and raw reads would spin;
/// use `read_with` instead.
///
/// Any number of tasks may await `readable`, `writable`, `read_with` or `write_with` on one
/// `Async` at once: each is woken when readiness comes. The `poll_*` methods and the
/// `AsyncRead`/`AsyncWrite` impls keep one waker per direction, the most recent caller's.
///
/// ```no_run
/// # async fn demo() -> std::io::Result<()> {
/// use spindle_io::Async;
/// use std::io::{Read, Write};
/// use std::os::unix::net::UnixStream;
///
/// let (a, b) = UnixStream::pair()?;
/// let (a, b) = (Async::new(a)?, Async::new(b)?);
/// b.write_with(|s| (&*s).write(b"ping")).await?;
/// let mut buf = [0; 4];
/// a.read_with(|s| (&*s).read(&mut buf)).await?;
/// assert_eq!(&buf, b"ping");
/// # Ok(())
/// # }
/// ```
pub struct Async<T> {
    registration: Registration,
    // `None` only after `into_inner` or inside `drop`: the fd must outlive the registration.
    io: Option<T>,
}

impl<T: AsFd> Async<T> {
    /// Puts `io` in non-blocking mode and registers it with the current runtime's reactor.
    ///
    /// # Panics
    ///
    /// Outside a Spindle runtime.
    #[track_caller]
    pub fn new(io: T) -> io::Result<Async<T>> {
        Self::with_handle(io, Handle::current())
    }

    /// Like [`Async::new`], registering with the reactor behind `handle`.
    pub fn with_handle(io: T, handle: Handle) -> io::Result<Async<T>> {
        set_nonblocking(io.as_fd())?;
        // SAFETY: `io` owns the fd and is dropped (closing it) only after `deregister`, in
        // `Drop` or `into_inner` below (rule 8).
        let registration = unsafe { Registration::new(io.as_fd(), handle)? };
        Ok(Async {
            registration,
            io: Some(io),
        })
    }
}

fn set_nonblocking(fd: BorrowedFd<'_>) -> io::Result<()> {
    // SAFETY: F_GETFL/F_SETFL on a descriptor borrowed for the call; no memory is passed.
    let flags = unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_GETFL) };
    if flags < 0 {
        return Err(io::Error::last_os_error());
    }
    if flags & libc::O_NONBLOCK == 0 {
        // SAFETY: as above.
        let set = unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_SETFL, flags | libc::O_NONBLOCK) };
        if set < 0 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(())
}

impl<T> Async<T> {
    fn io(&self) -> &T {
        self.io
            .as_ref()
            .expect("Async<T> is only without its source while being taken apart")
    }

    fn parts(&mut self) -> (&Registration, &mut T) {
        let io = self
            .io
            .as_mut()
            .expect("Async<T> is only without its source while being taken apart");
        (&self.registration, io)
    }

    /// The wrapped source.
    pub fn get_ref(&self) -> &T {
        self.io()
    }

    /// The wrapped source, mutably.
    ///
    /// # Safety
    ///
    /// The source must keep the same open file descriptor: do not replace it (for example
    /// with `std::mem::swap`) or close its descriptor, since the reactor still has it
    /// registered and the poller requires deregistration before close.
    pub unsafe fn get_mut(&mut self) -> &mut T {
        self.parts().1
    }

    /// Deregisters the source and gives it back (still in non-blocking mode).
    pub fn into_inner(mut self) -> io::Result<T> {
        let deregistered = self.registration.deregister();
        let io = self.io.take();
        deregistered?;
        Ok(io.expect("Async<T> is only without its source while being taken apart"))
    }

    /// Waits until the source is readable (or has an error or hang-up to report).
    pub async fn readable(&self) -> io::Result<()> {
        self.registration.readiness(Direction::Read).await.map(drop)
    }

    /// Waits until the source is writable (or has an error or hang-up to report).
    pub async fn writable(&self) -> io::Result<()> {
        self.registration
            .readiness(Direction::Write)
            .await
            .map(drop)
    }

    /// Polls for readability; only the most recent caller's waker is kept.
    pub fn poll_readable(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.registration
            .poll_ready(Direction::Read, cx)
            .map_ok(drop)
    }

    /// Polls for writability; only the most recent caller's waker is kept.
    pub fn poll_writable(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.registration
            .poll_ready(Direction::Write, cx)
            .map_ok(drop)
    }

    /// Runs `op` when the source is readable, again after each `WouldBlock`, until it
    /// returns anything else.
    pub async fn read_with<R>(&self, mut op: impl FnMut(&T) -> io::Result<R>) -> io::Result<R> {
        let io = self.io();
        self.registration.async_io(Direction::Read, || op(io)).await
    }

    /// [`read_with`](Async::read_with) with mutable access to the source.
    pub async fn read_with_mut<R>(
        &mut self,
        mut op: impl FnMut(&mut T) -> io::Result<R>,
    ) -> io::Result<R> {
        let (registration, io) = self.parts();
        registration.async_io(Direction::Read, || op(io)).await
    }

    /// Runs `op` when the source is writable, again after each `WouldBlock`, until it
    /// returns anything else.
    pub async fn write_with<R>(&self, mut op: impl FnMut(&T) -> io::Result<R>) -> io::Result<R> {
        let io = self.io();
        self.registration
            .async_io(Direction::Write, || op(io))
            .await
    }

    /// [`write_with`](Async::write_with) with mutable access to the source.
    pub async fn write_with_mut<R>(
        &mut self,
        mut op: impl FnMut(&mut T) -> io::Result<R>,
    ) -> io::Result<R> {
        let (registration, io) = self.parts();
        registration.async_io(Direction::Write, || op(io)).await
    }

    /// `read_with` in poll form, for `poll_*` methods of wrapping types.
    pub(crate) fn poll_read_with<R>(
        &self,
        cx: &mut Context<'_>,
        mut op: impl FnMut(&T) -> io::Result<R>,
    ) -> Poll<io::Result<R>> {
        let io = self.io();
        self.registration.poll_io(Direction::Read, cx, || op(io))
    }

    /// `write_with` in poll form, for `poll_*` methods of wrapping types.
    pub(crate) fn poll_write_with<R>(
        &self,
        cx: &mut Context<'_>,
        mut op: impl FnMut(&T) -> io::Result<R>,
    ) -> Poll<io::Result<R>> {
        let io = self.io();
        self.registration.poll_io(Direction::Write, cx, || op(io))
    }

    fn poll_read_with_mut<R>(
        &mut self,
        cx: &mut Context<'_>,
        mut op: impl FnMut(&mut T) -> io::Result<R>,
    ) -> Poll<io::Result<R>> {
        let (registration, io) = self.parts();
        registration.poll_io(Direction::Read, cx, || op(io))
    }

    fn poll_write_with_mut<R>(
        &mut self,
        cx: &mut Context<'_>,
        mut op: impl FnMut(&mut T) -> io::Result<R>,
    ) -> Poll<io::Result<R>> {
        let (registration, io) = self.parts();
        registration.poll_io(Direction::Write, cx, || op(io))
    }
}

impl<T> Drop for Async<T> {
    fn drop(&mut self) {
        if self.io.is_some() {
            // Rule 8: out of the poller before `io` (dropped right after) closes the fd. A
            // failure leaves nothing to undo: the slot is gone either way.
            let _ = self.registration.deregister();
        }
    }
}

// Nothing in `Async` is structurally pinned.
impl<T> Unpin for Async<T> {}

impl<T: AsRawFd> AsRawFd for Async<T> {
    fn as_raw_fd(&self) -> RawFd {
        self.io().as_raw_fd()
    }
}

impl<T: AsFd> AsFd for Async<T> {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.io().as_fd()
    }
}

impl<T: fmt::Debug> fmt::Debug for Async<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Async").field("io", &self.io).finish()
    }
}

impl<T: Read> AsyncRead for Async<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        self.get_mut().poll_read_with_mut(cx, |io| io.read(buf))
    }

    fn poll_read_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &mut [IoSliceMut<'_>],
    ) -> Poll<io::Result<usize>> {
        self.get_mut()
            .poll_read_with_mut(cx, |io| io.read_vectored(bufs))
    }
}

impl<T> AsyncRead for &Async<T>
where
    for<'a> &'a T: Read,
{
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        self.poll_read_with(cx, |mut io| io.read(buf))
    }

    fn poll_read_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &mut [IoSliceMut<'_>],
    ) -> Poll<io::Result<usize>> {
        self.poll_read_with(cx, |mut io| io.read_vectored(bufs))
    }
}

impl<T: Write> AsyncWrite for Async<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.get_mut().poll_write_with_mut(cx, |io| io.write(buf))
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.get_mut()
            .poll_write_with_mut(cx, |io| io.write_vectored(bufs))
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.get_mut().poll_write_with_mut(cx, |io| io.flush())
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.poll_flush(cx)
    }
}

impl<T> AsyncWrite for &Async<T>
where
    for<'a> &'a T: Write,
{
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.poll_write_with(cx, |mut io| io.write(buf))
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.poll_write_with(cx, |mut io| io.write_vectored(bufs))
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.poll_write_with(cx, |mut io| io.flush())
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.poll_flush(cx)
    }
}
