//! The `tokio-io` feature: crates written against `tokio::io::{AsyncRead, AsyncWrite}` run on
//! Spindle's sockets with no tokio runtime in the process. tokio-util's `Framed` with its
//! `LinesCodec` echoes lines over TCP and Unix streams, both ends framed, on both runtime
//! flavours; each task checks that no tokio runtime is current.

// Not a library: `pub` items here are shared with the tests through `#[path]` modules,
// so the workspace's API lints (missing_docs, unreachable_pub, missing Debug) do not apply.
#![allow(missing_docs, unreachable_pub, missing_debug_implementations)]
#![cfg(feature = "tokio-io")]

mod common;

use common::runtimes;
use futures::{SinkExt, StreamExt};
use spindle::net::{TcpListener, TcpStream, UnixListener, UnixStream};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio_util::codec::{Framed, FramedRead, FramedWrite, LinesCodec};

/// tokio is here only for its IO traits; its `rt` feature is a dev-dependency just so that
/// this can be asked.
fn assert_no_tokio_runtime() {
    assert!(
        tokio::runtime::Handle::try_current().is_err(),
        "a tokio runtime is current inside a Spindle task"
    );
}

/// Echoes every line back until the peer shuts its write half down.
async fn echo_lines(stream: impl AsyncRead + AsyncWrite + Unpin) {
    assert_no_tokio_runtime();
    let mut framed = Framed::new(stream, LinesCodec::new());
    while let Some(line) = framed.next().await {
        framed.send(line.unwrap()).await.unwrap();
    }
}

/// One line at a time, then a pipelined batch, then a line longer than any one read; closing
/// the sink shuts the write half down, which ends the server's loop.
async fn talk(stream: impl AsyncRead + AsyncWrite + Unpin) {
    assert_no_tokio_runtime();
    let mut framed = Framed::new(stream, LinesCodec::new());
    for i in 0..20 {
        framed.send(format!("line {i}")).await.unwrap();
        assert_eq!(framed.next().await.unwrap().unwrap(), format!("line {i}"));
    }
    for i in 0..100 {
        framed.feed(format!("batch {i}")).await.unwrap();
    }
    // `LinesCodec` encodes any `AsRef<str>`, so flush and close say which sink they mean.
    SinkExt::<String>::flush(&mut framed).await.unwrap();
    for i in 0..100 {
        assert_eq!(framed.next().await.unwrap().unwrap(), format!("batch {i}"));
    }
    let long = "x".repeat(256 * 1024);
    framed.send(long.clone()).await.unwrap();
    assert_eq!(framed.next().await.unwrap().unwrap(), long);
    SinkExt::<String>::close(&mut framed).await.unwrap();
    assert!(framed.next().await.is_none(), "the server closes after us");
}

#[test]
fn framed_lines_echo_over_tcp() {
    for (_, rt) in runtimes() {
        rt.block_on(async {
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            let server = spindle::spawn(async move {
                let (stream, _) = listener.accept().await.unwrap();
                echo_lines(stream).await;
            });
            let client = spindle::spawn(async move {
                talk(TcpStream::connect(addr).await.unwrap()).await;
            });
            client.await.unwrap();
            server.await.unwrap();
        });
    }
}

#[test]
fn framed_lines_echo_over_unix() {
    for (flavor, rt) in runtimes() {
        let path =
            std::env::temp_dir().join(format!("spindle-tokio-io-{}-{flavor}", std::process::id()));
        let _ = std::fs::remove_file(&path);
        rt.block_on(async {
            let listener = UnixListener::bind(&path).unwrap();
            let server = spindle::spawn(async move {
                let (stream, _) = listener.accept().await.unwrap();
                echo_lines(stream).await;
            });
            let path = path.clone();
            let client = spindle::spawn(async move {
                talk(UnixStream::connect(&path).await.unwrap()).await;
            });
            client.await.unwrap();
            server.await.unwrap();
        });
        let _ = std::fs::remove_file(&path);
    }
}

/// The owned halves, framed separately: the server's reader feeds its writer.
#[test]
fn framed_lines_echo_over_owned_halves() {
    for (_, rt) in runtimes() {
        rt.block_on(async {
            let (client, server) = UnixStream::pair().unwrap();
            let server = spindle::spawn(async move {
                assert_no_tokio_runtime();
                let (read, write) = server.into_split();
                let mut lines = FramedRead::new(read, LinesCodec::new());
                let mut sink = FramedWrite::new(write, LinesCodec::new());
                sink.send_all(&mut lines).await.unwrap();
            });
            spindle::spawn(talk(client)).await.unwrap();
            server.await.unwrap();
        });
    }
}
