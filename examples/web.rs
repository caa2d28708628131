//! The asyncio tutorial's FastAPI/uvicorn section, the way a Rust user writes it: an axum
//! app served by hyper on Spindle, with no tokio runtime anywhere. axum only needs a tower
//! `Service`; hyper-util's `TowerToHyperService` hands that to hyper's connection builder,
//! and hyper needs only IO traits, an executor and a timer — Spindle's (`spindle::hyper`).
//!
//! | route | FastAPI tutorial |
//! | --- | --- |
//! | `GET /` | `{"message": "Hello World"}` |
//! | `GET /items/{item_id}?q=..&short=..` | typed path and query parameters |
//! | `POST /items` | a JSON body (`Item`), validated (`price >= 0`), stored in Redis with an id |
//! | `GET /red` | the asyncio tutorial's route: sleep, then read and write Redis through a pool |
//!
//! Bad input gets FastAPI's answers: 422 with `{"detail": [{"loc": [..], "msg": .., "type":
//! ..}]}` for a body, path or query that does not fit, and `{"detail": "Not Found"}` for an
//! unknown path. One task per connection (HTTP/1.1, or HTTP/2 with prior knowledge). Ctrl-C
//! stops it gracefully: no new connections, in-flight requests finish (for at most
//! [`GRACE`]), then it exits; `Server::shutdown` does the same from code.
//!
//! `cargo run --example web`, then for instance
//! `curl -d '{"name":"Foo","price":-1}' -H 'content-type: application/json' 127.0.0.1:8000/items`.
//! It starts its own `redis-server` when one is installed, else an embedded `mini_redis`
//! (the RESP server of `examples/mini_redis.rs`, in this process). `PORT=9000` picks another
//! port. `examples/web_hyper.rs` is the same idea on bare hyper, without a framework.

// Not a library: `pub` items here are shared with the tests through `#[path]` modules,
// so the workspace's API lints (missing_docs, unreachable_pub, missing Debug) do not apply.
#![allow(missing_docs, unreachable_pub, missing_debug_implementations)]
// The client (`resp`) and the embedded server (`mini_redis`) each compile the shared RESP
// framing module.
#![allow(clippy::duplicate_mod)]

use std::future::Future;
use std::io;
use std::net::{SocketAddr, ToSocketAddrs};
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::routing::{get, post};
use bytes::Bytes;
use futures::channel::oneshot;
use futures::future::{FutureExt, Shared};
use http_body_util::{BodyExt, Full};
use hyper::{Method, Request, StatusCode};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use spindle::net::{TcpListener, TcpStream};
use spindle::task::{JoinHandle, JoinSet};

use fastapi::{ApiError, Json, Path, Query, Validate};

#[allow(dead_code)]
#[path = "common/mini_redis.rs"]
pub mod mini_redis;
#[allow(dead_code)]
#[path = "common/peers.rs"]
pub mod peers;
#[allow(dead_code)]
#[path = "common/resp.rs"]
pub mod resp;

/// What the handlers share (axum's `State`).
pub struct App {
    pub redis: resp::Pool,
    /// How long `/red` sleeps before touching Redis (the tutorial's `await asyncio.sleep`).
    pub red_delay: Duration,
}

/// FastAPI's tutorial model: `class Item(BaseModel)`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Item {
    pub name: String,
    pub description: Option<String>,
    pub price: f64,
    pub tax: Option<f64>,
}

impl Validate for Item {
    fn validate(&self) -> Vec<fastapi::Detail> {
        let mut errors = Vec::new();
        for (field, value) in [("price", Some(self.price)), ("tax", self.tax)] {
            if value.is_some_and(|v| v < 0.0) {
                errors.push(fastapi::Detail::new(
                    ["body", field],
                    "Input should be greater than or equal to 0",
                    "greater_than_equal",
                ));
            }
        }
        errors
    }
}

