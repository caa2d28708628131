//! The net types over loopback, driven by the hand-parked driver of `common`.

// Not a library: `pub` items here are shared with the tests through `#[path]` modules,
// so the workspace's API lints (missing_docs, unreachable_pub, missing Debug) do not apply.
#![allow(missing_docs, unreachable_pub, missing_debug_implementations)]
#![cfg(not(loom))]

mod common;

use std::collections::HashSet;
use std::future::Future;
use std::io;
use std::net::{Shutdown, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use common::{block_on, block_on_oneshot, poll_once, raise_fd_limit, socket_path, yield_now};
use futures_util::future::{join, join_all};
use futures_util::io::{AsyncReadExt, AsyncWriteExt};
use futures_util::stream::{FuturesUnordered, StreamExt};
use spindle_io::net::{TcpListener, TcpStream, UdpSocket, UnixListener, UnixStream};

async fn tcp_echo_once() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = async {
        let (mut stream, peer) = listener.accept().await.unwrap();
        let mut buf = [0; 11];
        stream.read_exact(&mut buf).await.unwrap();
        stream.write_all(&buf).await.unwrap();
        peer
    };
    let client = async {
        let mut stream = TcpStream::connect(addr).await.unwrap();
        assert_eq!(stream.peer_addr().unwrap(), addr);
        stream.set_nodelay(true).unwrap();
        assert!(stream.nodelay().unwrap());
        stream.write_all(b"hello world").await.unwrap();
        let mut buf = [0; 11];
        stream.read_exact(&mut buf).await.unwrap();
        assert_eq!(&buf, b"hello world");
        stream.local_addr().unwrap()
    };
    let (peer, local) = join(server, client).await;
    assert_eq!(peer, local);
}

#[test]
fn tcp_echo() {
    block_on(tcp_echo_once());
}

#[test]
fn tcp_echo_oneshot_mode() {
    block_on_oneshot(tcp_echo_once());
}

#[test]
fn bind_and_connect_take_any_to_socket_addrs() {
    block_on(async {
        let listener = TcpListener::bind(("127.0.0.1", 0)).await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let (connected, accepted) = join(
            TcpStream::connect(format!("127.0.0.1:{port}")),
            listener.accept(),
        )
        .await;
        connected.unwrap();
        accepted.unwrap();
        let bad = TcpStream::connect("not an address").await.unwrap_err();
        assert_eq!(bad.kind(), io::ErrorKind::InvalidInput);
    });
}

async fn udp_echo_once() {
    let server = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let client = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let server_addr = server.local_addr().unwrap();
    let echo = async {
        let mut buf = [0; 64];
        let (n, from) = server.recv_from(&mut buf).await.unwrap();
        server.send_to(&buf[..n], from).await.unwrap();
    };
    let ask = async {
        client.connect(server_addr).await.unwrap();
        assert_eq!(client.peer_addr().unwrap(), server_addr);
        client.send(b"datagram").await.unwrap();
        let mut buf = [0; 64];
        let n = client.recv(&mut buf).await.unwrap();
        assert_eq!(&buf[..n], b"datagram");
    };
    join(echo, ask).await;
}

#[test]
fn udp_echo() {
    block_on(udp_echo_once());
}

#[test]
fn udp_echo_oneshot_mode() {
    block_on_oneshot(udp_echo_once());
}

#[test]
fn unix_echo() {
    let path = socket_path("echo");
    block_on(async {
        let listener = UnixListener::bind(&path).unwrap();
        assert_eq!(
            listener.local_addr().unwrap().as_pathname(),
            Some(path.as_path())
        );
        let server = async {
            let (mut stream, _) = listener.accept().await.unwrap();
            let mut buf = [0; 4];
            stream.read_exact(&mut buf).await.unwrap();
            stream.write_all(&buf).await.unwrap();
        };
        let client = async {
            let mut stream = UnixStream::connect(&path).await.unwrap();
            stream.write_all(b"unix").await.unwrap();
            let mut buf = [0; 4];
            stream.read_exact(&mut buf).await.unwrap();
            assert_eq!(&buf, b"unix");
        };
        join(server, client).await;

        let (mut a, mut b) = UnixStream::pair().unwrap();
        a.write_all(b"pair").await.unwrap();
        let mut buf = [0; 4];
        b.read_exact(&mut buf).await.unwrap();
        assert_eq!(&buf, b"pair");
    });
    let _ = std::fs::remove_file(&path);
}

