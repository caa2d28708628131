//! The stream types' shared body, written once for TCP and Unix streams: the `stream!`
//! macro that `tcp.rs` and `unix.rs` expand for [`TcpStream`] and [`UnixStream`].
//!
//! It gives a stream its std conversions, addresses, `shutdown`, readiness waits, `Debug` and
//! fd access, its split halves (`ReadHalf`, `WriteHalf`, `OwnedReadHalf`, `OwnedWriteHalf`,
//! `ReuniteError`, in the expanding module), and the IO traits on the stream and its halves:
//! `futures_io::AsyncRead`/`AsyncWrite` always, `tokio::io::AsyncRead`/`AsyncWrite` with the
//! `tokio-io` feature, and `hyper::rt::Read`/`Write` (on the stream) with the `hyper` feature.
//! A macro rather than a generic stream, so each public type stays a plain struct with its own
//! name, docs and inherent methods.
//!
//! A stream keeps one poll-slot waker per direction, so a reader and a writer never take
//! each other's: the halves can be driven from two tasks at once.
//!
//! [`TcpStream`]: super::TcpStream
//! [`UnixStream`]: super::UnixStream

/// Reads from `fd` into memory that may be uninitialised, for the IO traits whose buffers are
/// (tokio's `ReadBuf`, hyper's `ReadBufCursor`). On success the first `n` bytes of `buf` are
/// initialised, `n <= buf.len()`.
#[cfg(any(feature = "hyper", feature = "tokio-io"))]
pub(crate) fn read_uninit(
    fd: std::os::fd::BorrowedFd<'_>,
    buf: &mut [std::mem::MaybeUninit<u8>],
) -> std::io::Result<usize> {
    use std::os::fd::AsRawFd;
    // SAFETY: the pointer and length describe `buf`, valid for writes of that many bytes for
    // the duration of the call; `read` writes at most that many and never reads them.
    let n = unsafe { libc::read(fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) };
    usize::try_from(n).map_err(|_| std::io::Error::last_os_error())
}

