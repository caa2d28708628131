//! `Async<T>` over plain Unix socket pairs and a TCP pair, `IoSafe`, and the driver's lifecycle.

// Not a library: `pub` items here are shared with the tests through `#[path]` modules,
// so the workspace's API lints (missing_docs, unreachable_pub, missing Debug) do not apply.
#![allow(missing_docs, unreachable_pub, missing_debug_implementations)]
#![cfg(not(loom))]

mod common;

use std::io::{self, Read, Write};
use std::os::unix::net::UnixStream;
use std::time::Duration;

use common::{block_on, poll_once};
use futures_util::io::{AsyncReadExt, AsyncWriteExt};
use spindle_executor::park::Park;
use spindle_io::{Async, Driver};

/// Far longer than any park here should take: past it, a wake-up was lost.
const LOST: Duration = Duration::from_secs(10);

/// Runs `parks` (a `park(None)` that must end) on a helper thread and waits for it at most
/// [`LOST`], so a lost wake-up fails the test instead of hanging it (the helper stays parked).
/// The `block_on` tests need no such bound: `common::block_on` has its own watchdog.
fn within_bound<T: Send + 'static>(what: &str, parks: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(parks());
    });
    match rx.recv_timeout(LOST) {
        Ok(out) => out,
        Err(_) => panic!("{what}: still blocked after {LOST:?}, a wake-up was lost"),
    }
}

#[test]
fn readiness_on_a_unix_stream_pair() {
    block_on(async {
        let (a, b) = UnixStream::pair().unwrap();
        let (a, b) = (Async::new(a).unwrap(), Async::new(b).unwrap());

        let mut readable = Box::pin(a.readable());
        assert!(poll_once(&mut readable).is_pending(), "nothing sent yet");
        drop(readable);
        a.writable().await.unwrap();

        b.write_with(|mut s| s.write(b"ping")).await.unwrap();
        a.readable().await.unwrap();
        let mut buf = [0; 4];
        let n = a.read_with(|mut s| s.read(&mut buf)).await.unwrap();
        assert_eq!(&buf[..n], b"ping");

        // Drained: the next read waits until more comes, and then sees it.
        let read = async {
            let mut buf = [0; 4];
            let n = a.read_with(|mut s| s.read(&mut buf)).await.unwrap();
            buf[..n].to_vec()
        };
        let write = async {
            common::yield_now().await;
            b.write_with(|mut s| s.write(b"pong")).await.unwrap();
        };
        let (got, ()) = futures_util::future::join(read, write).await;
        assert_eq!(got, b"pong");
    });
}

#[test]
fn async_read_and_write_impls() {
    block_on(async {
        let (a, b) = UnixStream::pair().unwrap();
        let (mut a, b) = (Async::new(a).unwrap(), Async::new(b).unwrap());
        (&b).write_all(b"by reference").await.unwrap();
        let mut buf = [0; 12];
        a.read_exact(&mut buf).await.unwrap();
        assert_eq!(&buf, b"by reference");
        a.write_all(b"by value").await.unwrap();
        let mut buf = [0; 8];
        (&b).read_exact(&mut buf).await.unwrap();
        assert_eq!(&buf, b"by value");
        let a = a.into_inner().unwrap();
        drop(b);
        let mut rest = Vec::new();
        // Still non-blocking, and the peer is gone: EOF at once.
        (&a).read_to_end(&mut rest).unwrap();
        assert!(rest.is_empty());
    });
}

#[test]
fn many_waiters_in_both_directions() {
    block_on(async {
        let (a, b) = UnixStream::pair().unwrap();
        let (a, b) = (Async::new(a).unwrap(), Async::new(b).unwrap());
        let readers = futures_util::future::join_all((0..10).map(|_| a.readable()));
        let writers = futures_util::future::join_all((0..10).map(|_| a.writable()));
        let poke = async {
            common::yield_now().await;
            b.write_with(|mut s| s.write(b"x")).await.unwrap();
        };
        let (r, w, ()) = futures_util::future::join3(readers, writers, poke).await;
        assert!(r.into_iter().chain(w).all(|x| x.is_ok()));
    });
}

