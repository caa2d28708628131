//! Spindle's IO: a reactor over [`polling`], the [`Async`] adapter that makes any
//! non-blocking file descriptor awaitable, and the socket types the `spindle` facade
//! re-exports as `spindle::net`.
//!
//! The reactor is a [`Driver`]: the executor's `Park` implementation that blocks in the
//! poller (epoll, kqueue) and wakes the tasks whose sources became ready. It is the innermost
//! driver of a runtime; the time driver wraps it. Sources find their reactor through the
//! runtime context of the calling thread (the executor's, which holds every driver of the
//! runtime); [`Handle::enter`] makes a reactor current without a runtime. Using a socket on a
//! thread without one panics and says so.
//!
//! ```
//! // Through the facade, which builds the driver and enters its handle on every worker:
//! use futures_util::{AsyncReadExt, AsyncWriteExt};
//! use spindle::net::{TcpListener, TcpStream};
//!
//! spindle::run(async {
//!     let listener = TcpListener::bind("127.0.0.1:0").await?;
//!     let addr = listener.local_addr()?;
//!     spindle::spawn(async move {
//!         let (mut socket, _) = listener.accept().await.unwrap();
//!         let mut buf = [0; 5];
//!         socket.read_exact(&mut buf).await.unwrap();
//!         socket.write_all(&buf).await.unwrap();
//!     });
//!     let mut client = TcpStream::connect(addr).await?;
//!     client.write_all(b"hello").await?;
//!     let mut echo = [0; 5];
//!     client.read_exact(&mut echo).await?;
//!     assert_eq!(&echo, b"hello");
//!     std::io::Result::Ok(())
//! })
//! .unwrap();
//! ```
//!
//! Without the facade, a driver is created and entered by hand:
//!
//! ```
//! use spindle_io::{Driver, net::UdpSocket};
//!
//! let (driver, handle) = Driver::new()?;
//! let _enter = handle.enter();
//! // Creating a socket needs a current handle; driving it needs a loop that polls the task
//! // and calls `Park::park` on `driver` (what the runtime does).
//! let socket = std::net::UdpSocket::bind("127.0.0.1:0")?;
//! let socket = UdpSocket::from_std(socket)?;
//! assert!(socket.local_addr()?.port() != 0);
//! # drop(driver);
//! # std::io::Result::Ok(())
//! ```

mod async_fd;
mod driver;
mod io_safe;
pub mod net;
mod registration;
mod slot;
use spindle_executor::sync;

pub use async_fd::Async;
pub use driver::{Driver, EnterGuard, Handle, TryCurrentError};
pub use io_safe::IoSafe;
