//! `Async<T>`: any non-blocking file descriptor, made awaitable.
//!
//! # Ownership of the source
//!
//! The reactor knows a source by the descriptor *number* it was registered with: the
//! registration keeps the raw fd and runs `EPOLL_CTL_DEL` on it when the `Async` goes. Were
//! that descriptor closed while registered, the number could be handed to another socket,
//! and the delete would then remove the stranger's registration, which would never wake
//! again. So:
//!
//! 1. **One descriptor for life.** From registration until [`Async::into_inner`] or drop, the
//!    source `T` keeps open the descriptor its `as_fd` returned at registration, and is not
//!    dropped, replaced or closed; `Async` drops it only after deregistering (rule 8 of the
//!    protocol in `slot.rs`).
//! 2. **Shared access is free.** Safe code may reach the source through `&T`: [`get_ref`],
//!    [`read_with`], [`write_with`], and the `AsyncRead`/`AsyncWrite` impls of `&Async<T>`. A
//!    safe `AsFd` lends its descriptor out of a borrow of `T`, so nothing reached through a
//!    shared reference can close it without `unsafe` code that already breaks `AsFd`'s
//!    contract.
//! 3. **Mutable access is unsafe, or vouched for.** `&mut T` can replace the source
//!    (`*io = other` drops the old one, closing its descriptor), so safe code never gets one
//!    from an `Async`: [`get_mut`], [`read_with_mut`] and [`write_with_mut`] are `unsafe fn`s
//!    whose callers promise rule 1, and `Async<T>` implements `AsyncRead`/`AsyncWrite` (which
//!    call `T`'s `Read`/`Write` through `&mut T`) only when `T: IoSafe`, whose implementer
//!    promises that those impls keep rule 1.
//!
//! Leaking an `Async` that borrows its source (`Async<&T>`, `Async<BorrowedFd<'_>>`) with
//! `mem::forget` and then dropping the owner does close a registered descriptor. As with any
//! leak it cannot be prevented, and it is harmless here: the leaked `Async` never runs its
//! delete, and the kernel drops a closed descriptor from the epoll set by itself. Its slot
//! stays in the table until the runtime goes.
//!
//! [`get_ref`]: Async::get_ref
//! [`read_with`]: Async::read_with
//! [`write_with`]: Async::write_with
//! [`get_mut`]: Async::get_mut
//! [`read_with_mut`]: Async::read_with_mut
//! [`write_with_mut`]: Async::write_with_mut

use std::fmt;
use std::io::{self, IoSlice, IoSliceMut, Read, Write};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_io::{AsyncRead, AsyncWrite};

use crate::IoSafe;
use crate::driver::Handle;
use crate::registration::Registration;
use crate::slot::Direction;

