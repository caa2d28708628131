//! A one-request HTTP/1 client for the examples: hyper's client over a Spindle `TcpStream`.

use std::io;
use std::net::SocketAddr;

use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper::{Request, StatusCode};
use spindle::net::TcpStream;

/// `GET http://{addr}{path}` on a fresh connection: the status and the whole body.
pub async fn get(addr: SocketAddr, path: &str) -> io::Result<(StatusCode, Bytes)> {
    let stream = TcpStream::connect(addr).await?;
    let (mut sender, conn) = hyper::client::conn::http1::handshake(stream)
        .await
        .map_err(io::Error::other)?;
    // The connection task drives the socket; it ends when `sender` is dropped.
    spindle::spawn(conn);
    let req = Request::get(path)
        .header("host", addr.to_string())
        .body(Empty::<Bytes>::new())
        .map_err(io::Error::other)?;
    let resp = sender.send_request(req).await.map_err(io::Error::other)?;
    let status = resp.status();
    let body = resp.into_body().collect().await.map_err(io::Error::other)?;
    Ok((status, body.to_bytes()))
}