#[test]
fn shutdown_wakes_waiters_and_fails_them() {
    let (mut driver, handle) = Driver::new().unwrap();
    let _enter = handle.enter();
    let (a, _b) = UnixStream::pair().unwrap();
    let a = Async::new(a).unwrap();
    let mut readable = Box::pin(a.readable());
    assert!(poll_once(&mut readable).is_pending());
    driver.shutdown();
    let err = match poll_once(&mut readable) {
        std::task::Poll::Ready(result) => result.unwrap_err(),
        std::task::Poll::Pending => panic!("still waiting after shutdown"),
    };
    assert!(err.to_string().contains("shut down"), "{err}");
    let (c, _d) = UnixStream::pair().unwrap();
    let err = Async::new(c).unwrap_err();
    assert!(err.to_string().contains("shut down"), "{err}");
    // Park after shutdown returns at once rather than blocking forever.
    let _driver = within_bound("park(None) after shutdown", move || {
        driver.park(None);
        driver
    });
}

#[test]
fn a_dropped_source_leaves_no_stale_event_for_its_successor() {
    let (mut driver, handle) = Driver::new().unwrap();
    let _enter = handle.enter();
    for _ in 0..20 {
        let (a, b) = UnixStream::pair().unwrap();
        let a = Async::new(a).unwrap();
        // An event for `a` is queued in the kernel but not yet dispatched...
        (&b).write_all(b"stale").unwrap();
        drop(a);
        drop(b);
        // ...and the next source very likely reuses its fd number and slab index.
        let (c, _d) = UnixStream::pair().unwrap();
        let c = Async::new(c).unwrap();
        driver.park(Some(Duration::ZERO));
        let mut readable = Box::pin(c.readable());
        assert!(
            poll_once(&mut readable).is_pending(),
            "the new source saw the old one's readiness"
        );
    }
}

#[test]
fn enter_guards_nest_and_restore() {
    assert!(spindle_io::Handle::try_current().is_err());
    let (_d1, h1) = Driver::new().unwrap();
    let (_d2, h2) = Driver::new().unwrap();
    let g1 = h1.enter();
    {
        let _g2 = h2.enter();
        assert!(spindle_io::Handle::try_current().is_ok());
    }
    assert!(spindle_io::Handle::try_current().is_ok());
    drop(g1);
    let err = spindle_io::Handle::try_current().unwrap_err();
    assert!(
        err.to_string()
            .contains("must be called from inside a Spindle runtime")
    );
}

#[test]
fn unpark_before_park_is_remembered() {
    let (mut driver, _handle) = Driver::new().unwrap();
    driver.unparker().unpark();
    // Would block forever if the notification were lost.
    let mut driver = within_bound("park(None) after an unpark", move || {
        driver.park(None);
        driver
    });
    let unparker = driver.unparker();
    let t = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(20));
        unparker.unpark();
    });
    let _driver = within_bound("park(None) unparked from another thread", move || {
        driver.park(None);
        driver
    });
    t.join().unwrap();
}

#[test]
fn into_inner_on_a_pipe_like_source() -> io::Result<()> {
    block_on(async {
        let (a, _b) = UnixStream::pair()?;
        let a = Async::new(a)?;
        let std = a.into_inner()?;
        // Registered again elsewhere: deregistration really removed it from the poller.
        let again = Async::new(std)?;
        again.writable().await
    })
}

