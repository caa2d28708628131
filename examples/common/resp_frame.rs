//! RESP2 framing, shared by the client (`resp.rs`) and the server (`mini_redis.rs`): one
//! incremental, bounded parser and the encoders for every reply type.
//!
//! The parser keeps the arrays it is part way through between calls, so bytes arriving a few
//! at a time are looked at once, not re-scanned on every read (a 1 M-element array sent slowly
//! costs linear time, not quadratic). Every length it reads is checked against [`Limits`]
//! before anything is allocated: a header announcing 2^40 bytes or 10 million elements is an
//! error, not an allocation, and a header line that never ends is an error once it is longer
//! than any valid one.

use std::fmt;

/// One RESP2 value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Value {
    Simple(String),
    Error(String),
    Int(i64),
    /// `None` is the null bulk string (`$-1`), e.g. GET of a missing key.
    Bulk(Option<Vec<u8>>),
    /// `None` is the null array (`*-1`).
    Array(Option<Vec<Value>>),
}

/// Which side of the conversation is being parsed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Replies from a server: any value, arrays nested up to `max_depth`.
    Reply,
    /// Requests to a server, as Redis reads them: an array of bulk strings, or an inline
    /// command (a line of words, what `redis-benchmark`'s PING_INLINE and telnet send).
    /// Every request comes out as `Value::Array(Some(bulks))`; an empty one (`*0`, `*-1`,
    /// a blank line) is a request to skip. Error messages are Redis's own.
    Request,
}

/// Caps on what one frame may announce, checked before anything is allocated.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// Longest bulk string (Redis: `proto-max-bulk-len`, 512 MiB).
    pub max_bulk: usize,
    /// Most elements in one array (Redis caps unauthenticated clients at 1 M... we cap all).
    pub max_array: usize,
    /// Deepest nesting of arrays in a reply.
    pub max_depth: usize,
    /// Longest header or inline-command line (Redis: 64 KiB).
    pub max_line: usize,
}

impl Limits {
    /// What the client accepts from a server.
    pub const REPLY: Limits = Limits {
        max_bulk: 512 << 20,
        max_array: 1 << 24,
        max_depth: 64,
        max_line: 64 << 10,
    };
    /// What the server accepts from a client.
    pub const REQUEST: Limits = Limits {
        max_bulk: 512 << 20,
        max_array: 1 << 20,
        max_depth: 1,
        max_line: 64 << 10,
    };
}

/// The bytes are not RESP. After one of these the stream is out of step: close it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProtocolError(pub String);

impl fmt::Display for ProtocolError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ProtocolError {}

/// What one call to [`Parser::parse`] did.
#[derive(Debug, PartialEq, Eq)]
pub struct Parsed {
    /// Bytes used from the front of the buffer; the caller drops them whether or not a
    /// frame came out (the parser remembers the part of a frame they held).
    pub consumed: usize,
    /// The finished frame, or `None`: more bytes are needed.
    pub frame: Option<Value>,
}

/// An incremental RESP parser. Feed it the unconsumed bytes; it returns at most one frame.
#[derive(Debug)]
pub struct Parser {
    mode: Mode,
    limits: Limits,
    /// Arrays part way through, outermost first: elements still to come, elements so far.
    stack: Vec<(usize, Vec<Value>)>,
    /// Bulk bytes held in `stack`, so the caller can count them against its buffer cap.
    held: usize,
}

/// One element's worth of progress.
enum Step {
    Incomplete,
    /// A whole non-array value, and the bytes it used.
    Value(Value, usize),
    /// An array header announcing `n > 0` elements, and the bytes the header used.
    ArrayStart(usize, usize),
}

impl Parser {
    pub fn new(mode: Mode, limits: Limits) -> Parser {
        Parser {
            mode,
            limits,
            stack: Vec::new(),
            held: 0,
        }
    }

    /// Bytes of an unfinished frame that this parser holds (already consumed from the
    /// caller's buffer).
    pub fn held_bytes(&self) -> usize {
        self.held
    }

    /// Whether a frame is part way through (bytes consumed, frame not yet returned).
    pub fn in_frame(&self) -> bool {
        !self.stack.is_empty()
    }

