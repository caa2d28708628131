//! TCP: [`TcpListener`] and [`TcpStream`], plus the stream's split halves.
//!
//! What TCP shares with Unix-domain sockets (accepting, connecting, the stream IO and its
//! halves) is written once, in `listener.rs`, `connect.rs` and `stream.rs`; this file holds
//! what is TCP's own: binding to resolved addresses, `TCP_NODELAY`, `IP_TTL`, `peek`.

use std::io;
use std::net::{self, SocketAddr, ToSocketAddrs};

use socket2::{Domain, Protocol, SockAddr, Socket, Type};

use super::connect::connect;
use super::each_addr;
use super::listener::listener;
use super::stream::stream;
use crate::async_fd::Async;

/// Pending connections a listener queues before the kernel starts dropping SYNs (tokio's
/// figure; std's default is smaller, which makes bursts of connects wait on SYN retries).
const LISTEN_BACKLOG: i32 = 1024;

/// A TCP socket server, listening for connections.
pub struct TcpListener {
    io: Async<net::TcpListener>,
}

impl TcpListener {
    /// Binds to `addr` (anything `std::net::ToSocketAddrs` takes; each resolved address is
    /// tried in turn) and listens.
    pub async fn bind<A: ToSocketAddrs>(addr: A) -> io::Result<TcpListener> {
        each_addr(addr, |addr| async move { Self::bind_addr(addr) }).await
    }

    fn bind_addr(addr: SocketAddr) -> io::Result<TcpListener> {
        let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
        // As std does on Unix: a restarted server can rebind while old connections linger.
        socket.set_reuse_address(true)?;
        socket.bind(&SockAddr::from(addr))?;
        socket.listen(LISTEN_BACKLOG)?;
        Self::from_std(socket.into())
    }

    /// The `IP_TTL` option.
    pub fn ttl(&self) -> io::Result<u32> {
        self.io.get_ref().ttl()
    }

    /// Sets the `IP_TTL` option.
    pub fn set_ttl(&self, ttl: u32) -> io::Result<()> {
        self.io.get_ref().set_ttl(ttl)
    }
}

listener!(TcpListener, net::TcpListener, TcpStream, SocketAddr);

/// A TCP connection.
pub struct TcpStream {
    io: Async<net::TcpStream>,
}

impl TcpStream {
    /// Connects to `addr`, trying each resolved address in turn until one accepts.
    ///
    /// A closed port fails with `ErrorKind::ConnectionRefused`.
    pub async fn connect<A: ToSocketAddrs>(addr: A) -> io::Result<TcpStream> {
        each_addr(addr, |addr| async move {
            let io = connect(SockAddr::from(addr), Some(Protocol::TCP)).await?;
            Ok(TcpStream::from_async(io))
        })
        .await
    }

    /// Sets `TCP_NODELAY` (disables Nagle's algorithm when `true`).
    pub fn set_nodelay(&self, nodelay: bool) -> io::Result<()> {
        self.io.get_ref().set_nodelay(nodelay)
    }

    /// The `TCP_NODELAY` option.
    pub fn nodelay(&self) -> io::Result<bool> {
        self.io.get_ref().nodelay()
    }

    /// The `IP_TTL` option.
    pub fn ttl(&self) -> io::Result<u32> {
        self.io.get_ref().ttl()
    }

    /// Sets the `IP_TTL` option.
    pub fn set_ttl(&self, ttl: u32) -> io::Result<()> {
        self.io.get_ref().set_ttl(ttl)
    }

    /// Receives data without removing it from the queue.
    pub async fn peek(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.io.read_with(|io| io.peek(buf)).await
    }
}

stream!(TcpStream, net::TcpStream, SocketAddr, read_hint = true);
