//! mini_redis: a Redis-protocol (RESP2) server on Spindle's public API, enough of Redis for
//! `redis-cli` and `redis-benchmark`: strings with expiry, hashes, lists, counters.
//!
//! One task per connection reads what the client sent, runs every complete command in it
//! (pipelining), and writes all their replies in one write. Every per-connection buffer is
//! capped ([`Config`]): a client that sends garbage, announces a huge request, stalls half way
//! through one, or stops reading its replies costs a bounded amount of memory and loses its
//! connection; every other client is served meanwhile.
//!
//! Used by `examples/mini_redis.rs` (the server binary), the `redis` example (when no real
//! `redis-server` is installed) and `tests/mini_redis.rs`.

use std::future::Future;
use std::io;
use std::net::{SocketAddr, ToSocketAddrs};
use std::pin::pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::Poll;
use std::time::Duration;

use futures::channel::oneshot;
use futures::future::{Either, FutureExt, Shared, select};
use futures::{AsyncReadExt, AsyncWriteExt};
use spindle::net::{TcpListener, TcpStream};
use spindle::task::{JoinHandle, JoinSet};
use spindle::time::Instant;

#[path = "mini_redis/commands.rs"]
mod commands;
#[path = "mini_redis/db.rs"]
pub mod db;
#[path = "resp_frame.rs"]
pub mod frame;

use commands::After;
use db::Db;
use frame::{Limits, Mode, Parser, Value};

/// The server's caps and timeouts. The defaults suit a server on loopback; the tests shrink
/// them to see each cap hit quickly.
#[derive(Clone, Debug)]
pub struct Config {
    /// Per-frame caps (bulk length, array length, header line length).
    pub limits: Limits,
    /// Most bytes of unfinished requests one connection may hold. A request bigger than this
    /// (or garbage that never ends) closes the connection with an error reply.
    pub max_request_buffer: usize,
    /// Replies are written once this many bytes of them are waiting, before more commands
    /// run: a client that pipelines faster than it reads holds at most this much (plus one
    /// reply) in the server, and while its replies wait, nothing more is read from it.
    pub max_reply_buffer: usize,
    /// Most connections at once; more are answered with an error and closed (Redis's
    /// `maxclients`).
    pub max_clients: usize,
    /// Close a connection that sends nothing for this long (Redis's `timeout`; off by
    /// default, as in Redis).
    pub idle_timeout: Option<Duration>,
    /// Close a connection that starts a request and sends no more of it for this long.
    pub stalled_request_timeout: Duration,
    /// Close a connection whose replies make no progress for this long (it stopped
    /// reading).
    pub write_timeout: Duration,
    /// How often the sweeper drops expired keys nobody read.
    pub sweep_interval: Duration,
    /// How long shutdown waits for connections to finish their current batch.
    pub grace: Duration,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            limits: Limits::REQUEST,
            max_request_buffer: 64 << 20,
            max_reply_buffer: 4 << 20,
            max_clients: 10_000,
            idle_timeout: None,
            stalled_request_timeout: Duration::from_secs(30),
            write_timeout: Duration::from_secs(30),
            sweep_interval: Duration::from_millis(100),
            grace: Duration::from_secs(2),
        }
    }
}

/// Counters for the operator and the tests; peaks are high-water marks since start.
#[derive(Debug, Default)]
pub struct Stats {
    pub accepted: AtomicUsize,
    pub open: AtomicUsize,
    pub commands: AtomicUsize,
    /// Connections closed for a protocol error or an oversized request.
    pub protocol_errors: AtomicUsize,
    /// Connections closed by a timeout (idle, stalled request, unread replies).
    pub timeouts: AtomicUsize,
    /// Connections refused because `max_clients` were open.
    pub rejected: AtomicUsize,
    /// The most request bytes one connection held at once.
    pub peak_request_buffer: AtomicUsize,
    /// The most reply bytes one connection held at once.
    pub peak_reply_buffer: AtomicUsize,
    /// Expired keys the sweeper dropped.
    pub swept: AtomicUsize,
}

impl Stats {
    pub fn get(counter: &AtomicUsize) -> usize {
        counter.load(Ordering::Relaxed)
    }
}