/// Defines a stream's shared body (see the module doc) for `$stream`, a struct in the calling
/// module whose one field `io` is an `Async<$std>`; `$addr` is the type of its addresses.
macro_rules! stream {
    ($stream:ident, $std:ty, $addr:ty) => {
        impl $stream {
            /// Takes over a std stream (it is put in non-blocking mode).
            ///
            /// # Panics
            ///
            /// Outside a Spindle runtime.
            #[track_caller]
            pub fn from_std(stream: $std) -> std::io::Result<$stream> {
                Ok($stream {
                    io: $crate::Async::new(stream)?,
                })
            }

            /// Gives the stream back as a std one (still non-blocking).
            pub fn into_std(self) -> std::io::Result<$std> {
                self.io.into_inner()
            }

            /// The local address of the connection.
            pub fn local_addr(&self) -> std::io::Result<$addr> {
                self.io.get_ref().local_addr()
            }

            /// The remote address of the connection.
            pub fn peer_addr(&self) -> std::io::Result<$addr> {
                self.io.get_ref().peer_addr()
            }

            /// Shuts down the read, write or both directions, at once (like std's).
            pub fn shutdown(&self, how: std::net::Shutdown) -> std::io::Result<()> {
                self.io.get_ref().shutdown(how)
            }

            /// Waits until the stream is readable.
            pub async fn readable(&self) -> std::io::Result<()> {
                self.io.readable().await
            }

            /// Waits until the stream is writable.
            pub async fn writable(&self) -> std::io::Result<()> {
                self.io.writable().await
            }

            /// Splits a borrowed stream into a read half and a write half that can be used
            /// concurrently (in one task, with `join` or `select`).
            pub fn split(&mut self) -> (ReadHalf<'_>, WriteHalf<'_>) {
                (ReadHalf(self), WriteHalf(self))
            }

            /// Splits the stream into halves that can move to two different tasks.
            pub fn into_split(self) -> (OwnedReadHalf, OwnedWriteHalf) {
                let inner = std::sync::Arc::new(self);
                (
                    OwnedReadHalf {
                        inner: inner.clone(),
                    },
                    OwnedWriteHalf {
                        inner,
                        shutdown_on_drop: true,
                    },
                )
            }

            // The `&self` IO the stream and its halves share.

            fn poll_read_priv(
                &self,
                cx: &mut std::task::Context<'_>,
                buf: &mut [u8],
            ) -> std::task::Poll<std::io::Result<usize>> {
                self.io
                    .poll_read_with(cx, |mut io| std::io::Read::read(&mut io, buf))
            }

            #[cfg(any(feature = "hyper", feature = "tokio-io"))]
            fn poll_read_uninit_priv(
                &self,
                cx: &mut std::task::Context<'_>,
                buf: &mut [std::mem::MaybeUninit<u8>],
            ) -> std::task::Poll<std::io::Result<usize>> {
                self.io.poll_read_with(cx, |io| {
                    $crate::net::stream::read_uninit(std::os::fd::AsFd::as_fd(io), buf)
                })
            }

            fn poll_read_vectored_priv(
                &self,
                cx: &mut std::task::Context<'_>,
                bufs: &mut [std::io::IoSliceMut<'_>],
            ) -> std::task::Poll<std::io::Result<usize>> {
                self.io
                    .poll_read_with(cx, |mut io| std::io::Read::read_vectored(&mut io, bufs))
            }

            fn poll_write_priv(
                &self,
                cx: &mut std::task::Context<'_>,
                buf: &[u8],
            ) -> std::task::Poll<std::io::Result<usize>> {
                self.io
                    .poll_write_with(cx, |mut io| std::io::Write::write(&mut io, buf))
            }

            fn poll_write_vectored_priv(
                &self,
                cx: &mut std::task::Context<'_>,
                bufs: &[std::io::IoSlice<'_>],
            ) -> std::task::Poll<std::io::Result<usize>> {
                self.io
                    .poll_write_with(cx, |mut io| std::io::Write::write_vectored(&mut io, bufs))
            }

            fn shutdown_write_priv(&self) -> std::io::Result<()> {
                self.io.get_ref().shutdown(std::net::Shutdown::Write)
            }
        }

        $crate::net::fd_traits!($stream);

        /// The read half of a borrowed stream, from `split`.
        #[derive(Debug)]
        pub struct ReadHalf<'a>(&'a $stream);

        /// The write half of a borrowed stream, from `split`. Closing it shuts the stream's
        /// write direction down.
        #[derive(Debug)]
        pub struct WriteHalf<'a>(&'a $stream);

        /// The read half of a stream, from `into_split`; usable from another task.
        #[derive(Debug)]
        pub struct OwnedReadHalf {
            inner: std::sync::Arc<$stream>,
        }

        /// The write half of a stream, from `into_split`; usable from another task. Closing
        /// or dropping it shuts the stream's write direction down.
        #[derive(Debug)]
        pub struct OwnedWriteHalf {
            inner: std::sync::Arc<$stream>,
            shutdown_on_drop: bool,
        }

        /// The halves passed to `reunite` came from different streams; here they are back.
        #[derive(Debug)]
        pub struct ReuniteError(pub OwnedReadHalf, pub OwnedWriteHalf);

        impl std::fmt::Display for ReuniteError {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("tried to reunite halves that are not from the same stream")
            }
        }

        impl std::error::Error for ReuniteError {}

        impl OwnedReadHalf {
            /// Puts the stream back together; fails if `write` came from another stream.
            pub fn reunite(self, write: OwnedWriteHalf) -> Result<$stream, ReuniteError> {
                if !std::sync::Arc::ptr_eq(&self.inner, &write.inner) {
                    return Err(ReuniteError(self, write));
                }
                let mut write = write;
                write.shutdown_on_drop = false;
                drop(write);
                Ok(std::sync::Arc::into_inner(self.inner)
                    .expect("the two halves held the only references"))
            }
        }

        impl OwnedWriteHalf {
            /// Puts the stream back together; fails if `read` came from another stream.
            pub fn reunite(self, read: OwnedReadHalf) -> Result<$stream, ReuniteError> {
                read.reunite(self)
            }
        }

        impl AsRef<$stream> for OwnedReadHalf {
            fn as_ref(&self) -> &$stream {
                &self.inner
            }
        }

        impl AsRef<$stream> for OwnedWriteHalf {
            fn as_ref(&self) -> &$stream {
                &self.inner
            }
        }

        impl AsRef<$stream> for ReadHalf<'_> {
            fn as_ref(&self) -> &$stream {
                self.0
            }
        }

        impl AsRef<$stream> for WriteHalf<'_> {
            fn as_ref(&self) -> &$stream {
                self.0
            }
        }

        impl Drop for OwnedWriteHalf {
            fn drop(&mut self) {
                // As tokio does: the peer learns nothing more is coming. The read half may
                // still be in use, so the stream itself cannot be closed here.
                if self.shutdown_on_drop {
                    let _ = self.inner.shutdown_write_priv();
                }
            }
        }

        $crate::net::stream::io_traits!(read $stream, this => this);
        $crate::net::stream::io_traits!(read ReadHalf<'_>, this => this.0);
        $crate::net::stream::io_traits!(read OwnedReadHalf, this => this.inner);
        $crate::net::stream::io_traits!(write $stream, this => this);
        $crate::net::stream::io_traits!(write WriteHalf<'_>, this => this.0);
        $crate::net::stream::io_traits!(write OwnedWriteHalf, this => this.inner);

        #[cfg(feature = "hyper")]
        impl hyper::rt::Read for $stream {
            fn poll_read(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
                mut buf: hyper::rt::ReadBufCursor<'_>,
            ) -> std::task::Poll<std::io::Result<()>> {
                // SAFETY: `read_uninit` only writes through this slice, never de-initialises.
                let unfilled = unsafe { buf.as_mut() };
                let n = std::task::ready!(self.poll_read_uninit_priv(cx, unfilled))?;
                // SAFETY: the read initialised the first `n` bytes of the unfilled part.
                unsafe { buf.advance(n) };
                std::task::Poll::Ready(Ok(()))
            }
        }

        #[cfg(feature = "hyper")]
        $crate::net::stream::io_traits!(@write hyper::rt::Write, poll_shutdown, $stream,
            this => this, fn is_write_vectored(&self) -> bool { true });
    };
}

