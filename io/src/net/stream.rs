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

/// Turns on `TCP_INQ` for `fd`: from then on each `recvmsg` reports how many bytes it left in
/// the receive queue, which lets a read that emptied the socket say so (slot rule 10). Best
/// effort: a kernel without it (before Linux 4.18) sends no hint, and reads then just never
/// report a drain.
pub(crate) fn enable_read_hint(fd: std::os::fd::BorrowedFd<'_>) {
    use std::os::fd::AsRawFd;
    let on: libc::c_int = 1;
    // SAFETY: the option value is a live `c_int` and the length is its size; the call only
    // reads it.
    let _ = unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            libc::IPPROTO_TCP,
            libc::TCP_INQ,
            std::ptr::from_ref(&on).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
}

/// Reads from `fd` into the buffers `iov` describes. With `hinted` (a TCP stream, see
/// [`enable_read_hint`]) it reads with `recvmsg` and also returns whether the read left the
/// receive queue empty by the kernel's `TCP_INQ` hint (slot rule 10); otherwise with `readv`,
/// and never reports a drain. A read of 0 bytes (end of stream, or no room) is never a drain.
///
/// # Safety
///
/// Each `iovec` in `iov` describes memory valid for writes of its length for the duration of
/// the call. (The kernel writes at most that many bytes into each, and reads none.)
pub(crate) unsafe fn recv_iov(
    fd: std::os::fd::BorrowedFd<'_>,
    iov: &mut [libc::iovec],
    hinted: bool,
) -> std::io::Result<(usize, bool)> {
    use std::os::fd::AsRawFd;
    // Beyond IOV_MAX buffers the kernel fails with EINVAL; std's `read_vectored` clamps too.
    let count = iov.len().min(1024);
    if !hinted {
        // SAFETY: the caller's contract: `iov[..count]` describes writable memory.
        let n = unsafe { libc::readv(fd.as_raw_fd(), iov.as_ptr(), count as libc::c_int) };
        return usize::try_from(n)
            .map(|n| (n, false))
            .map_err(|_| std::io::Error::last_os_error());
    }
    // Room for one `cmsghdr` carrying an `int` (CMSG_SPACE(4) is 24 bytes on 64-bit Linux),
    // aligned as a `cmsghdr` must be.
    let mut control = [0u64; 4];
    // SAFETY: `msghdr` is plain data; all-zero is a valid empty header.
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_iov = iov.as_mut_ptr();
    msg.msg_iovlen = count as _;
    msg.msg_control = control.as_mut_ptr().cast();
    msg.msg_controllen = std::mem::size_of_val(&control) as _;
    // SAFETY: `msg` points at the caller's writable buffers (the contract) and at `control`,
    // both live for the call and described with their true lengths.
    let n = unsafe { libc::recvmsg(fd.as_raw_fd(), &mut msg, 0) };
    let n = usize::try_from(n).map_err(|_| std::io::Error::last_os_error())?;
    let mut drained = false;
    if n > 0 {
        // SAFETY: `msg` was filled in by `recvmsg`; `msg_controllen` now says how much of
        // `control` holds control messages, which the CMSG macros walk without leaving it.
        let mut cmsg = unsafe { libc::CMSG_FIRSTHDR(&msg) };
        while !cmsg.is_null() {
            // SAFETY: a non-null `cmsg` from the CMSG macros points at a whole header inside
            // `control`.
            let header = unsafe { &*cmsg };
            if header.cmsg_level == libc::IPPROTO_TCP && header.cmsg_type == libc::TCP_CM_INQ {
                // SAFETY: a `TCP_CM_INQ` message carries one `int` right after its header,
                // inside `control`; it may be unaligned for `c_int`, so it is read as such.
                let inq = unsafe {
                    std::ptr::read_unaligned(libc::CMSG_DATA(cmsg).cast::<libc::c_int>())
                };
                drained = inq == 0;
            }
            // SAFETY: as for `CMSG_FIRSTHDR`: `cmsg` is a header of `msg`'s control data.
            cmsg = unsafe { libc::CMSG_NXTHDR(&msg, cmsg) };
        }
    }
    Ok((n, drained))
}

/// Reads from `io` into the buffers `iov` describes once it is readable, through
/// [`recv_iov`] (so a drained TCP socket clears readiness, slot rule 10).
///
/// # Safety
///
/// As for [`recv_iov`]: each `iovec` describes memory valid for writes of its length until
/// this returns.
pub(crate) unsafe fn poll_recv<T: std::os::fd::AsFd>(
    io: &crate::Async<T>,
    cx: &mut std::task::Context<'_>,
    iov: &mut [libc::iovec],
    hinted: bool,
) -> std::task::Poll<std::io::Result<usize>> {
    io.poll_read_hinted(cx, |io| {
        // SAFETY: the caller's contract, for the duration of this call.
        unsafe { recv_iov(io.as_fd(), &mut *iov, hinted) }
    })
}