/// What every connection shares.
#[derive(Debug)]
struct State {
    config: Config,
    db: Mutex<Db>,
    stats: Arc<Stats>,
}

impl State {
    fn db(&self) -> MutexGuard<'_, Db> {
        // A panic while holding the lock is a bug in a command; the data is still usable.
        self.db
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

type Stop = Shared<oneshot::Receiver<()>>;

/// A running server. Dropping it stops the server (gracefully, in the background).
#[derive(Debug)]
pub struct Server {
    pub addr: SocketAddr,
    stats: Arc<Stats>,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl Server {
    /// Binds `addr` and serves on tasks of the current runtime.
    pub async fn start(addr: impl ToSocketAddrs, config: Config) -> io::Result<Server> {
        let listener = TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let stats = Arc::new(Stats::default());
        let (stop, stopped) = oneshot::channel();
        let task = spindle::spawn(serve(listener, config, stats.clone(), stopped.shared()));
        Ok(Server {
            addr,
            stats,
            stop: Some(stop),
            task: Some(task),
        })
    }

    pub fn stats(&self) -> &Stats {
        &self.stats
    }

    /// Stops accepting, lets each connection finish the batch it is running (up to
    /// `Config::grace`), closes them all, and waits until that is done.
    pub async fn shutdown(mut self) {
        drop(self.stop.take());
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        // Dropping the sender resolves the stop signal: the serve task winds down by itself.
        drop(self.stop.take());
    }
}

/// Starts a server with the default config on a free loopback port, on the current runtime.
pub async fn start_in_process() -> io::Result<Server> {
    Server::start("127.0.0.1:0", Config::default()).await
}

/// Waits for the next connection, or for `stop`: `None` once `stop` resolves. An accept error
/// (out of file descriptors, say) is reported under `who` and followed by a short back-off;
/// the server keeps serving. The `web` example's accept loop uses it too.
pub async fn accept_until<S>(listener: &TcpListener, stop: &mut S, who: &str) -> Option<TcpStream>
where
    S: std::future::Future + Unpin,
{
    loop {
        let accepted = match select(pin!(listener.accept()), &mut *stop).await {
            Either::Left((accepted, _)) => accepted,
            Either::Right(_) => return None,
        };
        match accepted {
            Ok((stream, _)) => return Some(stream),
            Err(err) => {
                eprintln!("{who}: accept failed: {err}");
                spindle::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
}

/// Accepts connections until `stop` resolves, then shuts down gracefully.
async fn serve(listener: TcpListener, config: Config, stats: Arc<Stats>, mut stop: Stop) {
    let shared = Arc::new(State {
        config,
        db: Mutex::new(Db::default()),
        stats,
    });
    let sweeper = spindle::spawn(sweep(shared.clone(), stop.clone()));
    let mut connections = JoinSet::new();
    while let Some(stream) = accept_until(&listener, &mut stop, "mini_redis").await {
        // Forget connections that have finished, so the set only holds live ones.
        while connections.try_join_next().is_some() {}
        let stats = &shared.stats;
        stats.accepted.fetch_add(1, Ordering::Relaxed);
        if connections.len() >= shared.config.max_clients {
            stats.rejected.fetch_add(1, Ordering::Relaxed);
            connections.spawn(async move {
                let mut stream = stream;
                let _ = stream
                    .write_all(b"-ERR max number of clients reached\r\n")
                    .await;
            });
            continue;
        }
        let _ = stream.set_nodelay(true);
        connections.spawn(Connection::new(stream, shared.clone()).run(stop.clone()));
    }
    drop(listener);
    let drain = async { while connections.join_next().await.is_some() {} };
    if spindle::time::timeout(shared.config.grace, drain)
        .await
        .is_err()
    {
        connections.abort_all();
    }
    let _ = sweeper.await;
}

/// Drops expired keys that nobody reads: sleeps until the soonest deadline, but at most one
/// sweep interval (a key set meanwhile may have an earlier one), and purges in slices so
/// the lock is never held long.
async fn sweep(shared: Arc<State>, mut stop: Stop) {
    const SLICE: usize = 10_000;
    loop {
        let now = Instant::now();
        let (purged, next) = {
            let mut db = shared.db();
            (db.purge_expired(now, SLICE), db.next_deadline())
        };
        shared.stats.swept.fetch_add(purged, Ordering::Relaxed);
        let cap = now + shared.config.sweep_interval;
        let wake = match next {
            _ if purged == SLICE => now,
            Some(at) => at.min(cap),
            None => cap,
        };
        let sleep = pin!(spindle::time::sleep_until(wake));
        if let Either::Right(_) = select(sleep, &mut stop).await {
            return;
        }
    }
}

/// Why a connection ended early.
enum Close {
    /// The client sent something that is not a request: reply with this error, then close.
    Protocol(String),
    Timeout,
    Io,
}

/// One client's connection: its socket, what it sent that is not parsed yet, and the
/// replies not written yet.
struct Connection {
    stream: TcpStream,
    shared: Arc<State>,
    parser: Parser,
    input: Vec<u8>,
    out: Vec<u8>,
}

/// Bytes asked of each read.
const READ_CHUNK: usize = 16 << 10;
/// Buffers that grew past this for one big request are shrunk back when it is done, so a
/// thousand connections that each once sent a big value do not keep its memory.
const KEEP_CAPACITY: usize = 256 << 10;

impl Connection {
    fn new(stream: TcpStream, shared: Arc<State>) -> Connection {
        Connection {
            stream,
            parser: Parser::new(Mode::Request, shared.config.limits),
            shared,
            input: Vec::with_capacity(READ_CHUNK),
            out: Vec::with_capacity(READ_CHUNK),
        }
    }

    async fn run(mut self, mut stop: Stop) {
        let stats = self.shared.stats.clone();
        stats.open.fetch_add(1, Ordering::Relaxed);
        let ended = self.serve(&mut stop).await;
        match ended {
            Ok(()) => {}
            Err(Close::Protocol(message)) => {
                stats.protocol_errors.fetch_add(1, Ordering::Relaxed);
                self.out.clear();
                frame::write_error(&mut self.out, &format!("ERR {message}"));
                let _ = self.flush().await;
            }
            Err(Close::Timeout) => {
                stats.timeouts.fetch_add(1, Ordering::Relaxed);
            }
            Err(Close::Io) => {}
        }
        let _ = self.stream.close().await;
        stats.open.fetch_sub(1, Ordering::Relaxed);
    }

    /// Reads, runs and replies until the client hangs up, QUIT, an error, or `stop`.
    async fn serve(&mut self, stop: &mut Stop) -> Result<(), Close> {
        loop {
            if !self.read(stop).await? {
                return Ok(());
            }
            let after = match self.run_commands().await {
                // Replies to the commands before a bad frame go out before its error.
                Err(Close::Protocol(message)) => {
                    self.flush().await?;
                    return Err(Close::Protocol(message));
                }
                // A write that failed or timed out is not tried again.
                other => other?,
            };
            self.flush().await?;
            if after == After::Close {
                return Ok(());
            }
            let held = self.input.len() + self.parser.held_bytes();
            let stats = &self.shared.stats;
            stats.peak_request_buffer.fetch_max(held, Ordering::Relaxed);
            if held > self.shared.config.max_request_buffer {
                return Err(Close::Protocol(format!(
                    "Protocol error: request is bigger than the {} bytes a connection may buffer",
                    self.shared.config.max_request_buffer
                )));
            }
        }
    }

    /// Reads what the client sent into `input`; `false` when it hung up or `stop` came.
    async fn read(&mut self, stop: &mut Stop) -> Result<bool, Close> {
        let config = &self.shared.config;
        let deadline = if self.input.is_empty() && !self.parser.in_frame() {
            config.idle_timeout
        } else {
            Some(config.stalled_request_timeout)
        };
        let start = self.input.len();
        self.input.resize(start + READ_CHUNK, 0);
        let outcome = {
            let mut read = pin!(self.stream.read(&mut self.input[start..]));
            // The stop signal is looked at only when the read has to wait: a busy connection
            // finishes what it has first.
            let read_or_stop = std::future::poll_fn(|cx| match read.as_mut().poll(cx) {
                Poll::Ready(result) => Poll::Ready(Some(result)),
                Poll::Pending => match stop.poll_unpin(cx) {
                    Poll::Ready(_) => Poll::Ready(None),
                    Poll::Pending => Poll::Pending,
                },
            });
            match deadline {
                None => Ok(read_or_stop.await),
                Some(limit) => spindle::time::timeout(limit, read_or_stop).await,
            }
        };
        let n = match outcome {
            Ok(Some(Ok(n))) => n,
            Ok(None) => 0,
            Ok(Some(Err(_))) => {
                self.input.truncate(start);
                return Err(Close::Io);
            }
            Err(_elapsed) => {
                self.input.truncate(start);
                return Err(Close::Timeout);
            }
        };
        self.input.truncate(start + n);
        Ok(n > 0)
    }

    /// Runs every complete command in `input`, writing replies out whenever more than
    /// `max_reply_buffer` of them are waiting.
    async fn run_commands(&mut self) -> Result<After, Close> {
        let mut used = 0;
        let result = loop {
            let parsed = match self.parser.parse(&self.input[used..]) {
                Ok(parsed) => parsed,
                Err(err) => break Err(Close::Protocol(err.0)),
            };
            used += parsed.consumed;
            let Some(Value::Array(Some(items))) = parsed.frame else {
                break Ok(After::Continue);
            };
            if items.is_empty() {
                continue;
            }
            let args: Vec<Vec<u8>> = items
                .into_iter()
                .map(|item| match item {
                    Value::Bulk(Some(bytes)) => bytes,
                    _ => unreachable!("request frames hold bulk strings only"),
                })
                .collect();
            let after = {
                let now = Instant::now();
                let mut db = self.shared.db();
                commands::execute(&mut db, now, &args, &mut self.out)
            };
            self.shared.stats.commands.fetch_add(1, Ordering::Relaxed);
            if after == After::Close {
                break Ok(After::Close);
            }
            if self.out.len() >= self.shared.config.max_reply_buffer {
                if let Err(close) = self.flush().await {
                    break Err(close);
                }
            }
        };
        self.input.drain(..used);
        if self.input.capacity() > KEEP_CAPACITY && self.input.len() < KEEP_CAPACITY / 2 {
            self.input.shrink_to(KEEP_CAPACITY / 2);
        }
        result
    }

    /// Writes every waiting reply. The write is tried at once; only if the socket is full is
    /// a timer set, so a client that reads its replies costs no timer per batch.
    async fn flush(&mut self) -> Result<(), Close> {
        let stats = &self.shared.stats;
        stats
            .peak_reply_buffer
            .fetch_max(self.out.len(), Ordering::Relaxed);
        let mut written = 0;
        while written < self.out.len() {
            let pending = &self.out[written..];
            let n = match self.stream.write(pending).now_or_never() {
                Some(result) => result,
                None => spindle::time::timeout(
                    self.shared.config.write_timeout,
                    self.stream.write(pending),
                )
                .await
                .map_err(|_| Close::Timeout)?,
            };
            match n {
                Ok(0) | Err(_) => return Err(Close::Io),
                Ok(n) => written += n,
            }
        }
        self.out.clear();
        if self.out.capacity() > KEEP_CAPACITY {
            self.out.shrink_to(KEEP_CAPACITY / 2);
        }
        Ok(())
    }
}

/// Resolves on the first SIGINT or SIGTERM after this call. The handler only writes a byte
/// to a socket pair (the self-pipe trick); the reactor wakes us when it is readable. Call it
/// inside the runtime.
pub fn shutdown_signal() -> io::Result<impl Future<Output = io::Result<()>>> {
    use signal_hook::consts::{SIGINT, SIGTERM};
    let (read, write) = std::os::unix::net::UnixStream::pair()?;
    read.set_nonblocking(true)?;
    write.set_nonblocking(true)?;
    let ids = [
        signal_hook::low_level::pipe::register(SIGINT, write.try_clone()?)?,
        signal_hook::low_level::pipe::register(SIGTERM, write)?,
    ];
    let read = spindle::io::Async::new(read)?;
    Ok(async move {
        let mut byte = [0u8; 1];
        let result = AsyncReadExt::read(&mut &read, &mut byte).await;
        for id in ids {
            signal_hook::low_level::unregister(id);
        }
        result.map(drop)
    })
}
