//! Sockets through the facade, on both runtime flavours.

// Not a library: `pub` items here are shared with the tests through `#[path]` modules,
// so the workspace's API lints (missing_docs, unreachable_pub, missing Debug) do not apply.
#![allow(missing_docs, unreachable_pub, missing_debug_implementations)]

mod common;

use std::sync::Arc;

use common::runtimes;
use futures::{AsyncReadExt, AsyncWriteExt};
use spindle::net::{TcpListener, TcpStream, UdpSocket, UnixListener, UnixStream};

#[test]
fn tcp_echo_many_clients() {
    for (flavor, rt) in runtimes() {
        rt.block_on(async {
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            let server = spindle::spawn(async move {
                for _ in 0..100 {
                    let (mut stream, _) = listener.accept().await.unwrap();
                    spindle::spawn(async move {
                        let mut buf = [0u8; 64];
                        loop {
                            let n = stream.read(&mut buf).await.unwrap();
                            if n == 0 {
                                break;
                            }
                            stream.write_all(&buf[..n]).await.unwrap();
                        }
                    });
                }
            });
            let clients: Vec<_> = (0..100u32)
                .map(|i| {
                    spindle::spawn(async move {
                        let mut stream = TcpStream::connect(addr).await.unwrap();
                        stream.set_nodelay(true).unwrap();
                        let msg = format!("hello {i}");
                        stream.write_all(msg.as_bytes()).await.unwrap();
                        let mut buf = vec![0u8; msg.len()];
                        stream.read_exact(&mut buf).await.unwrap();
                        assert_eq!(buf, msg.as_bytes());
                        stream.close().await.unwrap();
                    })
                })
                .collect();
            for c in clients {
                c.await.unwrap();
            }
            server.await.unwrap();
        });
        let _ = flavor;
    }
}

#[test]
fn connect_to_a_closed_port_is_refused() {
    for (flavor, rt) in runtimes() {
        rt.block_on(async {
            let port = {
                let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
                l.local_addr().unwrap().port()
            };
            let err = TcpStream::connect(("127.0.0.1", port)).await.unwrap_err();
            assert_eq!(
                err.kind(),
                std::io::ErrorKind::ConnectionRefused,
                "{flavor}"
            );
        });
    }
}

#[test]
fn udp_shared_by_many_receivers() {
    for (flavor, rt) in runtimes() {
        rt.block_on(async {
            let socket = Arc::new(UdpSocket::bind("127.0.0.1:0").await.unwrap());
            let addr = socket.local_addr().unwrap();
            let receivers: Vec<_> = (0..20)
                .map(|_| {
                    let socket = socket.clone();
                    spindle::spawn(async move {
                        let mut buf = [0u8; 16];
                        let (n, _) = socket.recv_from(&mut buf).await.unwrap();
                        n
                    })
                })
                .collect();
            spindle::task::yield_now().await;
            let sender = UdpSocket::bind("127.0.0.1:0").await.unwrap();
            for _ in 0..20 {
                sender.send_to(b"ping", addr).await.unwrap();
            }
            for r in receivers {
                assert_eq!(r.await.unwrap(), 4, "{flavor}");
            }
        });
    }
}

#[test]
fn unix_echo() {
    for (flavor, rt) in runtimes() {
        let dir =
            std::env::temp_dir().join(format!("spindle-unix-{}-{flavor}", std::process::id()));
        let _ = std::fs::remove_file(&dir);
        rt.block_on(async {
            let listener = UnixListener::bind(&dir).unwrap();
            let server = spindle::spawn(async move {
                let (mut s, _) = listener.accept().await.unwrap();
                let mut buf = Vec::new();
                s.read_to_end(&mut buf).await.unwrap();
                s.write_all(&buf).await.unwrap();
            });
            let mut c = UnixStream::connect(&dir).await.unwrap();
            c.write_all(b"over unix").await.unwrap();
            c.shutdown(std::net::Shutdown::Write).unwrap();
            let mut back = Vec::new();
            c.read_to_end(&mut back).await.unwrap();
            assert_eq!(back, b"over unix");
            server.await.unwrap();
        });
        let _ = std::fs::remove_file(&dir);
    }
}