#[test]
fn unix_connect_to_nothing_fails() {
    let path = socket_path("nothing");
    block_on(async {
        let err = UnixStream::connect(&path).await.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::NotFound);
    });
}

async fn echo(stream: TcpStream) {
    let (mut r, mut w) = stream.into_split();
    futures_util::io::copy(&mut r, &mut w).await.unwrap();
}

/// Accepts `n` connections and echoes each one's bytes until it closes.
async fn echo_server(listener: &TcpListener, n: usize) {
    let mut conns = FuturesUnordered::new();
    let mut accepted = 0;
    while accepted < n || !conns.is_empty() {
        if accepted < n && conns.is_empty() {
            let (stream, _) = listener.accept().await.unwrap();
            accepted += 1;
            conns.push(echo(stream));
        } else if accepted < n {
            // Accept while already-accepted connections make progress.
            let accept = std::pin::pin!(listener.accept());
            let next = conns.next();
            match futures_util::future::select(accept, next).await {
                futures_util::future::Either::Left((result, _)) => {
                    let (stream, _) = result.unwrap();
                    accepted += 1;
                    conns.push(echo(stream));
                }
                futures_util::future::Either::Right(_) => {}
            }
        } else {
            conns.next().await;
        }
    }
}

#[test]
fn a_thousand_concurrent_connections_echo() {
    const N: usize = 1000;
    let limit = raise_fd_limit(4 * N as libc::rlim_t);
    assert!(limit as usize > 2 * N + 64, "fd limit {limit} too low");
    block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let clients = join_all((0..N).map(|i| async move {
            let mut stream = TcpStream::connect(addr).await.unwrap();
            let msg = format!("connection {i}");
            stream.write_all(msg.as_bytes()).await.unwrap();
            stream.close().await.unwrap();
            let mut back = String::new();
            stream.read_to_string(&mut back).await.unwrap();
            assert_eq!(back, msg);
        }));
        join(echo_server(&listener, N), clients).await;
    });
}

#[test]
fn half_close_then_reads_return_zero() {
    block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = async {
            let (mut stream, _) = listener.accept().await.unwrap();
            let mut request = Vec::new();
            stream.read_to_end(&mut request).await.unwrap();
            assert_eq!(request, b"request");
            // The peer's half-close is sticky.
            assert_eq!(stream.read(&mut [0; 8]).await.unwrap(), 0);
            stream.write_all(b"response").await.unwrap();
            stream.shutdown(Shutdown::Write).unwrap();
            // Keep the stream open until the client has read everything.
            let mut rest = Vec::new();
            stream.read_to_end(&mut rest).await.unwrap();
        };
        let client = async {
            let mut stream = TcpStream::connect(addr).await.unwrap();
            stream.write_all(b"request").await.unwrap();
            stream.shutdown(Shutdown::Write).unwrap();
            let mut response = Vec::new();
            stream.read_to_end(&mut response).await.unwrap();
            assert_eq!(response, b"response");
            assert_eq!(stream.read(&mut [0; 8]).await.unwrap(), 0);
        };
        join(server, client).await;
    });
}

fn pattern(offset: usize, buf: &mut [u8]) {
    for (i, b) in buf.iter_mut().enumerate() {
        *b = ((offset + i) % 251) as u8;
    }
}