/// What `POST /items` answers and stores: the item with its id.
#[derive(Debug, Serialize)]
pub struct StoredItem {
    pub id: i64,
    #[serde(flatten)]
    pub item: Item,
}

async fn root() -> Json<Value> {
    Json(json!({"message": "Hello World"}))
}

#[derive(Deserialize)]
struct ItemPath {
    item_id: u64,
}

#[derive(Deserialize)]
struct ItemQuery {
    q: Option<String>,
    #[serde(default)]
    short: bool,
}

/// What `read_item` answers; FastAPI leaves out what the handler did not set.
#[derive(Serialize)]
struct ItemView {
    item_id: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    q: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<&'static str>,
}

/// `async def read_item(item_id: int, q: str | None = None, short: bool = False)`
async fn read_item(
    Path(ItemPath { item_id }): Path<ItemPath>,
    Query(ItemQuery { q, short }): Query<ItemQuery>,
) -> Json<ItemView> {
    Json(ItemView {
        item_id,
        q,
        description: (!short).then_some("This is an amazing item that has a long description"),
    })
}

/// `async def create_item(item: Item)`: the id comes from a Redis counter, and the item is
/// stored under `web:items:{id}`.
async fn create_item(
    State(app): State<Arc<App>>,
    Json(item): Json<Item>,
) -> Result<Json<StoredItem>, ApiError> {
    let mut conn = app.redis.get().await?;
    let id = conn.incr("web:items:next_id").await?;
    let stored = StoredItem { id, item };
    let encoded = serde_json::to_string(&stored).expect("an item serializes");
    conn.set(&format!("web:items:{id}"), &encoded).await?;
    Ok(Json(stored))
}

/// The asyncio tutorial's `/red`: sleep, then count the hit and round-trip a value.
async fn red(State(app): State<Arc<App>>) -> Result<Json<Value>, ApiError> {
    spindle::time::sleep(app.red_delay).await;
    let mut conn = app.redis.get().await?;
    let hits = conn.incr("web:hits").await?;
    conn.set("web:message", "hello from redis").await?;
    let message = conn.get("web:message").await?.unwrap_or_default();
    Ok(Json(json!({"message": message, "hits": hits})))
}

/// The app: routes, FastAPI's 404 and 405 bodies, the shared state.
pub fn router(app: App) -> Router {
    Router::new()
        .route("/", get(root))
        .route("/items/{item_id}", get(read_item))
        .route("/items", post(create_item))
        .route("/red", get(red))
        .fallback(|| async { ApiError::Status(StatusCode::NOT_FOUND, "Not Found".into()) })
        .method_not_allowed_fallback(|| async {
            ApiError::Status(StatusCode::METHOD_NOT_ALLOWED, "Method Not Allowed".into())
        })
        .with_state(Arc::new(app))
}

/// FastAPI's error bodies for axum: extractors named like axum's (`Json`, `Path`, `Query`)
/// whose rejections are 422s listing where the input went wrong, as pydantic does.
pub mod fastapi {
    use axum::extract::rejection::PathRejection;
    use axum::extract::{FromRequest, FromRequestParts, Request};
    use axum::http::request::Parts;
    use axum::response::{IntoResponse, Response};
    use bytes::Bytes;
    use hyper::StatusCode;
    use serde::Serialize;
    use serde::de::DeserializeOwned;

    /// Checks a deserialized body beyond its types (pydantic's `Field(ge=0)` and friends).
    pub trait Validate {
        /// Every problem found; empty when the value is fine.
        fn validate(&self) -> Vec<Detail>;
    }

    /// One entry of a 422's `detail` list.
    #[derive(Debug, Serialize)]
    pub struct Detail {
        /// Where: `["body", "price"]`, `["query", "short"]`, `["path", "item_id"]`.
        pub loc: Vec<Loc>,
        pub msg: String,
        #[serde(rename = "type")]
        pub kind: String,
    }

    /// A `loc` step: a field name or a list index.
    #[derive(Debug, Serialize)]
    #[serde(untagged)]
    pub enum Loc {
        Key(String),
        Index(usize),
    }

