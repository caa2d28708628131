//! hyper's IO traits on the stream types (the `hyper` feature).

// Not a library: `pub` items here are shared with the tests through `#[path]` modules,
// so the workspace's API lints (missing_docs, unreachable_pub, missing Debug) do not apply.
#![allow(missing_docs, unreachable_pub, missing_debug_implementations)]
#![cfg(all(feature = "hyper", not(loom)))]

mod common;

use std::future::poll_fn;
use std::mem::MaybeUninit;
use std::pin::Pin;

use common::block_on;
use hyper::rt::{Read, ReadBuf, Write};
use spindle_io::net::{TcpListener, TcpStream, UnixStream};

async fn hyper_write(stream: &mut (impl Write + Unpin), data: &[u8]) {
    let mut sent = 0;
    while sent < data.len() {
        sent += poll_fn(|cx| Write::poll_write(Pin::new(&mut *stream), cx, &data[sent..]))
            .await
            .unwrap();
    }
    poll_fn(|cx| Write::poll_flush(Pin::new(&mut *stream), cx))
        .await
        .unwrap();
}

async fn hyper_read_to_end(stream: &mut (impl Read + Unpin)) -> Vec<u8> {
    let mut out = Vec::new();
    let mut storage = [MaybeUninit::<u8>::uninit(); 7];
    loop {
        let mut buf = ReadBuf::uninit(&mut storage);
        poll_fn(|cx| Read::poll_read(Pin::new(&mut *stream), cx, buf.unfilled()))
            .await
            .unwrap();
        if buf.filled().is_empty() {
            return out;
        }
        out.extend_from_slice(buf.filled());
    }
}

#[test]
fn unix_streams_speak_hyper_io() {
    block_on(async {
        let (mut a, mut b) = UnixStream::pair().unwrap();
        let writer = async {
            hyper_write(&mut a, b"GET / HTTP/1.1\r\n\r\n").await;
            poll_fn(|cx| Write::poll_shutdown(Pin::new(&mut a), cx))
                .await
                .unwrap();
        };
        let (_, got) = futures_util::future::join(writer, hyper_read_to_end(&mut b)).await;
        assert_eq!(got, b"GET / HTTP/1.1\r\n\r\n");
    });
}

#[test]
fn tcp_streams_speak_hyper_io() {
    block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (client, accepted) =
            futures_util::future::join(TcpStream::connect(addr), listener.accept()).await;
        let (mut client, (mut server, _)) = (client.unwrap(), accepted.unwrap());
        let payload: Vec<u8> = (0..100_000u32).map(|i| i as u8).collect();
        let writer = async {
            hyper_write(&mut client, &payload).await;
            poll_fn(|cx| Write::poll_shutdown(Pin::new(&mut client), cx))
                .await
                .unwrap();
        };
        let (_, got) = futures_util::future::join(writer, hyper_read_to_end(&mut server)).await;
        assert_eq!(got, payload);
    });
}