async fn write_pattern(mut w: impl futures_util::io::AsyncWrite + Unpin, total: usize) {
    let mut chunk = vec![0; 64 * 1024];
    let mut sent = 0;
    while sent < total {
        let n = chunk.len().min(total - sent);
        pattern(sent, &mut chunk[..n]);
        w.write_all(&chunk[..n]).await.unwrap();
        sent += n;
    }
    w.close().await.unwrap();
}

async fn check_pattern(mut r: impl futures_util::io::AsyncRead + Unpin, total: usize) {
    let mut buf = vec![0; 64 * 1024];
    let mut expected = vec![0; 64 * 1024];
    let mut received = 0;
    loop {
        let n = r.read(&mut buf).await.unwrap();
        if n == 0 {
            break;
        }
        pattern(received, &mut expected[..n]);
        assert!(buf[..n] == expected[..n], "corrupt data at byte {received}");
        received += n;
    }
    assert_eq!(received, total);
}

#[test]
fn split_halves_read_and_write_concurrently() {
    const TOTAL: usize = 8 << 20;
    let run = || async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = async {
            let (mut stream, _) = listener.accept().await.unwrap();
            // Spelled out: `AsyncReadExt::split(self)` would win method resolution.
            let (mut r, mut w) = TcpStream::split(&mut stream);
            futures_util::io::copy(&mut r, &mut w).await.unwrap();
            w.close().await.unwrap();
        };
        let client = async {
            let stream = TcpStream::connect(addr).await.unwrap();
            let (r, w) = stream.into_split();
            // Both directions at once: the echo stalls unless reads drain while writes fill.
            join(write_pattern(w, TOTAL), check_pattern(r, TOTAL)).await;
        };
        join(server, client).await;
    };
    block_on(run());
    block_on_oneshot(run());
}

#[test]
fn reunite_gives_the_stream_back() {
    block_on(async {
        let (a, _b) = UnixStream::pair().unwrap();
        let (c, _d) = UnixStream::pair().unwrap();
        let (ra, wa) = a.into_split();
        let (rc, wc) = c.into_split();
        let spindle_io::net::unix::ReuniteError(ra, wc) = ra.reunite(wc).unwrap_err();
        ra.reunite(wa).unwrap();
        rc.reunite(wc).unwrap();
    });
}

#[test]
fn large_transfer_arrives_byte_for_byte() {
    const TOTAL: usize = 100 << 20;
    block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = async {
            let (stream, _) = listener.accept().await.unwrap();
            check_pattern(stream, TOTAL).await;
        };
        let client = async {
            let stream = TcpStream::connect(addr).await.unwrap();
            write_pattern(stream, TOTAL).await;
        };
        join(server, client).await;
    });
}

#[test]
fn connect_to_a_closed_port_is_refused() {
    block_on(async {
        let addr = {
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            listener.local_addr().unwrap()
        };
        let err = TcpStream::connect(addr).await.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::ConnectionRefused);
    });
}

#[test]
fn peer_reset_fails_only_that_stream() {
    block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (victim, accepted) = join(TcpStream::connect(addr), listener.accept()).await;
        let (victim, (mut reset_side, _)) = (victim.unwrap(), accepted.unwrap());
        let (other, accepted) = join(TcpStream::connect(addr), listener.accept()).await;
        let (mut other, (mut other_server, _)) = (other.unwrap(), accepted.unwrap());

        let reader = async {
            let mut buf = [0; 16];
            reset_side.read(&mut buf).await
        };
        let resetter = async {
            yield_now().await;
            // Linger 0 turns close into an RST.
            let std = victim.into_std().unwrap();
            socket2::SockRef::from(&std)
                .set_linger(Some(Duration::ZERO))
                .unwrap();
            drop(std);
        };
        let (read, ()) = join(reader, resetter).await;
        assert_eq!(read.unwrap_err().kind(), io::ErrorKind::ConnectionReset);

        other.write_all(b"still fine").await.unwrap();
        let mut buf = [0; 10];
        other_server.read_exact(&mut buf).await.unwrap();
        assert_eq!(&buf, b"still fine");
    });
}