    impl Detail {
        pub fn new<'a>(
            loc: impl IntoIterator<Item = &'a str>,
            msg: impl Into<String>,
            kind: impl Into<String>,
        ) -> Detail {
            Detail {
                loc: loc.into_iter().map(|key| Loc::Key(key.into())).collect(),
                msg: msg.into(),
                kind: kind.into(),
            }
        }
    }

    /// A handler's error, answered as `{"detail": ...}`.
    #[derive(Debug)]
    pub enum ApiError {
        /// 422 with the list of problems.
        Invalid(Vec<Detail>),
        /// Any other status, with a message.
        Status(StatusCode, String),
    }

    impl IntoResponse for ApiError {
        fn into_response(self) -> Response {
            match self {
                ApiError::Invalid(details) => (
                    StatusCode::UNPROCESSABLE_ENTITY,
                    axum::Json(serde_json::json!({ "detail": details })),
                )
                    .into_response(),
                ApiError::Status(status, msg) => {
                    (status, axum::Json(serde_json::json!({ "detail": msg }))).into_response()
                }
            }
        }
    }

    /// Redis trouble is the upstream's fault: 502.
    impl From<super::resp::Error> for ApiError {
        fn from(err: super::resp::Error) -> ApiError {
            ApiError::Status(StatusCode::BAD_GATEWAY, err.to_string())
        }
    }

    /// serde's message without serde_json's ` at line 1 column 7` suffix.
    fn message(err: &impl std::fmt::Display) -> String {
        let msg = err.to_string();
        match msg.rsplit_once(" at line ") {
            Some((msg, _)) => msg.to_owned(),
            None => msg,
        }
    }

    /// A deserialization error at `path` under `root` as a 422 detail. A missing field is
    /// reported at the field itself (serde's path stops at the struct that lacks it).
    fn data_error<E: std::fmt::Display>(root: &str, err: serde_path_to_error::Error<E>) -> Detail {
        use serde_path_to_error::Segment;
        let mut loc = vec![Loc::Key(root.into())];
        for segment in err.path().iter() {
            loc.push(match segment {
                Segment::Seq { index } => Loc::Index(*index),
                Segment::Map { key } => Loc::Key(key.clone()),
                Segment::Enum { variant } => Loc::Key(variant.clone()),
                Segment::Unknown => Loc::Key("?".into()),
            });
        }
        let msg = message(err.inner());
        if let Some(field) = msg
            .strip_prefix("missing field `")
            .and_then(|rest| rest.strip_suffix('`'))
        {
            loc.push(Loc::Key(field.into()));
            return Detail {
                loc,
                msg: "Field required".into(),
                kind: "missing".into(),
            };
        }
        Detail {
            loc,
            msg,
            kind: "value_error".into(),
        }
    }

    /// A JSON body of type `T`, deserialized and then validated, like a pydantic model
    /// parameter. Also a response: `Json(value)` answers `value` as JSON.
    pub struct Json<T>(pub T);

    impl<T, S> FromRequest<S> for Json<T>
    where
        T: DeserializeOwned + Validate,
        S: Send + Sync,
    {
        type Rejection = ApiError;

        async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
            let is_json = req
                .headers()
                .get(hyper::header::CONTENT_TYPE)
                .and_then(|value| value.to_str().ok())
                .is_some_and(|value| value.starts_with("application/json"));
            if !is_json {
                return Err(ApiError::Status(
                    StatusCode::UNSUPPORTED_MEDIA_TYPE,
                    "Expected request with `content-type: application/json`".into(),
                ));
            }
            let body = Bytes::from_request(req, state)
                .await
                .map_err(|rejection| ApiError::Status(rejection.status(), rejection.body_text()))?;
            let deserializer = &mut serde_json::Deserializer::from_slice(&body);
            let value: T = serde_path_to_error::deserialize(deserializer).map_err(|err| {
                let detail = if err.inner().is_data() {
                    data_error("body", err)
                } else {
                    // Not JSON at all (or cut short): FastAPI's `json_invalid`.
                    Detail::new(["body"], message(err.inner()), "json_invalid")
                };
                ApiError::Invalid(vec![detail])
            })?;
            match value.validate() {
                errors if errors.is_empty() => Ok(Json(value)),
                errors => Err(ApiError::Invalid(errors)),
            }
        }
    }

    impl<T: Serialize> IntoResponse for Json<T> {
        fn into_response(self) -> Response {
            axum::Json(self.0).into_response()
        }
    }

    /// Query parameters of type `T` (a struct with one field per parameter).
    pub struct Query<T>(pub T);

    impl<T, S> FromRequestParts<S> for Query<T>
    where
        T: DeserializeOwned,
        S: Send + Sync,
    {
        type Rejection = ApiError;

        async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
            let query = parts.uri.query().unwrap_or_default();
            let deserializer =
                serde_urlencoded::Deserializer::new(form_urlencoded::parse(query.as_bytes()));
            serde_path_to_error::deserialize(deserializer)
                .map(Query)
                .map_err(|err| ApiError::Invalid(vec![data_error("query", err)]))
        }
    }

    /// Path parameters of type `T` (a struct, so that errors can name the parameter):
    /// axum's `Path` with its rejection mapped to a 422.
    pub struct Path<T>(pub T);

    impl<T, S> FromRequestParts<S> for Path<T>
    where
        T: DeserializeOwned + Send,
        S: Send + Sync,
    {
        type Rejection = ApiError;

        async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
            use axum::extract::path::ErrorKind;
            match axum::extract::Path::<T>::from_request_parts(parts, state).await {
                Ok(axum::extract::Path(value)) => Ok(Path(value)),
                Err(PathRejection::FailedToDeserializePathParams(err)) => match err.kind() {
                    ErrorKind::ParseErrorAtKey {
                        key, expected_type, ..
                    } => {
                        let (kind, what) = match *expected_type {
                            "f32" | "f64" => ("float_parsing", "a valid number"),
                            "bool" => ("bool_parsing", "a valid boolean"),
                            int if int.starts_with(['i', 'u']) => {
                                ("int_parsing", "a valid integer")
                            }
                            _ => ("value_error", "valid"),
                        };
                        Err(ApiError::Invalid(vec![Detail::new(
                            ["path", key.as_str()],
                            format!("Input should be {what}"),
                            kind,
                        )]))
                    }
                    _ => Err(ApiError::Invalid(vec![Detail::new(
                        ["path"],
                        err.body_text(),
                        "value_error",
                    )])),
                },
                Err(other) => Err(ApiError::Status(other.status(), other.body_text())),
            }
        }
    }
}

