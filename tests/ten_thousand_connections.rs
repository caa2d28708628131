//! 10 000 TCP connections open at once on loopback, each echoing a message.
//!
//! Its own test binary: it raises the process's open-file limit. The server runs in a child
//! process (this same binary, re-run with `SPINDLE_ECHO_SERVER` set), so each side needs
//! about 10 000 descriptors rather than one process needing both ends' 20 000.

// Not a library: `pub` items here are shared with the tests through `#[path]` modules,
// so the workspace's API lints (missing_docs, unreachable_pub, missing Debug) do not apply.
#![allow(missing_docs, unreachable_pub, missing_debug_implementations)]

use std::sync::Arc;

use futures::{AsyncReadExt, AsyncWriteExt};
use spindle::net::{TcpListener, TcpStream};
use spindle::sync::{Barrier, Semaphore};

const CONNECTIONS: usize = 10_000;

/// Raises the soft (and, as root, the hard) limit to `want`; returns the soft limit now in force.
fn raise_fd_limit(want: u64) -> u64 {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit/setrlimit only read/write the struct we pass.
    unsafe {
        libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim);
        if lim.rlim_cur < want {
            let raised = libc::rlimit {
                rlim_cur: want,
                rlim_max: lim.rlim_max.max(want),
            };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &raised) != 0 {
                let soft = libc::rlimit {
                    rlim_cur: lim.rlim_max.min(want),
                    rlim_max: lim.rlim_max,
                };
                libc::setrlimit(libc::RLIMIT_NOFILE, &soft);
            }
            libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim);
        }
    }
    lim.rlim_cur
}

/// The server half, run in a child process by the test below; a no-op when run directly.
#[test]
fn echo_server_process() {
    if std::env::var_os("SPINDLE_ECHO_SERVER").is_none() {
        return;
    }
    raise_fd_limit(CONNECTIONS as u64 + 1_000);
    let rt = spindle::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap();
    rt.block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        println!("PORT {}", listener.local_addr().unwrap().port());
        let mut served = Vec::with_capacity(CONNECTIONS);
        for _ in 0..CONNECTIONS {
            let (mut stream, _) = listener.accept().await.unwrap();
            served.push(spindle::spawn(async move {
                let mut buf = [0u8; 32];
                let n = stream.read(&mut buf).await.unwrap();
                stream.write_all(&buf[..n]).await.unwrap();
            }));
        }
        for s in served {
            s.await.unwrap();
        }
    });
}

#[test]
fn ten_thousand_concurrent_connections_echo() {
    use std::io::BufRead;

    let limit = raise_fd_limit(CONNECTIONS as u64 + 1_000);
    assert!(
        limit >= CONNECTIONS as u64 + 100,
        "need {} open files for this test, the limit is {limit}; raise `ulimit -n`",
        CONNECTIONS + 100
    );
    let mut server = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "echo_server_process",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("SPINDLE_ECHO_SERVER", "1")
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("start the echo server process");
    let mut server_output = std::io::BufReader::new(server.stdout.take().unwrap()).lines();
    let port: u16 = server_output
        .by_ref()
        .map(|line| line.unwrap())
        // The harness may print "test echo_server_process ... " on the same line first.
        .find_map(|line| {
            line.split("PORT ")
                .nth(1)
                .map(|p| p.trim().parse().unwrap())
        })
        .expect("the server process prints its port");
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    let rt = spindle::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap();
    let echoed = rt.block_on(async {
        // Connect in waves (the listen backlog is finite; a dropped SYN costs a one-second
        // retransmit), but keep every connection open until all are: they are concurrent.
        let connecting = Arc::new(Semaphore::new(512));
        let all_open = Arc::new(Barrier::new(CONNECTIONS));
        let clients: Vec<_> = (0..CONNECTIONS)
            .map(|i| {
                let connecting = connecting.clone();
                let all_open = all_open.clone();
                spindle::spawn(async move {
                    let mut stream = {
                        let _permit = connecting.acquire().await;
                        TcpStream::connect(addr).await.unwrap()
                    };
                    all_open.wait().await;
                    let msg = format!("message {i}");
                    stream.write_all(msg.as_bytes()).await.unwrap();
                    let mut back = vec![0u8; msg.len()];
                    stream.read_exact(&mut back).await.unwrap();
                    back == msg.as_bytes()
                })
            })
            .collect();
        let mut echoed = 0;
        for client in clients {
            echoed += usize::from(client.await.unwrap());
        }
        echoed
    });
    assert_eq!(echoed, CONNECTIONS);
    // Keep reading to the end: the child's harness writes its summary to this pipe.
    let rest: Vec<String> = server_output.map(|line| line.unwrap()).collect();
    assert!(
        server.wait().unwrap().success(),
        "the server process failed: {rest:?}"
    );
}