#[test]
fn tcp_stream_by_value_and_by_reference() -> io::Result<()> {
    block_on(async {
        let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
        let client = std::net::TcpStream::connect(listener.local_addr()?)?;
        let (server, _) = listener.accept()?;
        let (mut client, mut server) = (Async::new(client)?, Async::new(server)?);

        // By value: `Async<TcpStream>` is `AsyncRead + AsyncWrite` since `TcpStream: IoSafe`.
        client.write_all(b"by value").await?;
        client.flush().await?;
        let mut buf = [0; 8];
        server.read_exact(&mut buf).await?;
        assert_eq!(&buf, b"by value");

        // By reference: `&Async<TcpStream>` goes through `&TcpStream`, for any source.
        (&server).write_all(b"by reference").await?;
        let mut buf = [0; 12];
        (&client).read_exact(&mut buf).await?;
        assert_eq!(&buf, b"by reference");

        // A larger transfer in both styles at once, so both sides hit `WouldBlock` and wait.
        let payload: Vec<u8> = (0..1 << 20).map(|i| (i % 251) as u8).collect();
        let write = async {
            client.write_all(&payload).await?;
            client.get_ref().shutdown(std::net::Shutdown::Write)
        };
        let read = async {
            let mut got = Vec::new();
            (&server).read_to_end(&mut got).await?;
            io::Result::Ok(got)
        };
        let (written, got) = futures_util::future::join(write, read).await;
        written?;
        assert!(got? == payload, "the bytes arrived changed");
        Ok(())
    })
}

#[test]
fn io_safe_wrappers_read_and_write_by_value() -> io::Result<()> {
    block_on(async {
        // `Box<T>` for `T: IoSafe`.
        let (a, b) = UnixStream::pair()?;
        let (mut a, mut b) = (Async::new(Box::new(a))?, Async::new(Box::new(b))?);
        a.write_all(b"boxed").await?;
        let mut buf = [0; 5];
        b.read_exact(&mut buf).await?;
        assert_eq!(&buf, b"boxed");

        // `&T` for any `T`: the source outlives the `Async` that borrows it.
        let (c, d) = UnixStream::pair()?;
        {
            let (mut c, mut d) = (Async::new(&c)?, Async::new(&d)?);
            c.write_all(b"borrowed").await?;
            let mut buf = [0; 8];
            d.read_exact(&mut buf).await?;
            assert_eq!(&buf, b"borrowed");
        }
        // Deregistered, still open, registrable again.
        let c = Async::new(c)?;
        c.writable().await?;

        // `Arc<T>`: `Arc<File>` is `Read + Write` through `&File`.
        let (e, f) = UnixStream::pair()?;
        let e = std::sync::Arc::new(std::fs::File::from(std::os::fd::OwnedFd::from(e)));
        let mut e = Async::new(e)?;
        let f = Async::new(f)?;
        e.write_all(b"shared").await?;
        let mut buf = [0; 6];
        (&f).read_exact(&mut buf).await?;
        assert_eq!(&buf, b"shared");
        (&f).write_all(b"back").await?;
        let mut buf = [0; 4];
        e.read_exact(&mut buf).await?;
        assert_eq!(&buf, b"back");
        Ok(())
    })
}

#[test]
fn unsafe_mut_accessors_keep_working() -> io::Result<()> {
    block_on(async {
        let (a, b) = UnixStream::pair()?;
        let (mut a, mut b) = (Async::new(a)?, Async::new(b)?);
        // SAFETY: `write` through `&mut UnixStream` neither replaces nor closes the stream.
        let n = unsafe { a.write_with_mut(|s| s.write(b"mut")) }.await?;
        assert_eq!(n, 3);
        let mut buf = [0; 3];
        // SAFETY: `read_exact` through `&mut UnixStream` neither replaces nor closes the
        // stream; a short socket-pair message arrives whole.
        unsafe { b.read_with_mut(|s| s.read_exact(&mut buf)) }.await?;
        assert_eq!(&buf, b"mut");
        // SAFETY: `set_nonblocking` keeps the same descriptor open.
        unsafe { a.get_mut() }.set_nonblocking(true)?;
        Ok(())
    })
}
