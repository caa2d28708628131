//! Unix-domain stream sockets: [`UnixListener`] and [`UnixStream`], plus the split halves.
//!
//! What they share with TCP (accepting, connecting, the stream IO and its halves) is written
//! once, in `listener.rs`, `connect.rs` and `stream.rs`; this file holds what is Unix's own:
//! binding to a path, and `pair`.

use std::io;
use std::os::unix::net::{self, SocketAddr};
use std::path::Path;

use socket2::SockAddr;

use super::connect::connect;
use super::listener::listener;
use super::stream::stream;
use crate::async_fd::Async;

/// A Unix-domain socket server, listening for connections.
pub struct UnixListener {
    io: Async<net::UnixListener>,
}

impl UnixListener {
    /// Binds to `path` and listens. Not async: binding a path never waits.
    ///
    /// # Panics
    ///
    /// Outside a Spindle runtime.
    #[track_caller]
    pub fn bind<P: AsRef<Path>>(path: P) -> io::Result<UnixListener> {
        Self::from_std(net::UnixListener::bind(path)?)
    }
}

listener!(UnixListener, net::UnixListener, UnixStream, SocketAddr);

/// A Unix-domain stream connection.
pub struct UnixStream {
    io: Async<net::UnixStream>,
}

impl UnixStream {
    /// Connects to the socket at `path`.
    ///
    /// A listener whose backlog is full makes this fail with `WouldBlock`, as a
    /// non-blocking Unix connect does, rather than wait.
    pub async fn connect<P: AsRef<Path>>(path: P) -> io::Result<UnixStream> {
        let io = connect(SockAddr::unix(path)?, None).await?;
        Ok(UnixStream::from_async(io))
    }

    /// A connected pair of streams.
    ///
    /// # Panics
    ///
    /// Outside a Spindle runtime.
    #[track_caller]
    pub fn pair() -> io::Result<(UnixStream, UnixStream)> {
        let (a, b) = net::UnixStream::pair()?;
        Ok((UnixStream::from_std(a)?, UnixStream::from_std(b)?))
    }
}

stream!(UnixStream, net::UnixStream, SocketAddr, read_hint = false);