/// An IO source registered with the current Spindle runtime's reactor.
///
/// Wraps anything that owns a file descriptor (a pipe, an eventfd, a socket made by another
/// crate) and lets tasks wait for it to become readable or writable. The descriptor is put in
/// non-blocking mode. Operations go through [`read_with`](Async::read_with) and
/// [`write_with`](Async::write_with), which retry after `WouldBlock`. When `&T` implements
/// `Read`/`Write`, `&Async<T>` implements `futures_io::AsyncRead`/`AsyncWrite`; when `T` is
/// [`IoSafe`] and implements `Read`/`Write`, so does `Async<T>` itself. The source is never
/// handed out mutably to safe code: replacing it would close a descriptor the reactor still
/// has registered.
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
        // `Drop` or `into_inner` below (rule 8 in `slot.rs`); until then safe code reaches it
        // only through `&T` or `T: IoSafe` impls, and `unsafe` callers promise to keep it
        // (ownership rules 1-3 in this module's docs).
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
        // SAFETY: F_SETFL on the same borrowed descriptor, with an integer flag argument; no
        // memory is passed.
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
    /// The caller must not drop or replace the source (`*io = other`, `std::mem::swap`,
    /// `std::mem::take`, ...) nor close its file descriptor, through the returned reference
    /// or anything obtained from it: the reactor still has the descriptor registered and
    /// deletes it by number when the `Async` goes (ownership rule 1 in `async_fd.rs`).
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
    ///
    /// # Safety
    ///
    /// `op` must not drop or replace the source (`*io = other`, `std::mem::swap`, ...) nor
    /// close its file descriptor: the reactor still has the descriptor registered and deletes
    /// it by number when the `Async` goes (ownership rule 1 in `async_fd.rs`). Prefer
    /// [`read_with`](Async::read_with), which needs no `unsafe`, when `&T` is enough.
    ///
    /// ```no_run
    /// # async fn demo(a: &mut spindle_io::Async<std::net::TcpStream>) -> std::io::Result<()> {
    /// use std::io::Read;
    /// let mut buf = [0; 4];
    /// // SAFETY: `read` through `&mut TcpStream` neither replaces nor closes the stream.
    /// let n = unsafe { a.read_with_mut(|s| s.read(&mut buf)) }.await?;
    /// # let _ = n;
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// Without `unsafe` it does not compile:
    ///
    /// ```compile_fail,E0133
    /// # async fn demo(a: &mut spindle_io::Async<std::net::TcpStream>) -> std::io::Result<()> {
    /// use std::io::Read;
    /// let mut buf = [0; 4];
    /// let n = a.read_with_mut(|s| s.read(&mut buf)).await?;
    /// # let _ = n;
    /// # Ok(())
    /// # }
    /// ```
    pub async unsafe fn read_with_mut<R>(
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
    ///
    /// # Safety
    ///
    /// `op` must not drop or replace the source (`*io = other`, `std::mem::swap`, ...) nor
    /// close its file descriptor: the reactor still has the descriptor registered and deletes
    /// it by number when the `Async` goes (ownership rule 1 in `async_fd.rs`). Prefer
    /// [`write_with`](Async::write_with), which needs no `unsafe`, when `&T` is enough.
    ///
    /// ```no_run
    /// # async fn demo(a: &mut spindle_io::Async<std::net::TcpStream>) -> std::io::Result<()> {
    /// use std::io::Write;
    /// // SAFETY: `write` through `&mut TcpStream` neither replaces nor closes the stream.
    /// let n = unsafe { a.write_with_mut(|s| s.write(b"ping")) }.await?;
    /// # let _ = n;
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// Without `unsafe` it does not compile:
    ///
    /// ```compile_fail,E0133
    /// # async fn demo(a: &mut spindle_io::Async<std::net::TcpStream>) -> std::io::Result<()> {
    /// use std::io::Write;
    /// let n = a.write_with_mut(|s| s.write(b"ping")).await?;
    /// # let _ = n;
    /// # Ok(())
    /// # }
    /// ```
    pub async unsafe fn write_with_mut<R>(
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

    /// `poll_read_with` for an `op` that also says whether it drained the source (slot rule
    /// 10), for the stream types' reads.
    pub(crate) fn poll_read_hinted<R>(
        &self,
        cx: &mut Context<'_>,
        mut op: impl FnMut(&T) -> io::Result<(R, bool)>,
    ) -> Poll<io::Result<R>> {
        let io = self.io();
        self.registration
            .poll_io_hinted(Direction::Read, cx, || op(io))
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

    /// `read_with_mut` in poll form, for the `AsyncRead` impl.
    ///
    /// # Safety
    ///
    /// As for [`read_with_mut`](Async::read_with_mut): `op` must keep the source (ownership
    /// rule 1).
    unsafe fn poll_read_with_mut<R>(
        &mut self,
        cx: &mut Context<'_>,
        mut op: impl FnMut(&mut T) -> io::Result<R>,
    ) -> Poll<io::Result<R>> {
        let (registration, io) = self.parts();
        registration.poll_io(Direction::Read, cx, || op(io))
    }

    /// `write_with_mut` in poll form, for the `AsyncWrite` impl.
    ///
    /// # Safety
    ///
    /// As for [`write_with_mut`](Async::write_with_mut): `op` must keep the source (ownership
    /// rule 1).
    unsafe fn poll_write_with_mut<R>(
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

/// Through `&mut T`, so only for [`IoSafe`] sources.
// Ownership rule 3 in this module's docs.
impl<T: IoSafe + Read> AsyncRead for Async<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        // SAFETY: `T: IoSafe`, so `T::read` keeps the source and its descriptor (ownership
        // rule 3); the closure does nothing else with it.
        unsafe { self.get_mut().poll_read_with_mut(cx, |io| io.read(buf)) }
    }

    fn poll_read_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &mut [IoSliceMut<'_>],
    ) -> Poll<io::Result<usize>> {
        // SAFETY: as in `poll_read`: `T: IoSafe` (ownership rule 3).
        unsafe {
            self.get_mut()
                .poll_read_with_mut(cx, |io| io.read_vectored(bufs))
        }
    }
}

/// Through `&T`, which cannot replace the source: for any `T`.
// Ownership rule 2 in this module's docs.
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

/// Through `&mut T`, so only for [`IoSafe`] sources.
// Ownership rule 3 in this module's docs.
impl<T: IoSafe + Write> AsyncWrite for Async<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        // SAFETY: `T: IoSafe`, so `T::write` keeps the source and its descriptor (ownership
        // rule 3); the closure does nothing else with it.
        unsafe { self.get_mut().poll_write_with_mut(cx, |io| io.write(buf)) }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        // SAFETY: as in `poll_write`: `T: IoSafe` (ownership rule 3).
        unsafe {
            self.get_mut()
                .poll_write_with_mut(cx, |io| io.write_vectored(bufs))
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        // SAFETY: as in `poll_write`: `T: IoSafe` (ownership rule 3).
        unsafe { self.get_mut().poll_write_with_mut(cx, |io| io.flush()) }
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.poll_flush(cx)
    }
}

/// Through `&T`, which cannot replace the source: for any `T`.
// Ownership rule 2 in this module's docs.
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