    /// Parses from the front of `buf`. On error the parser is left in an unspecified state:
    /// the stream is out of step and should be closed.
    pub fn parse(&mut self, buf: &[u8]) -> Result<Parsed, ProtocolError> {
        let mut pos = 0;
        loop {
            let step = self.step(&buf[pos..])?;
            let (mut value, used) = match step {
                Step::Incomplete => {
                    return Ok(Parsed {
                        consumed: pos,
                        frame: None,
                    });
                }
                Step::ArrayStart(n, used) => {
                    if self.stack.len() >= self.limits.max_depth {
                        return Err(self.error("arrays nested too deep"));
                    }
                    // Capacity grows with what arrives, not with what the header claims.
                    self.stack.push((n, Vec::with_capacity(n.min(1024))));
                    pos += used;
                    continue;
                }
                Step::Value(value, used) => (value, used),
            };
            pos += used;
            // Fold the value into the arrays it completes.
            loop {
                let Some((remaining, items)) = self.stack.last_mut() else {
                    self.held = 0;
                    return Ok(Parsed {
                        consumed: pos,
                        frame: Some(value),
                    });
                };
                if let Value::Bulk(Some(bytes)) = &value {
                    self.held += bytes.len();
                }
                items.push(value);
                *remaining -= 1;
                if *remaining > 0 {
                    break;
                }
                let (_, items) = self.stack.pop().expect("just looked at it");
                value = Value::Array(Some(items));
            }
        }
    }

    fn error(&self, what: &str) -> ProtocolError {
        match self.mode {
            Mode::Request => ProtocolError(format!("Protocol error: {what}")),
            Mode::Reply => ProtocolError(what.to_owned()),
        }
    }

    /// Reads one element (or array header) from the front of `buf`.
    fn step(&self, buf: &[u8]) -> Result<Step, ProtocolError> {
        let Some(&first) = buf.first() else {
            return Ok(Step::Incomplete);
        };
        if self.mode == Mode::Request {
            return self.request_step(first, buf);
        }
        // A byte that can never start a reply is an error now, not after more bytes.
        if !matches!(first, b'+' | b'-' | b':' | b'$' | b'*') {
            return Err(self.error(&format!(
                "expected a type byte (one of + - : $ *), got {:?}",
                char::from(first)
            )));
        }
        let Some((line, after)) = self.line(buf, "line")? else {
            return Ok(Step::Incomplete);
        };
        let text = || {
            std::str::from_utf8(line)
                .map(str::to_owned)
                .map_err(|_| self.error("status line is not UTF-8"))
        };
        let number = || {
            parse_int(line).ok_or_else(|| {
                self.error(&format!(
                    "expected an integer, got {:?}",
                    String::from_utf8_lossy(line)
                ))
            })
        };
        Ok(match first {
            b'+' => Step::Value(Value::Simple(text()?), after),
            b'-' => Step::Value(Value::Error(text()?), after),
            b':' => Step::Value(Value::Int(number()?), after),
            b'$' => match number()? {
                -1 => Step::Value(Value::Bulk(None), after),
                len if len >= 0 && len as u64 <= self.limits.max_bulk as u64 => {
                    self.bulk_body(buf, after, len as usize)?
                }
                len => return Err(self.error(&format!("bulk string length {len}"))),
            },
            _ => match number()? {
                -1 => Step::Value(Value::Array(None), after),
                0 => Step::Value(Value::Array(Some(Vec::new())), after),
                n if n > 0 && n as u64 <= self.limits.max_array as u64 => {
                    Step::ArrayStart(n as usize, after)
                }
                n => return Err(self.error(&format!("array length {n}"))),
            },
        })
    }

    /// Redis's request grammar: `*N` of `$len` bulks at the top, or an inline line.
    fn request_step(&self, first: u8, buf: &[u8]) -> Result<Step, ProtocolError> {
        if self.stack.is_empty() {
            if first != b'*' {
                return self.inline(buf);
            }
            let Some((line, after)) = self.line(buf, "mbulk count string")? else {
                return Ok(Step::Incomplete);
            };
            return match parse_int(line) {
                // Redis skips an empty or negative multibulk without a reply.
                Some(n) if n <= 0 => Ok(Step::Value(Value::Array(Some(Vec::new())), after)),
                Some(n) if n as u64 <= self.limits.max_array as u64 => {
                    Ok(Step::ArrayStart(n as usize, after))
                }
                _ => Err(self.error("invalid multibulk length")),
            };
        }
        if first != b'$' {
            return Err(self.error(&format!("expected '$', got '{}'", char::from(first))));
        }
        let Some((line, after)) = self.line(buf, "bulk count string")? else {
            return Ok(Step::Incomplete);
        };
        match parse_int(line) {
            Some(len) if len >= 0 && len as u64 <= self.limits.max_bulk as u64 => {
                self.bulk_body(buf, after, len as usize)
            }
            _ => Err(self.error("invalid bulk length")),
        }
    }

    /// The `len` bytes and CRLF of a bulk string whose header ended at `at`.
    fn bulk_body(&self, buf: &[u8], at: usize, len: usize) -> Result<Step, ProtocolError> {
        if buf.len() < at + len + 2 {
            return Ok(Step::Incomplete);
        }
        if &buf[at + len..at + len + 2] != b"\r\n" {
            return Err(self.error(&format!("bulk string of {len} bytes not followed by CRLF")));
        }
        let data = buf[at..at + len].to_vec();
        Ok(Step::Value(Value::Bulk(Some(data)), at + len + 2))
    }

