//! A small async Redis client speaking RESP2 over `spindle::net::TcpStream`: single
//! commands, pipelines, a few typed helpers (`GET`/`SET`/`HSET`/`HGETALL`/`INCR`) and a
//! bounded connection pool. What aioredis is to the asyncio tutorial's Redis section.

use std::collections::BTreeMap;
use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::ops::{Deref, DerefMut};

use futures::channel::mpsc;
use futures::lock::Mutex;
use futures::{AsyncReadExt, AsyncWriteExt, StreamExt};
use spindle::net::TcpStream;

// The framing is shared with the `mini_redis` server.
#[path = "resp_frame.rs"]
pub mod frame;

pub use frame::Value;

/// What went wrong talking to Redis.
#[derive(Debug)]
pub enum Error {
    /// The socket failed (connect refused, reset, ...).
    Io(io::Error),
    /// The server closed the connection before a whole reply arrived.
    Closed { pending_bytes: usize },
    /// The bytes received are not RESP.
    Malformed(String),
    /// The server answered with an error reply (`-ERR ...`).
    Server(String),
    /// A well-formed reply of a type the command does not return.
    UnexpectedReply { command: &'static str, got: Value },
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Io(err) => write!(f, "redis connection failed: {err}"),
            Error::Closed { pending_bytes: 0 } => {
                write!(f, "redis server closed the connection before replying")
            }
            Error::Closed { pending_bytes } => write!(
                f,
                "redis server closed the connection in the middle of a reply \
                 ({pending_bytes} bytes of it received)"
            ),
            Error::Malformed(what) => write!(f, "malformed RESP reply from redis: {what}"),
            Error::Server(msg) => write!(f, "redis error reply: {msg}"),
            Error::UnexpectedReply { command, got } => {
                write!(f, "unexpected reply to {command}: {got:?}")
            }
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Io(err) => Some(err),
            _ => None,
        }
    }
}

impl From<io::Error> for Error {
    fn from(err: io::Error) -> Error {
        Error::Io(err)
    }
}

impl From<Error> for io::Error {
    fn from(err: Error) -> io::Error {
        let kind = match &err {
            Error::Io(inner) => inner.kind(),
            Error::Closed { .. } => io::ErrorKind::UnexpectedEof,
            Error::Malformed(_) | Error::UnexpectedReply { .. } => io::ErrorKind::InvalidData,
            Error::Server(_) => io::ErrorKind::Other,
        };
        io::Error::new(kind, err)
    }
}

pub type Result<T> = std::result::Result<T, Error>;

/// Parses one reply from the front of `buf`: `Ok(None)` when more bytes are needed,
/// otherwise the value and how many bytes it used. (`Connection` parses incrementally with a
/// [`frame::Parser`]; this is the stateless form of the same parser.)
pub fn parse(buf: &[u8]) -> Result<Option<(Value, usize)>> {
    frame::parse_reply(buf).map_err(Error::from)
}

/// Encodes one command as a RESP array of bulk strings.
pub fn encode(args: &[&[u8]], out: &mut Vec<u8>) {
    frame::write_command(out, args);
}

impl From<frame::ProtocolError> for Error {
    fn from(err: frame::ProtocolError) -> Error {
        Error::Malformed(err.0)
    }
}

/// One connection to a Redis server.
#[derive(Debug)]
pub struct Connection {
    stream: TcpStream,
    /// Bytes read but not parsed yet.
    buf: Vec<u8>,
    /// The reply parser; it keeps the part of a reply already consumed from `buf`.
    parser: frame::Parser,
    /// Bytes of the current reply consumed into `parser`, for `Error::Closed`.
    frame_bytes: usize,
    /// Set after an IO or protocol error: the stream is out of step with the replies, so
    /// the pool must not hand it out again.
    broken: bool,
}