async fn udp_many_waiters(n: usize) {
    let socket = Arc::new(UdpSocket::bind("127.0.0.1:0").await.unwrap());
    let addr = socket.local_addr().unwrap();
    let sender = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let receivers = join_all((0..n).map(|_| {
        let socket = socket.clone();
        async move {
            let mut buf = [0; 8];
            let (len, _) = socket.recv_from(&mut buf).await.unwrap();
            u32::from_le_bytes(buf[..len].try_into().unwrap())
        }
    }));
    let send = async {
        // Every receiver is parked on the socket before the first datagram goes out.
        yield_now().await;
        for i in 0..n as u32 {
            sender.send_to(&i.to_le_bytes(), addr).await.unwrap();
        }
    };
    let (mut got, ()) = join(receivers, send).await;
    got.sort_unstable();
    assert_eq!(got, (0..n as u32).collect::<Vec<_>>());
}

#[test]
fn many_tasks_waiting_on_one_udp_socket_are_all_woken() {
    block_on(udp_many_waiters(64));
    block_on_oneshot(udp_many_waiters(64));
}

async fn fifty_acceptors() {
    const N: usize = 50;
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let acceptors = join_all((0..N).map(|_| async {
        let (stream, peer) = listener.accept().await.unwrap();
        (stream, peer)
    }));
    let connectors = async {
        yield_now().await;
        join_all((0..N).map(|_| TcpStream::connect(addr))).await
    };
    let (accepted, connected) = join(acceptors, connectors).await;
    let peers: HashSet<SocketAddr> = accepted.iter().map(|(_, peer)| *peer).collect();
    let locals: HashSet<SocketAddr> = connected
        .into_iter()
        .map(|s| s.unwrap().local_addr().unwrap())
        .collect();
    assert_eq!(peers.len(), N);
    assert_eq!(peers, locals);
}

#[test]
fn fifty_tasks_accepting_on_one_listener() {
    block_on(fifty_acceptors());
    block_on_oneshot(fifty_acceptors());
}

#[test]
fn dropping_an_accept_future_loses_no_connection() {
    block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        {
            let mut accept = Box::pin(listener.accept());
            assert!(poll_once(&mut accept).is_pending());
        }
        let _client = std::net::TcpStream::connect(addr).unwrap();
        let (_stream, peer) = listener.accept().await.unwrap();
        assert_eq!(peer, _client.local_addr().unwrap());
    });
}

#[test]
fn incoming_yields_connections() {
    block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (stream, client) = join(listener.incoming().next(), TcpStream::connect(addr)).await;
        assert_eq!(
            stream.unwrap().unwrap().peer_addr().unwrap(),
            client.unwrap().local_addr().unwrap()
        );
    });
}

#[test]
#[should_panic(expected = "spindle::net must be called from inside a Spindle runtime")]
fn sockets_outside_a_runtime_panic_clearly() {
    let _ = UnixStream::pair();
}

#[test]
fn required_auto_traits() {
    fn send<T: Send>() {}
    fn sync<T: Sync>() {}
    fn unpin<T: Unpin>() {}
    fn send_future<F: Future + Send>(_: &F) {}

    send::<TcpListener>();
    send::<TcpStream>();
    send::<UdpSocket>();
    send::<UnixListener>();
    send::<UnixStream>();
    sync::<TcpListener>();
    sync::<UdpSocket>();
    sync::<UnixListener>();
    unpin::<TcpStream>();
    unpin::<UnixStream>();
    send::<spindle_io::net::tcp::OwnedReadHalf>();
    send::<spindle_io::net::tcp::OwnedWriteHalf>();
    send::<spindle_io::Handle>();
    sync::<spindle_io::Handle>();
    send::<spindle_io::Driver>();

    block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        send_future(&listener.accept());
        send_future(&TcpStream::connect("127.0.0.1:1"));
        send_future(&TcpListener::bind("127.0.0.1:0"));
        send_future(&UnixStream::connect("/nonexistent"));
        let udp = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let mut buf = [0; 1];
        send_future(&udp.recv(&mut buf));
    });
}

