//! [`IoSafe`]: the sources whose `Read`/`Write` impls may be driven through `&mut T`.

/// A source whose IO trait impls keep its file descriptor: `Async<T>` implements
/// `futures_io::AsyncRead`/`AsyncWrite` only for `T: IoSafe`.
///
/// `Async<T>` calls `T`'s `Read`/`Write` methods through `&mut T`, and a `&mut T` can replace
/// the source (`*self = other`), closing the descriptor the reactor has registered. When the
/// `Async` is dropped, the reactor then deletes that descriptor *number* from the poller, and
/// if another socket has been given the number meanwhile, it is that socket that stops
/// waking. `Async` hands `&mut T` to safe code nowhere else (the ownership rules at the top of
/// `io/src/async_fd.rs`); this trait vouches for the one place left.
///
/// # Safety
///
/// Implementing `IoSafe` for `T` promises that no implementation of `std::io::Read` or
/// `std::io::Write` for `T` drops, replaces or closes the source or its file descriptor: the
/// descriptor `as_fd` returned when the `Async` registered it stays open and owned by the
/// same value until the `Async` gives the source back or drops it.
///
/// The promise also covers `Box<T>` and `&mut T`, which are `IoSafe` when `T` is: they are
/// `#[fundamental]`, so the crate that owns `T` may write `Read`/`Write` impls for them too,
/// and those must keep the same promise. (The standard library's impls for them forward to
/// `T`'s.)
///
/// It is *not* a promise about arbitrary code holding a `&mut T` — any `&mut T` can be
/// overwritten — which is why `Async::get_mut`, `read_with_mut` and `write_with_mut` stay
/// `unsafe` whatever `T` is.
///
/// # Implementations
///
/// - The standard library's sources: [`File`](std::fs::File),
///   [`TcpStream`](std::net::TcpStream), [`TcpListener`](std::net::TcpListener),
///   [`UdpSocket`](std::net::UdpSocket), [`UnixStream`](std::os::unix::net::UnixStream),
///   [`UnixListener`](std::os::unix::net::UnixListener),
///   [`UnixDatagram`](std::os::unix::net::UnixDatagram), the child process pipes
///   ([`ChildStdin`](std::process::ChildStdin), [`ChildStdout`](std::process::ChildStdout),
///   [`ChildStderr`](std::process::ChildStderr)) and the standard streams
///   ([`Stdin`](std::io::Stdin), [`Stdout`](std::io::Stdout), [`Stderr`](std::io::Stderr)).
///   Their `Read`/`Write` impls are system calls on the descriptor they own (the standard
///   streams' through a buffer in front of fds 0-2, which they never close); the listeners and
///   datagram sockets have no `Read`/`Write` at all, and are here so generic code can name
///   them.
/// - `&T` for every `T`: through `&mut &T` only the reference can be replaced, never the `T`
///   it points to, and a `Read`/`Write` impl for `&T` sees only `&T`, through which nothing
///   can close a descriptor that a safe `AsFd` lends out of a borrow of `T` (ownership rule
///   2). The same reasoning makes `&Async<T>`'s impls available for any `T`.
/// - [`Arc<T>`](std::sync::Arc) for every `T`: an `Arc` gives its `Read`/`Write` impls shared
///   access only, and since `Arc` is not `#[fundamental]`, the standard library alone can
///   write those impls (`Arc<File>`'s go through `&File`).
/// - `&mut T` and `Box<T>` for `T: IoSafe`: their impls forward to `T`'s (see the Safety
///   section for impls written by `T`'s crate).
///
/// And deliberately not:
///
/// - any `T` by default: a user type's `Read` may well reassign a field holding the socket
///   (a reconnecting stream, for instance);
/// - [`OwnedFd`](std::os::fd::OwnedFd): it has no `Read`/`Write`, so the marker would enable
///   nothing, and a type whose whole job is owning a descriptor should not be vouched for by
///   default;
/// - containers such as `Option<T>`, `Vec<T>`, `RefCell<T>` or `Mutex<T>`: they implement
///   neither `AsFd` nor `Read`/`Write` here, and where a user wraps one in a type that does,
///   that type's impls are what must be judged;
/// - `std::io::PipeReader`/`PipeWriter`: they would qualify, but are newer (Rust 1.87) than
///   this crate's minimum Rust version; wrap one in a type of your own, or use a
///   `UnixStream` pair.
///
/// # Examples
///
/// A source that only reads and writes through its descriptor can vouch for itself:
///
/// ```
/// use std::io::{self, Read};
/// use std::os::fd::{AsFd, BorrowedFd};
/// use std::os::unix::net::UnixStream;
///
/// struct Counted {
///     stream: UnixStream,
///     read: usize,
/// }
///
/// impl Read for Counted {
///     fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
///         let n = self.stream.read(buf)?;
///         self.read += n;
///         Ok(n)
///     }
/// }
///
/// impl AsFd for Counted {
///     fn as_fd(&self) -> BorrowedFd<'_> {
///         self.stream.as_fd()
///     }
/// }
///
/// // SAFETY: `read` only reads from `stream`, never replacing or closing it.
/// unsafe impl spindle_io::IoSafe for Counted {}
///
/// fn assert_async_read<R: futures_io::AsyncRead>() {}
/// assert_async_read::<spindle_io::Async<Counted>>();
/// ```
///
/// Without the marker, `Async<T>` is not `AsyncRead` (only `&Async<T>` would be, if `&T`
/// were `Read`):
///
/// ```compile_fail,E0277
/// use std::io::{self, Read};
/// use std::os::fd::{AsFd, BorrowedFd};
/// use std::os::unix::net::UnixStream;
///
/// /// Reconnects on EOF by replacing its stream: it must not be `IoSafe`.
/// struct Reconnecting {
///     stream: UnixStream,
/// }
///
/// impl Read for Reconnecting {
///     fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
///         let n = self.stream.read(buf)?;
///         if n == 0 {
///             // Closes the old descriptor while the reactor still has it registered.
///             self.stream = UnixStream::pair()?.0;
///         }
///         Ok(n)
///     }
/// }
///
/// impl AsFd for Reconnecting {
///     fn as_fd(&self) -> BorrowedFd<'_> {
///         self.stream.as_fd()
///     }
/// }
///
/// fn assert_async_read<R: futures_io::AsyncRead>() {}
/// assert_async_read::<spindle_io::Async<Reconnecting>>();
/// ```
///
/// Nor is it `AsyncWrite`:
///
/// ```compile_fail,E0277
/// use std::io::{self, Write};
/// use std::os::fd::{AsFd, BorrowedFd};
/// use std::os::unix::net::UnixStream;
///
/// struct Swappable(UnixStream);
///
/// impl Write for Swappable {
///     fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
///         self.0.write(buf)
///     }
///     fn flush(&mut self) -> io::Result<()> {
///         self.0 = UnixStream::pair()?.0;
///         Ok(())
///     }
/// }
///
/// impl AsFd for Swappable {
///     fn as_fd(&self) -> BorrowedFd<'_> {
///         self.0.as_fd()
///     }
/// }
///
/// fn assert_async_write<W: futures_io::AsyncWrite>() {}
/// assert_async_write::<spindle_io::Async<Swappable>>();
/// ```
pub unsafe trait IoSafe {}