impl Connection {
    pub async fn connect(addr: SocketAddr) -> Result<Connection> {
        let stream = TcpStream::connect(addr).await?;
        stream.set_nodelay(true)?;
        Ok(Connection {
            stream,
            buf: Vec::with_capacity(4096),
            parser: frame::Parser::new(frame::Mode::Reply, frame::Limits::REPLY),
            frame_bytes: 0,
            broken: false,
        })
    }

    pub fn is_broken(&self) -> bool {
        self.broken
    }

    /// Sends one command and returns its reply; an error reply becomes `Error::Server`.
    pub async fn cmd(&mut self, args: &[&[u8]]) -> Result<Value> {
        let mut replies = self.pipeline(&[args]).await?;
        let reply = replies.pop().expect("one reply per command");
        match reply {
            Value::Error(msg) => Err(Error::Server(msg)),
            value => Ok(value),
        }
    }

    /// Sends every command in one write, then reads one reply per command, in order. Error
    /// replies stay in the result as `Value::Error` so one bad command does not hide the
    /// others' replies.
    pub async fn pipeline(&mut self, commands: &[&[&[u8]]]) -> Result<Vec<Value>> {
        // Broken until the replies are all in: a caller that drops this future half way
        // leaves unread replies on the stream.
        self.broken = true;
        let result = self.pipeline_inner(commands).await;
        self.broken = matches!(
            result,
            Err(Error::Io(_) | Error::Closed { .. } | Error::Malformed(_))
        );
        result
    }

    async fn pipeline_inner(&mut self, commands: &[&[&[u8]]]) -> Result<Vec<Value>> {
        let mut out = Vec::new();
        for args in commands {
            encode(args, &mut out);
        }
        self.stream.write_all(&out).await?;
        let mut replies = Vec::with_capacity(commands.len());
        while replies.len() < commands.len() {
            replies.push(self.read_reply().await?);
        }
        Ok(replies)
    }

    async fn read_reply(&mut self) -> Result<Value> {
        loop {
            let parsed = self.parser.parse(&self.buf)?;
            self.buf.drain(..parsed.consumed);
            if let Some(value) = parsed.frame {
                self.frame_bytes = 0;
                return Ok(value);
            }
            self.frame_bytes += parsed.consumed;
            let mut chunk = [0u8; 4096];
            let n = self.stream.read(&mut chunk).await?;
            if n == 0 {
                return Err(Error::Closed {
                    pending_bytes: self.frame_bytes + self.buf.len(),
                });
            }
            self.buf.extend_from_slice(&chunk[..n]);
        }
    }

    pub async fn ping(&mut self) -> Result<()> {
        match self.cmd(&[b"PING"]).await? {
            Value::Simple(s) if s == "PONG" => Ok(()),
            got => Err(Error::UnexpectedReply {
                command: "PING",
                got,
            }),
        }
    }

    pub async fn set(&mut self, key: &str, value: &str) -> Result<()> {
        match self
            .cmd(&[b"SET", key.as_bytes(), value.as_bytes()])
            .await?
        {
            Value::Simple(s) if s == "OK" => Ok(()),
            got => Err(Error::UnexpectedReply {
                command: "SET",
                got,
            }),
        }
    }

    pub async fn get(&mut self, key: &str) -> Result<Option<String>> {
        match self.cmd(&[b"GET", key.as_bytes()]).await? {
            Value::Bulk(bytes) => Ok(bytes.map(|b| String::from_utf8_lossy(&b).into_owned())),
            got => Err(Error::UnexpectedReply {
                command: "GET",
                got,
            }),
        }
    }

    pub async fn incr(&mut self, key: &str) -> Result<i64> {
        match self.cmd(&[b"INCR", key.as_bytes()]).await? {
            Value::Int(n) => Ok(n),
            got => Err(Error::UnexpectedReply {
                command: "INCR",
                got,
            }),
        }
    }