/// How long shutdown waits for in-flight requests before cutting them off.
pub const GRACE: Duration = Duration::from_secs(5);

/// A client that sends half a request and stalls is dropped after this long.
const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(5);

/// A running server. Dropping it shuts it down too (without waiting).
pub struct Server {
    pub addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<usize>>,
}

impl Server {
    /// Binds `addr` and serves `app` on tasks of the current runtime; shutdown waits up to
    /// [`GRACE`] for in-flight requests.
    pub async fn start(addr: impl ToSocketAddrs, app: Router) -> io::Result<Server> {
        Server::start_with_grace(addr, app, GRACE).await
    }

    /// [`Server::start`], with shutdown waiting up to `grace`.
    pub async fn start_with_grace(
        addr: impl ToSocketAddrs,
        app: Router,
        grace: Duration,
    ) -> io::Result<Server> {
        let listener = TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let (stop, stopped) = oneshot::channel();
        let task = spindle::spawn(serve(listener, app, stopped.shared(), grace));
        Ok(Server {
            addr,
            stop: Some(stop),
            task: Some(task),
        })
    }

    /// Graceful shutdown: stop accepting, let in-flight requests finish (up to the grace
    /// period), close idle keep-alive connections. Returns how many connections were served.
    pub async fn shutdown(mut self) -> io::Result<usize> {
        drop(self.stop.take());
        let task = self.task.take().expect("present until shutdown");
        task.await.map_err(io::Error::other)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        // Dropping the sender resolves the stop signal: the serve task winds down by itself.
        drop(self.stop.take());
    }
}