/// The auto traits the public API promises (DESIGN.md): every net type and half is `Send`;
/// listeners, `UdpSocket`, streams and owned halves `Sync`; streams and halves `Unpin`.
#[test]
fn net_types_keep_their_auto_traits() {
    use spindle_io::net::{tcp, unix};
    fn send_sync_unpin<T: Send + Sync + Unpin>() {}
    send_sync_unpin::<TcpListener>();
    send_sync_unpin::<UnixListener>();
    send_sync_unpin::<UdpSocket>();
    send_sync_unpin::<TcpStream>();
    send_sync_unpin::<UnixStream>();
    send_sync_unpin::<tcp::ReadHalf<'_>>();
    send_sync_unpin::<tcp::WriteHalf<'_>>();
    send_sync_unpin::<tcp::OwnedReadHalf>();
    send_sync_unpin::<tcp::OwnedWriteHalf>();
    send_sync_unpin::<tcp::ReuniteError>();
    send_sync_unpin::<tcp::Incoming<'_>>();
    send_sync_unpin::<unix::ReadHalf<'_>>();
    send_sync_unpin::<unix::WriteHalf<'_>>();
    send_sync_unpin::<unix::OwnedReadHalf>();
    send_sync_unpin::<unix::OwnedWriteHalf>();
    send_sync_unpin::<unix::ReuniteError>();
    send_sync_unpin::<unix::Incoming<'_>>();

    fn send<T: Send>(_: &T) {}
    block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        send(&listener.accept());
        send(&TcpStream::connect(listener.local_addr().unwrap()));
        send(&UnixStream::connect("/nonexistent"));
    });
}

/// tokio's IO traits (feature `tokio-io`), in a module of their own so that tokio's
/// extension traits are the only ones in scope.
#[cfg(feature = "tokio-io")]
mod tokio_io {
    use std::io;
    use std::mem::MaybeUninit;

    use futures_util::future::join;
    use spindle_io::net::{TcpListener, TcpStream, UnixStream};
    use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};

    use super::common::block_on;

    /// The streams and all four halves, driven by tokio's extension traits on Spindle's
    /// hand-parked driver: no tokio runtime anywhere.
    #[test]
    fn tokio_io_traits_on_streams_and_halves() {
        fn tokio_io<T: AsyncRead + AsyncWrite + Unpin>(_: &T) {}
        fn tokio_read<T: AsyncRead + Unpin>(_: &T) {}
        fn tokio_write<T: AsyncWrite + Unpin>(t: &T) -> bool {
            t.is_write_vectored()
        }

        block_on(async {
            // The whole stream, over TCP, including a vectored write.
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let (client, accepted) = join(
                TcpStream::connect(listener.local_addr().unwrap()),
                listener.accept(),
            )
            .await;
            let (mut client, (mut server, _)) = (client.unwrap(), accepted.unwrap());
            tokio_io(&client);
            assert!(tokio_write(&client));
            let bufs = [io::IoSlice::new(b"hello, "), io::IoSlice::new(b"tokio")];
            let n = client.write_vectored(&bufs).await.unwrap();
            client.write_all(&b"hello, tokio"[n..]).await.unwrap();
            AsyncWriteExt::shutdown(&mut client).await.unwrap();
            let mut got = String::new();
            server.read_to_string(&mut got).await.unwrap();
            assert_eq!(got, "hello, tokio");

            // Into an uninitialised `ReadBuf`, a little at a time: only what was read is filled.
            let (mut a, mut b) = UnixStream::pair().unwrap();
            tokio_io(&a);
            a.write_all(b"0123456789").await.unwrap();
            let mut storage = [MaybeUninit::<u8>::uninit(); 4];
            let mut buf = ReadBuf::uninit(&mut storage);
            std::future::poll_fn(|cx| std::pin::Pin::new(&mut b).poll_read(cx, &mut buf))
                .await
                .unwrap();
            assert_eq!(buf.filled(), b"0123");
            let mut rest = [0; 6];
            b.read_exact(&mut rest).await.unwrap();
            assert_eq!(&rest, b"456789");

            // Borrowed halves.
            let (mut ra, mut wa) = UnixStream::split(&mut a);
            let (mut rb, mut wb) = UnixStream::split(&mut b);
            tokio_read(&ra);
            assert!(tokio_write(&wa));
            wa.write_all(b"ping").await.unwrap();
            let mut ping = [0; 4];
            rb.read_exact(&mut ping).await.unwrap();
            wb.write_all(&ping).await.unwrap();
            let mut pong = [0; 4];
            ra.read_exact(&mut pong).await.unwrap();
            assert_eq!(&pong, b"ping");

            // Owned halves: shutting the write half down ends the peer's reads.
            let (mut ra, mut wa) = a.into_split();
            let (mut rb, wb) = b.into_split();
            tokio_read(&ra);
            assert!(tokio_write(&wa));
            wa.write_all(b"owned").await.unwrap();
            wa.shutdown().await.unwrap();
            let mut got = Vec::new();
            rb.read_to_end(&mut got).await.unwrap();
            assert_eq!(got, b"owned");
            drop(wb);
            assert_eq!(ra.read(&mut [0; 1]).await.unwrap(), 0);
        });
    }
}

