//! TCP, UDP and Unix sockets on Spindle's reactor.
//!
//! Streams implement the runtime-neutral `futures_io::AsyncRead`/`AsyncWrite`, so the
//! `futures` extension traits and the crates built on them work unchanged.

pub use spindle_io::net::*;