/// Implements `IoSafe` for standard-library sources.
macro_rules! std_io_safe {
    ($($source:ty),* $(,)?) => {$(
        // SAFETY: the standard library's `Read`/`Write` impls for this source are
        // `read(2)`/`write(2)`-style calls on the descriptor it owns (or it has none); none
        // of them closes or replaces it (see the list in the trait's docs).
        unsafe impl IoSafe for $source {}
    )*};
}

std_io_safe!(
    std::fs::File,
    std::net::TcpStream,
    std::net::TcpListener,
    std::net::UdpSocket,
    std::os::unix::net::UnixStream,
    std::os::unix::net::UnixListener,
    std::os::unix::net::UnixDatagram,
    std::process::ChildStdin,
    std::process::ChildStdout,
    std::process::ChildStderr,
    std::io::Stdin,
    std::io::Stdout,
    std::io::Stderr,
);

// SAFETY: through `&mut &T` only the reference can be replaced, and `&T` cannot close a
// descriptor a safe `AsFd` lends out of a borrow of `T` (ownership rule 2 in `async_fd.rs`).
unsafe impl<T: ?Sized> IoSafe for &T {}

// SAFETY: `Arc` gives shared access only, and only the standard library can implement
// `Read`/`Write` for `Arc<_>` (it is not `#[fundamental]`); its impls go through `&T`.
unsafe impl<T: ?Sized> IoSafe for std::sync::Arc<T> {}

// SAFETY: the standard library's impls forward to `T`'s, which `T: IoSafe` vouches for; any
// other impl for `&mut T` can only come from `T`'s crate, bound by the same promise.
unsafe impl<T: IoSafe + ?Sized> IoSafe for &mut T {}

// SAFETY: as for `&mut T`: `Box<T>`'s impls forward to `T`'s, or come from `T`'s crate.
unsafe impl<T: IoSafe + ?Sized> IoSafe for Box<T> {}
