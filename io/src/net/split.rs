//! Read and write halves of a stream, written once for TCP and Unix streams.
//!
//! A stream keeps one poll-slot waker per direction, so a reader and a writer never take
//! each other's: the halves can be driven from two tasks at once.

/// Defines `ReadHalf`, `WriteHalf`, `OwnedReadHalf`, `OwnedWriteHalf` and `ReuniteError` for
/// `$stream`, which must have `poll_read_priv`, `poll_read_vectored_priv`, `poll_write_priv`,
/// `poll_write_vectored_priv` and `shutdown_write_priv` taking `&self`.
macro_rules! stream_halves {
    ($stream:ident) => {
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

        pub(crate) fn split(stream: &mut $stream) -> (ReadHalf<'_>, WriteHalf<'_>) {
            (ReadHalf(stream), WriteHalf(stream))
        }

        pub(crate) fn into_split(stream: $stream) -> (OwnedReadHalf, OwnedWriteHalf) {
            let inner = std::sync::Arc::new(stream);
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

        impl futures_io::AsyncRead for ReadHalf<'_> {
            fn poll_read(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
                buf: &mut [u8],
            ) -> std::task::Poll<std::io::Result<usize>> {
                self.0.poll_read_priv(cx, buf)
            }

            fn poll_read_vectored(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
                bufs: &mut [std::io::IoSliceMut<'_>],
            ) -> std::task::Poll<std::io::Result<usize>> {
                self.0.poll_read_vectored_priv(cx, bufs)
            }
        }

        impl futures_io::AsyncRead for OwnedReadHalf {
            fn poll_read(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
                buf: &mut [u8],
            ) -> std::task::Poll<std::io::Result<usize>> {
                self.inner.poll_read_priv(cx, buf)
            }

            fn poll_read_vectored(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
                bufs: &mut [std::io::IoSliceMut<'_>],
            ) -> std::task::Poll<std::io::Result<usize>> {
                self.inner.poll_read_vectored_priv(cx, bufs)
            }
        }

        $crate::net::split::stream_halves!(@write WriteHalf<'_>, 0);
        $crate::net::split::stream_halves!(@write OwnedWriteHalf, inner);
    };
    (@write $half:ty, $field:tt) => {
        impl futures_io::AsyncWrite for $half {
            fn poll_write(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
                buf: &[u8],
            ) -> std::task::Poll<std::io::Result<usize>> {
                self.$field.poll_write_priv(cx, buf)
            }

            fn poll_write_vectored(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
                bufs: &[std::io::IoSlice<'_>],
            ) -> std::task::Poll<std::io::Result<usize>> {
                self.$field.poll_write_vectored_priv(cx, bufs)
            }

            fn poll_flush(
                self: std::pin::Pin<&mut Self>,
                _cx: &mut std::task::Context<'_>,
            ) -> std::task::Poll<std::io::Result<()>> {
                // Sockets have no user-space buffer to flush.
                std::task::Poll::Ready(Ok(()))
            }

            fn poll_close(
                self: std::pin::Pin<&mut Self>,
                _cx: &mut std::task::Context<'_>,
            ) -> std::task::Poll<std::io::Result<()>> {
                std::task::Poll::Ready(self.$field.shutdown_write_priv())
            }
        }
    };
}

pub(crate) use stream_halves;

/// The IO plumbing TCP and Unix streams share: the `&self` poll methods the halves use,
/// `AsyncRead`/`AsyncWrite`, fd access and, with the `hyper` feature, hyper's IO traits.
/// `$stream` must hold its `Async<std stream>` in a field named `io`.
macro_rules! stream_io {
    ($stream:ident) => {
        impl $stream {
            fn poll_read_priv(
                &self,
                cx: &mut std::task::Context<'_>,
                buf: &mut [u8],
            ) -> std::task::Poll<std::io::Result<usize>> {
                self.io
                    .poll_read_with(cx, |mut io| std::io::Read::read(&mut io, buf))
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
                split(self)
            }

            /// Splits the stream into halves that can move to two different tasks.
            pub fn into_split(self) -> (OwnedReadHalf, OwnedWriteHalf) {
                into_split(self)
            }
        }

        impl futures_io::AsyncRead for $stream {
            fn poll_read(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
                buf: &mut [u8],
            ) -> std::task::Poll<std::io::Result<usize>> {
                self.poll_read_priv(cx, buf)
            }

            fn poll_read_vectored(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
                bufs: &mut [std::io::IoSliceMut<'_>],
            ) -> std::task::Poll<std::io::Result<usize>> {
                self.poll_read_vectored_priv(cx, bufs)
            }
        }

        impl futures_io::AsyncWrite for $stream {
            fn poll_write(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
                buf: &[u8],
            ) -> std::task::Poll<std::io::Result<usize>> {
                self.poll_write_priv(cx, buf)
            }

            fn poll_write_vectored(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
                bufs: &[std::io::IoSlice<'_>],
            ) -> std::task::Poll<std::io::Result<usize>> {
                self.poll_write_vectored_priv(cx, bufs)
            }

            fn poll_flush(
                self: std::pin::Pin<&mut Self>,
                _cx: &mut std::task::Context<'_>,
            ) -> std::task::Poll<std::io::Result<()>> {
                // Sockets have no user-space buffer to flush.
                std::task::Poll::Ready(Ok(()))
            }

            fn poll_close(
                self: std::pin::Pin<&mut Self>,
                _cx: &mut std::task::Context<'_>,
            ) -> std::task::Poll<std::io::Result<()>> {
                std::task::Poll::Ready(self.shutdown_write_priv())
            }
        }

        impl std::os::fd::AsRawFd for $stream {
            fn as_raw_fd(&self) -> std::os::fd::RawFd {
                self.io.as_raw_fd()
            }
        }

        impl std::os::fd::AsFd for $stream {
            fn as_fd(&self) -> std::os::fd::BorrowedFd<'_> {
                self.io.as_fd()
            }
        }

        #[cfg(feature = "hyper")]
        impl hyper::rt::Read for $stream {
            fn poll_read(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
                mut buf: hyper::rt::ReadBufCursor<'_>,
            ) -> std::task::Poll<std::io::Result<()>> {
                let read = self.io.poll_read_with(cx, |io| {
                    // SAFETY: only the kernel writes through this slice, and `advance` below
                    // covers just the bytes it reports written.
                    let unfilled = unsafe { buf.as_mut() };
                    // SAFETY: the pointer and length describe `unfilled`, valid for writes of
                    // that many bytes for the duration of the call.
                    let n = unsafe {
                        libc::read(
                            std::os::fd::AsRawFd::as_raw_fd(io),
                            unfilled.as_mut_ptr().cast(),
                            unfilled.len(),
                        )
                    };
                    usize::try_from(n).map_err(|_| std::io::Error::last_os_error())
                });
                match read {
                    std::task::Poll::Ready(Ok(n)) => {
                        // SAFETY: `read` initialised the first `n` bytes of the unfilled part.
                        unsafe { buf.advance(n) };
                        std::task::Poll::Ready(Ok(()))
                    }
                    std::task::Poll::Ready(Err(err)) => std::task::Poll::Ready(Err(err)),
                    std::task::Poll::Pending => std::task::Poll::Pending,
                }
            }
        }

        #[cfg(feature = "hyper")]
        impl hyper::rt::Write for $stream {
            fn poll_write(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
                buf: &[u8],
            ) -> std::task::Poll<std::io::Result<usize>> {
                self.poll_write_priv(cx, buf)
            }

            fn poll_write_vectored(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
                bufs: &[std::io::IoSlice<'_>],
            ) -> std::task::Poll<std::io::Result<usize>> {
                self.poll_write_vectored_priv(cx, bufs)
            }

            fn is_write_vectored(&self) -> bool {
                true
            }

            fn poll_flush(
                self: std::pin::Pin<&mut Self>,
                _cx: &mut std::task::Context<'_>,
            ) -> std::task::Poll<std::io::Result<()>> {
                std::task::Poll::Ready(Ok(()))
            }

            fn poll_shutdown(
                self: std::pin::Pin<&mut Self>,
                _cx: &mut std::task::Context<'_>,
            ) -> std::task::Poll<std::io::Result<()>> {
                std::task::Poll::Ready(self.shutdown_write_priv())
            }
        }
    };
}

pub(crate) use stream_io;
