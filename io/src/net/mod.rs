//! TCP, UDP and Unix-domain sockets on the reactor (the facade's `spindle::net`).
//!
//! Names and semantics follow tokio's `tokio::net`. Streams and their split halves implement
//! `futures_io::AsyncRead + AsyncWrite` (closing shuts the write half down); with the
//! `tokio-io` feature, `tokio::io::AsyncRead + AsyncWrite` too (tokio's traits only, none of
//! its runtime); and streams, with the `hyper` feature, `hyper::rt::Read + Write`.
//!
//! What TCP and Unix sockets share is written once: `stream.rs` (the `stream!` macro: a
//! stream's IO, its halves and the IO traits), `listener.rs` (the `listener!` macro:
//! `accept`, `poll_accept`, `incoming`) and `connect.rs` (the non-blocking connect).
//! `tcp.rs`, `unix.rs` and `udp.rs` hold each type's own parts.

use std::io;
use std::net::{SocketAddr, ToSocketAddrs};

/// `Debug` (the inner std socket), `AsRawFd` and `AsFd` for a type whose `io` field is an
/// `Async` of a std socket: the same three impls for every net type.
macro_rules! fd_traits {
    ($name:ident) => {
        impl ::std::fmt::Debug for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.debug_tuple(stringify!($name))
                    .field(self.io.get_ref())
                    .finish()
            }
        }

        impl ::std::os::fd::AsRawFd for $name {
            fn as_raw_fd(&self) -> ::std::os::fd::RawFd {
                ::std::os::fd::AsRawFd::as_raw_fd(&self.io)
            }
        }

        impl ::std::os::fd::AsFd for $name {
            fn as_fd(&self) -> ::std::os::fd::BorrowedFd<'_> {
                ::std::os::fd::AsFd::as_fd(&self.io)
            }
        }
    };
}
use fd_traits;

mod connect;
mod listener;
mod stream;
pub mod tcp;
mod udp;
pub mod unix;

pub use tcp::{TcpListener, TcpStream};
pub use udp::UdpSocket;
pub use unix::{UnixListener, UnixStream};

/// Resolves `addr` now (std's resolver blocks, as tokio's would on its blocking pool), so no
/// `A::Iter` is held across an await and the caller's future stays `Send`.
fn resolve<A: ToSocketAddrs>(addr: A) -> io::Result<Vec<SocketAddr>> {
    let addrs: Vec<SocketAddr> = addr.to_socket_addrs()?.collect();
    if addrs.is_empty() {
        return Err(no_addresses());
    }
    Ok(addrs)
}

fn no_addresses() -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidInput,
        "could not resolve to any address",
    )
}

/// Tries `op` on each address in turn, returning the first success or the last error.
async fn each_addr<T, F, Fut>(addr: impl ToSocketAddrs, mut op: F) -> io::Result<T>
where
    F: FnMut(SocketAddr) -> Fut,
    Fut: Future<Output = io::Result<T>>,
{
    let mut last_err = None;
    for addr in resolve(addr)? {
        match op(addr).await {
            Ok(value) => return Ok(value),
            Err(err) => last_err = Some(err),
        }
    }
    Err(last_err.unwrap_or_else(no_addresses))
}