pub(crate) use stream;

/// The IO traits on a stream or one of its halves: `read` gives `futures_io::AsyncRead` and,
/// with `tokio-io`, `tokio::io::AsyncRead`; `write` the `AsyncWrite`s. `$this => $stream`
/// says how to reach the stream from `$this: &$ty`.
macro_rules! io_traits {
    (read $ty:ty, $this:ident => $stream:expr) => {
        impl futures_io::AsyncRead for $ty {
            fn poll_read(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
                buf: &mut [u8],
            ) -> std::task::Poll<std::io::Result<usize>> {
                let $this = &*self;
                $stream.poll_read_priv(cx, buf)
            }

            fn poll_read_vectored(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
                bufs: &mut [std::io::IoSliceMut<'_>],
            ) -> std::task::Poll<std::io::Result<usize>> {
                let $this = &*self;
                $stream.poll_read_vectored_priv(cx, bufs)
            }
        }

        #[cfg(feature = "tokio-io")]
        impl tokio::io::AsyncRead for $ty {
            fn poll_read(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
                buf: &mut tokio::io::ReadBuf<'_>,
            ) -> std::task::Poll<std::io::Result<()>> {
                let $this = &*self;
                // SAFETY: `read_uninit` only writes through this slice, never de-initialises.
                let unfilled = unsafe { buf.unfilled_mut() };
                let n = std::task::ready!($stream.poll_read_uninit_priv(cx, unfilled))?;
                // SAFETY: the read initialised the first `n` bytes of the unfilled part.
                unsafe { buf.assume_init(n) };
                buf.advance(n);
                std::task::Poll::Ready(Ok(()))
            }
        }
    };
    (write $ty:ty, $this:ident => $stream:expr) => {
        $crate::net::stream::io_traits!(@write futures_io::AsyncWrite, poll_close, $ty,
            $this => $stream,);
        #[cfg(feature = "tokio-io")]
        $crate::net::stream::io_traits!(@write tokio::io::AsyncWrite, poll_shutdown, $ty,
            $this => $stream, fn is_write_vectored(&self) -> bool { true });
    };
    // An `AsyncWrite`-shaped trait; `$close` shuts the write half down, `$extra` are more items.
    (@write $trait:path, $close:ident, $ty:ty, $this:ident => $stream:expr, $($extra:tt)*) => {
        impl $trait for $ty {
            fn poll_write(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
                buf: &[u8],
            ) -> std::task::Poll<std::io::Result<usize>> {
                let $this = &*self;
                $stream.poll_write_priv(cx, buf)
            }

            fn poll_write_vectored(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
                bufs: &[std::io::IoSlice<'_>],
            ) -> std::task::Poll<std::io::Result<usize>> {
                let $this = &*self;
                $stream.poll_write_vectored_priv(cx, bufs)
            }

            fn poll_flush(
                self: std::pin::Pin<&mut Self>,
                _cx: &mut std::task::Context<'_>,
            ) -> std::task::Poll<std::io::Result<()>> {
                // Sockets have no user-space buffer to flush.
                std::task::Poll::Ready(Ok(()))
            }

            fn $close(
                self: std::pin::Pin<&mut Self>,
                _cx: &mut std::task::Context<'_>,
            ) -> std::task::Poll<std::io::Result<()>> {
                let $this = &*self;
                std::task::Poll::Ready($stream.shutdown_write_priv())
            }

            $($extra)*
        }
    };
}

pub(crate) use io_traits;
