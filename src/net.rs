//! TCP, UDP and Unix sockets on Spindle's reactor.
//!
//! Streams implement the runtime-neutral `futures_io::AsyncRead`/`AsyncWrite`, so the
//! `futures` extension traits and the crates built on them work unchanged.
//!
//! With the `tokio-io` feature, [`TcpStream`], [`UnixStream`] and their split halves also
//! implement `tokio::io::AsyncRead`/`AsyncWrite`, so crates written against tokio's IO traits
//! (tokio-util's codecs, for one) run on Spindle's sockets. Only tokio's traits come along:
//! it is built with none of its features, so no tokio runtime is compiled in or needed.
//!
#![cfg_attr(feature = "tokio-io", doc = "```")]
#![cfg_attr(not(feature = "tokio-io"), doc = "```ignore")]
//! // Cargo.toml: spindle = { version = "0.1", features = ["tokio-io"] }
//! use futures::{SinkExt, StreamExt};
//! use spindle::net::UnixStream;
//! use tokio_util::codec::{Framed, LinesCodec};
//!
//! spindle::run(async {
//!     let (a, b) = UnixStream::pair()?;
//!     let (mut a, mut b) = (Framed::new(a, LinesCodec::new()), Framed::new(b, LinesCodec::new()));
//!     a.send("hello over a tokio codec").await?;
//!     assert_eq!(b.next().await.transpose()?.as_deref(), Some("hello over a tokio codec"));
//!     Ok::<_, Box<dyn std::error::Error>>(())
//! })?;
//! # Ok::<_, Box<dyn std::error::Error>>(())
//! ```

pub use spindle_io::net::*;
