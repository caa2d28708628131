//! The non-blocking connect that TCP and Unix streams share.

use std::io;
use std::os::fd::{AsFd, OwnedFd};

use socket2::{Protocol, SockAddr, SockRef, Socket, Type};

use crate::async_fd::Async;

/// Opens a stream socket of `addr`'s family, starts a non-blocking connect to `addr`, and
/// waits on the reactor for the handshake to end.
///
/// Fails with what `connect` reports at once (a Unix listener with a full backlog gives
/// `WouldBlock`, as a non-blocking Unix connect does, rather than a wait) or with the
/// handshake's error (`ConnectionRefused` for a closed TCP port).
pub(super) async fn connect<S>(addr: SockAddr, protocol: Option<Protocol>) -> io::Result<Async<S>>
where
    S: AsFd + From<OwnedFd>,
{
    let socket = Socket::new(addr.domain(), Type::STREAM, protocol)?;
    socket.set_nonblocking(true)?;
    match socket.connect(&addr) {
        Ok(()) => {}
        Err(err) if err.raw_os_error() == Some(libc::EINPROGRESS) => {}
        Err(err) => return Err(err),
    }
    let io = Async::new(S::from(OwnedFd::from(socket)))?;
    // Writable means the handshake ended, one way or the other; SO_ERROR says which.
    io.writable().await?;
    if let Some(err) = SockRef::from(io.get_ref()).take_error()? {
        return Err(err);
    }
    Ok(io)
}
