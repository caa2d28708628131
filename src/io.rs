//! Readiness-based IO: [`Async`] makes any non-blocking file descriptor awaitable, and the
//! runtime-neutral `AsyncRead`/`AsyncWrite` traits the net types implement.

pub use futures_io::{AsyncBufRead, AsyncRead, AsyncSeek, AsyncWrite};
pub use spindle_io::{Async, IoSafe};