    /// An inline command: words up to `\n` (a `\r` before it is dropped), like Redis.
    fn inline(&self, buf: &[u8]) -> Result<Step, ProtocolError> {
        let window = &buf[..buf.len().min(self.limits.max_line + 1)];
        let Some(end) = window.iter().position(|&b| b == b'\n') else {
            if buf.len() > self.limits.max_line {
                return Err(self.error("too big inline request"));
            }
            return Ok(Step::Incomplete);
        };
        let line = buf[..end].strip_suffix(b"\r").unwrap_or(&buf[..end]);
        let words = line
            .split(|b| b.is_ascii_whitespace())
            .filter(|w| !w.is_empty())
            .map(|w| Value::Bulk(Some(w.to_vec())))
            .collect();
        Ok(Step::Value(Value::Array(Some(words)), end + 1))
    }

    /// The text of a header line after its type byte, and where the next element starts;
    /// `None` if its CRLF has not arrived yet.
    fn line<'b>(
        &self,
        buf: &'b [u8],
        what: &str,
    ) -> Result<Option<(&'b [u8], usize)>, ProtocolError> {
        let window = &buf[..buf.len().min(self.limits.max_line + 2)];
        match window.windows(2).position(|w| w == b"\r\n") {
            Some(end) => Ok(Some((&buf[1..end], end + 2))),
            None if buf.len() > self.limits.max_line => Err(self.error(&format!("too big {what}"))),
            None => Ok(None),
        }
    }
}

/// A strict decimal integer, as Redis's `string2ll` reads one: optional `-`, digits, no
/// spaces, no `+`, no leading zeros, fits in an `i64`.
pub fn parse_int(text: &[u8]) -> Option<i64> {
    let digits = text.strip_prefix(b"-").unwrap_or(text);
    let canonical = match digits {
        [] => false,
        [b'0'] => text.len() == 1,
        [first, ..] => *first != b'0' && digits.iter().all(u8::is_ascii_digit),
    };
    if !canonical {
        return None;
    }
    std::str::from_utf8(text).ok()?.parse().ok()
}

/// Parses one whole reply from the front of `buf` without keeping state: `Ok(None)` when
/// more bytes are needed, otherwise the value and the bytes it used.
pub fn parse_reply(buf: &[u8]) -> Result<Option<(Value, usize)>, ProtocolError> {
    let parsed = Parser::new(Mode::Reply, Limits::REPLY).parse(buf)?;
    Ok(parsed.frame.map(|frame| (frame, parsed.consumed)))
}

// Encoders. They append to a buffer, so a batch of replies goes out in one write.

pub fn write_simple(out: &mut Vec<u8>, text: &str) {
    out.push(b'+');
    out.extend_from_slice(text.as_bytes());
    out.extend_from_slice(b"\r\n");
}

/// An error reply; `text` starts with its code (`ERR`, `WRONGTYPE`). Line breaks in it would
/// end the reply early, so they become spaces, as Redis does.
pub fn write_error(out: &mut Vec<u8>, text: &str) {
    out.push(b'-');
    out.extend(
        text.bytes()
            .map(|b| if b == b'\r' || b == b'\n' { b' ' } else { b }),
    );
    out.extend_from_slice(b"\r\n");
}

pub fn write_int(out: &mut Vec<u8>, n: i64) {
    write_header(out, b':', n);
}

pub fn write_bulk(out: &mut Vec<u8>, data: &[u8]) {
    write_header(out, b'$', data.len() as i64);
    out.extend_from_slice(data);
    out.extend_from_slice(b"\r\n");
}

pub fn write_null(out: &mut Vec<u8>) {
    out.extend_from_slice(b"$-1\r\n");
}

/// The header of an array of `len` elements; the caller writes them next.
pub fn write_array_len(out: &mut Vec<u8>, len: usize) {
    write_header(out, b'*', len as i64);
}

pub fn write_value(out: &mut Vec<u8>, value: &Value) {
    match value {
        Value::Simple(text) => write_simple(out, text),
        Value::Error(text) => write_error(out, text),
        Value::Int(n) => write_int(out, *n),
        Value::Bulk(Some(data)) => write_bulk(out, data),
        Value::Bulk(None) => write_null(out),
        Value::Array(None) => out.extend_from_slice(b"*-1\r\n"),
        Value::Array(Some(items)) => {
            write_array_len(out, items.len());
            for item in items {
                write_value(out, item);
            }
        }
    }
}

/// A command as a RESP array of bulk strings.
pub fn write_command(out: &mut Vec<u8>, args: &[&[u8]]) {
    write_array_len(out, args.len());
    for arg in args {
        write_bulk(out, arg);
    }
}

fn write_header(out: &mut Vec<u8>, kind: u8, n: i64) {
    use std::io::Write;
    out.push(kind);
    // Writing to a Vec cannot fail.
    let _ = write!(out, "{n}\r\n");
}