/// Defines a stream's shared body (see the module doc) for `$stream`, a struct in the calling
/// module whose one field `io` is an `Async<$std>`; `$addr` is the type of its addresses.
macro_rules! stream {
    ($stream:ident, $std:ty, $addr:ty, read_hint = $hinted:expr) => {
        impl $stream {
            /// Takes over a std stream (it is put in non-blocking mode).
            ///
            /// # Panics
            ///
            /// Outside a Spindle runtime.
            #[track_caller]
            pub fn from_std(stream: $std) -> std::io::Result<$stream> {
                Ok($stream::from_async($crate::Async::new(stream)?))
            }

            /// Wraps a registered socket; turns the drain hint on where the type has one.
            fn from_async(io: $crate::Async<$std>) -> $stream {
                if $hinted {
                    $crate::net::stream::enable_read_hint(std::os::fd::AsFd::as_fd(&io));
                }
                $stream { io }
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
                let mut iov = [libc::iovec {
                    iov_base: buf.as_mut_ptr().cast(),
                    iov_len: buf.len(),
                }];
                // SAFETY: `iov` describes `buf`, writable and borrowed until this returns.
                unsafe { $crate::net::stream::poll_recv(&self.io, cx, &mut iov, $hinted) }
            }

            #[cfg(any(feature = "hyper", feature = "tokio-io"))]
            fn poll_read_uninit_priv(
                &self,
                cx: &mut std::task::Context<'_>,
                buf: &mut [std::mem::MaybeUninit<u8>],
            ) -> std::task::Poll<std::io::Result<usize>> {
                let mut iov = [libc::iovec {
                    iov_base: buf.as_mut_ptr().cast(),
                    iov_len: buf.len(),
                }];
                // SAFETY: `iov` describes `buf`, writable and borrowed until this returns; the
                // kernel only writes it.
                unsafe { $crate::net::stream::poll_recv(&self.io, cx, &mut iov, $hinted) }
            }

            fn poll_read_vectored_priv(
                &self,
                cx: &mut std::task::Context<'_>,
                bufs: &mut [std::io::IoSliceMut<'_>],
            ) -> std::task::Poll<std::io::Result<usize>> {
                // SAFETY: std guarantees `IoSliceMut` is ABI-compatible with `iovec` on Unix.
                let iov = unsafe {
                    std::slice::from_raw_parts_mut(
                        bufs.as_mut_ptr().cast::<libc::iovec>(),
                        bufs.len(),
                    )
                };
                // SAFETY: each `iovec` is one of the caller's `IoSliceMut`s, borrowed mutably
                // until this returns.
                unsafe { $crate::net::stream::poll_recv(&self.io, cx, iov, $hinted) }
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

#[cfg(all(test, not(loom)))]
mod tests {
    use std::io::Write;
    use std::net::{TcpListener, TcpStream};
    use std::os::fd::AsFd;

    use super::{enable_read_hint, recv_iov};

    fn read(stream: &TcpStream, len: usize, hinted: bool) -> (Vec<u8>, bool) {
        let mut buf = vec![0; len];
        let iov = libc::iovec {
            iov_base: buf.as_mut_ptr().cast(),
            iov_len: buf.len(),
        };
        // SAFETY: `iov` describes `buf`, alive and unaliased for the call.
        let (n, drained) = unsafe { recv_iov(stream.as_fd(), &mut [iov], hinted) }.unwrap();
        buf.truncate(n);
        (buf, drained)
    }

    /// Slot rule 10's source: the kernel's hint says when a read took the last byte.
    #[test]
    fn a_tcp_read_says_when_it_took_the_last_byte() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let mut writer = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (reader, _) = listener.accept().unwrap();
        enable_read_hint(reader.as_fd());
        writer.write_all(&[7; 100]).unwrap();
        // Loopback has queued all 100 bytes by the time `write_all` returns.
        assert_eq!(read(&reader, 64, true), (vec![7; 64], false));
        assert_eq!(read(&reader, 64, true), (vec![7; 36], true));
        // Unhinted reads never claim a drain.
        writer.write_all(&[8; 10]).unwrap();
        assert_eq!(read(&reader, 64, false), (vec![8; 10], false));
        // End of stream: the FIN keeps the hint non-zero, and 0 bytes is no drain.
        writer.write_all(&[9; 5]).unwrap();
        drop(writer);
        std::thread::sleep(std::time::Duration::from_millis(10));
        assert_eq!(read(&reader, 64, true), (vec![9; 5], false));
        assert_eq!(read(&reader, 64, true), (vec![], false));
    }
}