/// Accepts one connection from a std peer, lets the peer run `peer` to the end while this
/// thread polls nothing (so whatever the peer sends reaches the reactor as one event), then
/// reads everything there is: the bytes, and how the stream ended.
async fn read_what_arrives_together(
    peer: impl FnOnce(std::net::TcpStream) + Send + 'static,
) -> (Vec<u8>, io::Result<usize>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (go, wait) = std::sync::mpsc::channel::<()>();
    let peer = std::thread::spawn(move || {
        let stream = std::net::TcpStream::connect(addr).unwrap();
        wait.recv().unwrap();
        peer(stream);
    });
    let (mut stream, _) = listener.accept().await.unwrap();
    go.send(()).unwrap();
    peer.join().unwrap();
    // Loopback delivers before `send` returns; the pause only makes that certain.
    std::thread::sleep(Duration::from_millis(20));
    let mut data = Vec::new();
    let mut buf = [0; 64];
    loop {
        match stream.read(&mut buf).await {
            Ok(0) => return (data, Ok(0)),
            Ok(n) => data.extend_from_slice(&buf[..n]),
            Err(err) => return (data, Err(err)),
        }
    }
}

/// Slot rule 10: a read that empties the socket (the kernel's TCP_INQ hint is 0) clears
/// readiness at once, but a reset queued behind the data raises no new edge: the read after
/// the data must still see it rather than wait forever.
#[test]
fn data_and_a_reset_arriving_together_are_both_seen() {
    let (data, end) = block_on(read_what_arrives_together(|stream| {
        use std::io::Write;
        (&stream).write_all(b"last words").unwrap();
        // Linger 0: close sends a reset instead of a FIN.
        socket2::SockRef::from(&stream)
            .set_linger(Some(Duration::ZERO))
            .unwrap();
        drop(stream);
    }));
    assert_eq!(data, b"last words");
    let err = end.expect_err("a reset ends the stream with an error");
    assert_eq!(err.kind(), io::ErrorKind::ConnectionReset);
}

/// Same with a FIN behind the data: the end of the stream is read as 0 bytes.
#[test]
fn data_and_a_fin_arriving_together_are_both_seen() {
    let (data, end) = block_on(read_what_arrives_together(|stream| {
        use std::io::Write;
        (&stream).write_all(b"goodbye").unwrap();
        drop(stream);
    }));
    assert_eq!(data, b"goodbye");
    assert_eq!(end.unwrap(), 0);
}