type Stop = Shared<oneshot::Receiver<()>>;

/// uvicorn's part: accept connections, one task each, until `stop`; then drain.
async fn serve(listener: TcpListener, app: Router, mut stop: Stop, grace: Duration) -> usize {
    // HTTP/1.1, or HTTP/2 when the client opens with its preface; hyper's timers and its
    // HTTP/2 background tasks run on Spindle.
    let mut http = auto::Builder::new(spindle::hyper::Executor::new());
    http.http1()
        .timer(spindle::hyper::Timer::new())
        .header_read_timeout(HEADER_READ_TIMEOUT);
    http.http2().timer(spindle::hyper::Timer::new());
    let graceful = GracefulShutdown::new();
    let mut connections = JoinSet::new();
    let mut served = 0;
    while let Some(stream) = mini_redis::accept_until(&listener, &mut stop, "web").await {
        served += 1;
        // Forget connections that have finished, so the set only holds live ones.
        while let Some(Some(_)) = connections.join_next().now_or_never() {}
        // axum's Router is a tower Service; hyper wants its own Service trait.
        let service = TowerToHyperService::new(app.clone());
        let conn = http.serve_connection(stream, service).into_owned();
        // `watch`: on shutdown, finish the request in progress, then close.
        let conn = graceful.watch(conn);
        // Errors here are one client's (it hung up, sent garbage): never the server's.
        connections.spawn(async move {
            let _ = conn.await;
        });
    }
    drop(listener);
    if spindle::time::timeout(grace, graceful.shutdown())
        .await
        .is_err()
    {
        connections.abort_all();
    }
    while connections.join_next().await.is_some() {}
    served
}

/// Resolves on the first Ctrl-C (SIGINT) after this call. The signal handler only writes a
/// byte to a socket pair (the self-pipe trick); the reactor wakes us when it is readable.
/// Call it inside the runtime.
pub fn ctrl_c() -> io::Result<impl Future<Output = io::Result<()>>> {
    let (read, write) = std::os::unix::net::UnixStream::pair()?;
    read.set_nonblocking(true)?;
    write.set_nonblocking(true)?;
    let id = signal_hook::low_level::pipe::register(signal_hook::consts::SIGINT, write)?;
    let read = spindle::io::Async::new(read)?;
    Ok(async move {
        let mut byte = [0u8; 1];
        let result = futures::AsyncReadExt::read(&mut &read, &mut byte).await;
        signal_hook::low_level::unregister(id);
        result.map(drop)
    })
}

/// A one-request HTTP/1 client (hyper's, over a Spindle `TcpStream`), for the demo and the
/// tests: the status and body of `req`, sent on a fresh connection.
pub async fn send(
    addr: SocketAddr,
    mut req: Request<Full<Bytes>>,
) -> io::Result<(StatusCode, String)> {
    let stream = TcpStream::connect(addr).await?;
    let (mut sender, conn) = hyper::client::conn::http1::handshake(stream)
        .await
        .map_err(io::Error::other)?;
    // The connection task drives the socket; it ends when `sender` is dropped.
    spindle::spawn(conn);
    let host = addr.to_string().parse().map_err(io::Error::other)?;
    req.headers_mut().insert(hyper::header::HOST, host);
    let resp = sender.send_request(req).await.map_err(io::Error::other)?;
    let status = resp.status();
    let body = resp.into_body().collect().await.map_err(io::Error::other)?;
    Ok((
        status,
        String::from_utf8_lossy(&body.to_bytes()).into_owned(),
    ))
}

