//! Accept under descriptor exhaustion. Its own test binary: it lowers the process's
//! RLIMIT_NOFILE, which would starve tests running beside it.

// Not a library: `pub` items here are shared with the tests through `#[path]` modules,
// so the workspace's API lints (missing_docs, unreachable_pub, missing Debug) do not apply.
#![allow(missing_docs, unreachable_pub, missing_debug_implementations)]
#![cfg(not(loom))]

mod common;

use std::fs::File;
use std::io::{Read, Write};
use std::time::{Duration, Instant};

use common::block_on;
use futures_util::io::{AsyncReadExt, AsyncWriteExt};
use spindle_io::net::TcpListener;

#[test]
fn accept_reports_emfile_and_recovers() {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes one rlimit into the struct we own.
    let rc = unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) };
    assert_eq!(rc, 0);
    let original = limit;
    limit.rlim_cur = limit.rlim_cur.min(256);
    // SAFETY: setrlimit reads the struct we own.
    assert_eq!(unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &limit) }, 0);

    block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        // Connected before the fds run out: the handshake completes in the backlog.
        let mut client = std::net::TcpStream::connect(addr).unwrap();

        let mut hogs = Vec::new();
        loop {
            match File::open("/dev/null") {
                Ok(file) => hogs.push(file),
                Err(err) if err.raw_os_error() == Some(libc::EMFILE) => break,
                Err(err) => panic!("unexpected error filling fds: {err}"),
            }
        }

        let started = Instant::now();
        for _ in 0..3 {
            let err = listener.accept().await.unwrap_err();
            assert_eq!(err.raw_os_error(), Some(libc::EMFILE), "{err}");
        }
        assert!(started.elapsed() < Duration::from_secs(5));

        drop(hogs);
        let (mut stream, peer) = listener.accept().await.unwrap();
        assert_eq!(peer, client.local_addr().unwrap());
        client.write_all(b"ok").unwrap();
        let mut buf = [0; 2];
        stream.read_exact(&mut buf).await.unwrap();
        assert_eq!(&buf, b"ok");
        stream.write_all(b"!").await.unwrap();
        let mut one = [0; 1];
        client.read_exact(&mut one).unwrap();
    });

    // SAFETY: setrlimit reads the `rlimit` we pass by reference for the call only; it
    // restores the limit this test lowered.
    let rc = unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &original) };
    assert_eq!(rc, 0);
}
