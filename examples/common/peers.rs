//! Throwaway real servers for the examples and their tests: a `redis-server` or a `mariadbd`
//! on a free loopback port, owned by a [`Peer`] that kills it (and removes its data dir) on
//! drop. Starting one blocks until it answers, so call these from `spawn_blocking` or
//! outside the runtime.
//!
//! Shared by the examples (which say how to install a missing binary and carry on) and by
//! `tests/peers` (which fails instead: a test against a real peer must never skip quietly).

use std::fmt;
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

/// Why a peer could not be started.
#[derive(Debug)]
pub enum PeerError {
    /// The server binary is not on this machine.
    Missing {
        binary: &'static str,
        package: &'static str,
    },
    /// It is installed but did not come up.
    Failed {
        binary: &'static str,
        reason: String,
    },
}

impl fmt::Display for PeerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PeerError::Missing { binary, package } => write!(
                f,
                "`{binary}` is not installed: run `sudo bash scripts/install-peers.sh` \
                 (or `apt-get install -y {package}`)"
            ),
            PeerError::Failed { binary, reason } => write!(f, "`{binary}` did not start: {reason}"),
        }
    }
}

impl std::error::Error for PeerError {}

impl From<PeerError> for io::Error {
    fn from(err: PeerError) -> io::Error {
        let kind = match err {
            PeerError::Missing { .. } => io::ErrorKind::NotFound,
            PeerError::Failed { .. } => io::ErrorKind::Other,
        };
        io::Error::new(kind, err.to_string())
    }
}

/// A running server process. Dropping it kills the process and deletes its temp dir.
#[derive(Debug)]
pub struct Peer {
    child: Child,
    port: u16,
    dir: PathBuf,
}

impl Peer {
    pub fn addr(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.port))
    }

    pub fn port(&self) -> u16 {
        self.port
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Finds a binary on PATH, or in the sbin directories Debian puts `mariadbd` in (not on a
/// normal user's PATH).
pub fn find_binary(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin", "/usr/local/sbin", "/sbin"].map(PathBuf::from))
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file())
}

/// A port nobody listens on right now. Another process may take it before the server binds
/// it, so the callers retry with a fresh port when the server exits early.
pub fn free_port() -> io::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// A fresh, empty directory under the system temp dir.
pub fn temp_dir(label: &str) -> io::Result<PathBuf> {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    let dir = std::env::temp_dir().join(format!(
        "spindle-{label}-{}-{nanos}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}

/// Starts `redis-server` on a free loopback port with persistence off, and waits until it
/// answers PING.
pub fn redis() -> Result<Peer, PeerError> {
    const BINARY: &str = "redis-server";
    let binary = find_binary(BINARY).ok_or(PeerError::Missing {
        binary: BINARY,
        package: "redis-server",
    })?;
    start_with_retries(BINARY, "redis", |port, dir| {
        let child = Command::new(&binary)
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no", "--daemonize", "no"])
            .arg("--dir")
            .arg(dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()?;
        Ok((
            child,
            Duration::from_secs(10),
            redis_answers as fn(SocketAddr) -> bool,
        ))
    })
}

/// Starts a throwaway `mariadbd` on a free loopback port in a temp data dir, with grant
/// tables off (any user, no password: it only listens on 127.0.0.1 and lives for one run),
/// and waits until it sends its handshake.
pub fn mariadb() -> Result<Peer, PeerError> {
    const BINARY: &str = "mariadbd";
    let server = find_binary(BINARY).ok_or(PeerError::Missing {
        binary: BINARY,
        package: "mariadb-server",
    })?;
    let install_db = find_binary("mariadb-install-db");
    start_with_retries(BINARY, "mariadb", |port, dir| {
        let data = dir.join("data");
        // The system tables are not needed with --skip-grant-tables, but the server logs
        // less and behaves like a normal install with them; skip them if the tool is absent.
        if let Some(install_db) = &install_db {
            let status = Command::new(install_db)
                .arg("--no-defaults")
                .arg(format!("--datadir={}", data.display()))
                .args(["--user=root", "--auth-root-authentication-method=normal"])
                .arg("--skip-test-db")
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()?;
            if !status.success() {
                return Err(io::Error::other(format!(
                    "mariadb-install-db exited with {status}"
                )));
            }
        } else {
            std::fs::create_dir_all(&data)?;
        }
        let log = std::fs::File::create(dir.join("server.log"))?;
        let child = Command::new(&server)
            .arg("--no-defaults")
            .arg(format!("--datadir={}", data.display()))
            .arg(format!("--socket={}", dir.join("mysqld.sock").display()))
            .arg(format!("--pid-file={}", dir.join("mysqld.pid").display()))
            .arg(format!("--port={port}"))
            .args([
                "--bind-address=127.0.0.1",
                "--user=root",
                "--skip-grant-tables",
            ])
            .args(["--skip-log-bin", "--innodb-buffer-pool-size=16M"])
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()?;
        Ok((
            child,
            Duration::from_secs(30),
            mysql_answers as fn(SocketAddr) -> bool,
        ))
    })
}

type Launch = (Child, Duration, fn(SocketAddr) -> bool);

fn start_with_retries(
    binary: &'static str,
    label: &str,
    mut launch: impl FnMut(u16, &Path) -> io::Result<Launch>,
) -> Result<Peer, PeerError> {
    let failed = |reason: String| PeerError::Failed { binary, reason };
    let mut last = String::new();
    // A lost race for the free port makes the server exit at once; three tries make that
    // vanishingly rare without hiding a server that cannot start at all.
    for _ in 0..3 {
        let port = free_port().map_err(|e| failed(format!("no free port: {e}")))?;
        let dir = temp_dir(label).map_err(|e| failed(format!("no temp dir: {e}")))?;
        let (child, patience, answers) = launch(port, &dir).map_err(|e| failed(e.to_string()))?;
        let mut peer = Peer { child, port, dir };
        let deadline = Instant::now() + patience;
        loop {
            if answers(peer.addr()) {
                return Ok(peer);
            }
            if let Ok(Some(status)) = peer.child.try_wait() {
                last = format!("exited with {status} on port {port}");
                let log = std::fs::read_to_string(peer.dir.join("server.log")).unwrap_or_default();
                if let Some(line) = log.lines().rev().find(|l| l.contains("ERROR")) {
                    last = format!("{last}: {line}");
                }
                break;
            }
            if Instant::now() > deadline {
                return Err(failed(format!(
                    "no answer on port {port} after {patience:?}"
                )));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
    Err(failed(last))
}

fn redis_answers(addr: SocketAddr) -> bool {
    let attempt = || -> io::Result<bool> {
        let mut stream = TcpStream::connect_timeout(&addr, Duration::from_millis(200))?;
        stream.set_read_timeout(Some(Duration::from_secs(1)))?;
        stream.write_all(b"PING\r\n")?;
        let mut reply = [0u8; 7];
        stream.read_exact(&mut reply)?;
        Ok(&reply == b"+PONG\r\n")
    };
    attempt().unwrap_or(false)
}

fn mysql_answers(addr: SocketAddr) -> bool {
    // The server speaks first: a packet header (3-byte length, sequence 0), then protocol
    // version 10. Seeing that means it accepts connections.
    let attempt = || -> io::Result<bool> {
        let mut stream = TcpStream::connect_timeout(&addr, Duration::from_millis(200))?;
        stream.set_read_timeout(Some(Duration::from_secs(2)))?;
        let mut head = [0u8; 5];
        stream.read_exact(&mut head)?;
        Ok(head[3] == 0 && head[4] == 10)
    };
    attempt().unwrap_or(false)
}