/// `GET path`: status and body.
pub async fn get_path(addr: SocketAddr, path: &str) -> io::Result<(StatusCode, String)> {
    let req = Request::get(path)
        .body(Full::default())
        .map_err(io::Error::other)?;
    send(addr, req).await
}

/// `POST path` with a JSON body: status and body.
pub async fn post_json(
    addr: SocketAddr,
    path: &str,
    body: &str,
) -> io::Result<(StatusCode, String)> {
    let req = Request::builder()
        .method(Method::POST)
        .uri(path)
        .header(hyper::header::CONTENT_TYPE, "application/json")
        .body(Full::new(Bytes::copy_from_slice(body.as_bytes())))
        .map_err(io::Error::other)?;
    send(addr, req).await
}

/// The Redis behind the app in the demo: a real one, or the embedded mini_redis.
pub enum DemoRedis {
    Real(peers::Peer),
    Embedded(mini_redis::Server),
}

impl DemoRedis {
    pub fn addr(&self) -> SocketAddr {
        match self {
            DemoRedis::Real(peer) => peer.addr(),
            DemoRedis::Embedded(server) => server.addr,
        }
    }
}

/// Starts a `redis-server` if one is installed, else an in-process mini_redis (saying so).
pub async fn demo_redis() -> io::Result<DemoRedis> {
    match spindle::spawn_blocking(peers::redis)
        .await
        .map_err(io::Error::other)?
    {
        Ok(peer) => Ok(DemoRedis::Real(peer)),
        Err(err) => {
            match err {
                peers::PeerError::Missing { .. } => {
                    println!("using the embedded mini_redis (redis-server not installed)")
                }
                other => println!("using the embedded mini_redis ({other})"),
            }
            Ok(DemoRedis::Embedded(mini_redis::start_in_process().await?))
        }
    }
}

/// The tour's entry point: serve on a free port, make one request of each kind, print the
/// answers, shut down gracefully.
pub async fn demo() -> io::Result<()> {
    let redis = demo_redis().await?;
    let app = router(App {
        redis: resp::Pool::new(redis.addr(), 8),
        red_delay: Duration::from_millis(100),
    });
    let server = Server::start("127.0.0.1:0", app).await?;
    let addr = server.addr;
    println!("serving on http://{addr}");
    let show = |what: String, (status, body): (StatusCode, String)| {
        println!("  {what:<48} -> {status} {body}");
    };
    for path in ["/", "/items/42?q=spindle", "/items/42?short=true", "/red"] {
        show(format!("GET {path}"), get_path(addr, path).await?);
    }
    for body in [
        r#"{"name": "Foo", "price": 35.4}"#,
        r#"{"name": "Bar", "price": -1}"#,
        r#"{"name": "Baz"}"#,
    ] {
        show(
            format!("POST /items {body}"),
            post_json(addr, "/items", body).await?,
        );
    }
    for path in ["/items/foo", "/items/42?short=maybe", "/nope"] {
        show(format!("GET {path}"), get_path(addr, path).await?);
    }
    let served = server.shutdown().await?;
    println!("shut down gracefully after {served} connections");
    Ok(())
}

fn main() -> io::Result<()> {
    spindle::run(async {
        let redis = demo_redis().await?;
        let app = router(App {
            redis: resp::Pool::new(redis.addr(), 8),
            red_delay: Duration::from_secs(1),
        });
        let port = std::env::var("PORT").unwrap_or_else(|_| "8000".into());
        let server = Server::start(format!("127.0.0.1:{port}"), app).await?;
        let ctrl_c = ctrl_c()?;
        println!(
            "serving on http://{0}/ (try /items/5?q=x, POST /items, /red); Ctrl-C to stop",
            server.addr
        );
        ctrl_c.await?;
        println!("\nCtrl-C: no new connections; finishing in-flight requests");
        let served = server.shutdown().await?;
        println!("served {served} connections; bye");
        Ok(())
    })
}