    /// HSET key field value [field value ...]: returns how many fields were new.
    pub async fn hset(&mut self, key: &str, fields: &[(&str, &str)]) -> Result<i64> {
        let mut args: Vec<&[u8]> = vec![b"HSET", key.as_bytes()];
        for (field, value) in fields {
            args.push(field.as_bytes());
            args.push(value.as_bytes());
        }
        match self.cmd(&args).await? {
            Value::Int(n) => Ok(n),
            got => Err(Error::UnexpectedReply {
                command: "HSET",
                got,
            }),
        }
    }

    pub async fn hgetall(&mut self, key: &str) -> Result<BTreeMap<String, String>> {
        let reply = self.cmd(&[b"HGETALL", key.as_bytes()]).await?;
        let unexpected = |got| Error::UnexpectedReply {
            command: "HGETALL",
            got,
        };
        let Value::Array(Some(items)) = reply else {
            return Err(unexpected(reply));
        };
        if items.len() % 2 != 0 {
            return Err(unexpected(Value::Array(Some(items))));
        }
        let mut map = BTreeMap::new();
        let mut it = items.into_iter();
        while let (Some(k), Some(v)) = (it.next(), it.next()) {
            match (k, v) {
                (Value::Bulk(Some(k)), Value::Bulk(Some(v))) => {
                    map.insert(
                        String::from_utf8_lossy(&k).into_owned(),
                        String::from_utf8_lossy(&v).into_owned(),
                    );
                }
                (k, _) => return Err(unexpected(k)),
            }
        }
        Ok(map)
    }
}

/// A bounded pool of connections to one server: at most `size` open at once; `get` waits
/// when all are in use, reuses an idle one, or opens a new one.
#[derive(Debug)]
pub struct Pool {
    addr: SocketAddr,
    /// Holds one slot per connection the pool may have: `Some` is an idle connection, `None`
    /// a permit to open one. Taking a slot is the wait; giving it back is the release.
    slots: Mutex<mpsc::Receiver<Option<Connection>>>,
    returns: mpsc::Sender<Option<Connection>>,
    size: usize,
}

impl Pool {
    pub fn new(addr: SocketAddr, size: usize) -> Pool {
        assert!(size > 0, "a pool needs room for at least one connection");
        // Capacity is `size` plus one per sender; there are never more than `size` slots
        // in flight, so `try_send` below never finds it full.
        let (mut returns, slots) = mpsc::channel(size);
        for _ in 0..size {
            returns
                .try_send(None)
                .expect("the channel has room for every slot");
        }
        Pool {
            addr,
            slots: Mutex::new(slots),
            returns,
            size,
        }
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn size(&self) -> usize {
        self.size
    }

    /// Waits for a free slot, then hands out a connection (opened on first use).
    pub async fn get(&self) -> Result<PooledConnection<'_>> {
        let slot = {
            let mut slots = self.slots.lock().await;
            slots.next().await.expect("the pool holds its own sender")
        };
        let conn = match slot {
            Some(conn) => conn,
            None => match Connection::connect(self.addr).await {
                Ok(conn) => conn,
                Err(err) => {
                    // Give the permit back, or the pool shrinks by one per failed connect.
                    self.returns.clone().try_send(None).ok();
                    return Err(err);
                }
            },
        };
        Ok(PooledConnection {
            pool: self,
            conn: Some(conn),
        })
    }
}

/// A connection on loan from a [`Pool`]; it goes back when dropped (or is closed, if an
/// error left it out of step with the server).
#[derive(Debug)]
pub struct PooledConnection<'a> {
    pool: &'a Pool,
    conn: Option<Connection>,
}

impl Deref for PooledConnection<'_> {
    type Target = Connection;

    fn deref(&self) -> &Connection {
        self.conn.as_ref().expect("present until drop")
    }
}

impl DerefMut for PooledConnection<'_> {
    fn deref_mut(&mut self) -> &mut Connection {
        self.conn.as_mut().expect("present until drop")
    }
}

impl Drop for PooledConnection<'_> {
    fn drop(&mut self) {
        let conn = self.conn.take().filter(|conn| !conn.is_broken());
        self.pool.returns.clone().try_send(conn).ok();
    }
}
