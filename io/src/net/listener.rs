//! The listener types' shared body, written once for TCP and Unix listeners: the `listener!`
//! macro that `tcp.rs` and `unix.rs` expand for [`TcpListener`] and [`UnixListener`].
//!
//! It gives a listener its std conversions, `accept`, `poll_accept`, `incoming` (and the
//! `Incoming` stream, in the expanding module), `local_addr`, `Debug` and fd access. How each
//! binds, and its protocol's options (TCP's `ttl`), stay with the type. A macro rather than a
//! generic `Listener<Kind>`: the public types stay plain structs with their own names and
//! docs, not aliases of a generic one, and `tcp::Incoming` and `unix::Incoming` stay two
//! types.
//!
//! [`TcpListener`]: super::TcpListener
//! [`UnixListener`]: super::UnixListener

/// Defines a listener's shared body (see the module doc) for `$listener`, a struct in the
/// calling module whose one field `io` is an `Async<$std>`; accepting gives a `$stream` and
/// the peer's `$addr`.
macro_rules! listener {
    ($listener:ident, $std:ty, $stream:ident, $addr:ty) => {
        impl $listener {
            /// Takes over a std listener (it is put in non-blocking mode).
            ///
            /// # Panics
            ///
            /// Outside a Spindle runtime.
            #[track_caller]
            pub fn from_std(listener: $std) -> std::io::Result<$listener> {
                Ok($listener {
                    io: $crate::Async::new(listener)?,
                })
            }

            /// Gives the listener back as a std one (still non-blocking).
            pub fn into_std(self) -> std::io::Result<$std> {
                self.io.into_inner()
            }

            /// Accepts a connection.
            ///
            /// Cancel-safe: a connection is taken from the kernel only in the poll that
            /// returns it. Any number of tasks may accept on one listener at once. Errors
            /// (`EMFILE` when the process is out of descriptors, say) are returned as they
            /// come; the listener keeps working once their cause is gone.
            pub async fn accept(&self) -> std::io::Result<($stream, $addr)> {
                let (stream, addr) = self.io.read_with(|listener| listener.accept()).await?;
                Ok(($stream::from_std(stream)?, addr))
            }

            /// Polls for a connection; only the most recent caller's waker is kept.
            pub fn poll_accept(
                &self,
                cx: &mut std::task::Context<'_>,
            ) -> std::task::Poll<std::io::Result<($stream, $addr)>> {
                let (stream, addr) =
                    std::task::ready!(self.io.poll_read_with(cx, |listener| listener.accept()))?;
                std::task::Poll::Ready($stream::from_std(stream).map(|stream| (stream, addr)))
            }

            /// The connections, as a `Stream` that never ends (errors are items).
            pub fn incoming(&self) -> Incoming<'_> {
                Incoming { listener: self }
            }

            /// The address the listener is bound to.
            pub fn local_addr(&self) -> std::io::Result<$addr> {
                self.io.get_ref().local_addr()
            }
        }

        $crate::net::fd_traits!($listener);

        #[doc = concat!("The stream of [`", stringify!($listener), "::incoming`].")]
        #[derive(Debug)]
        pub struct Incoming<'a> {
            listener: &'a $listener,
        }

        impl futures_core::Stream for Incoming<'_> {
            type Item = std::io::Result<$stream>;

            fn poll_next(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
            ) -> std::task::Poll<Option<Self::Item>> {
                self.listener
                    .poll_accept(cx)
                    .map(|accepted| Some(accepted.map(|(stream, _)| stream)))
            }
        }
    };
}

pub(crate) use listener;
