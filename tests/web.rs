//! The `web` example (axum on hyper on Spindle): every route's status and JSON body, FastAPI's
//! 404 and 422 bodies, the Redis-backed routes against a real redis-server and the embedded
//! mini_redis, 50 requests at once, HTTP/2, graceful shutdown (in-flight requests finish; the
//! grace period is a bound), Ctrl-C, and no tokio runtime under the handlers. Also the
//! framework-free `web_hyper` variant.

// Not a library: `pub` items here are shared with the tests through `#[path]` modules,
// so the workspace's API lints (missing_docs, unreachable_pub, missing Debug) do not apply.
#![allow(missing_docs, unreachable_pub, missing_debug_implementations)]
#![cfg(feature = "hyper")]

mod peers;

#[allow(dead_code)]
#[path = "../examples/web.rs"]
mod example;

#[allow(dead_code)]
#[path = "../examples/web_hyper.rs"]
mod web_hyper;

use std::future::Future;
use std::io::ErrorKind;
use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use axum::routing::get;
use bytes::Bytes;
use example::{App, Server, get_path, post_json, resp, router, send};
use futures::channel::{mpsc, oneshot};
use futures::future::{FutureExt, Shared};
use futures::{AsyncWriteExt, StreamExt};
use http_body_util::{BodyExt, Full};
use hyper::{Method, Request, StatusCode};
use serde_json::{Value, json};
use spindle::net::TcpStream;

/// Every wait in these tests is bounded by this: a hang fails instead of stalling CI.
const BOUND: Duration = Duration::from_secs(20);

async fn bounded<F: Future>(what: &str, future: F) -> F::Output {
    spindle::time::timeout(BOUND, future)
        .await
        .unwrap_or_else(|_| panic!("{what}: no answer within {BOUND:?}"))
}

/// The app against a Redis at `redis`, with `/red` not sleeping.
fn app_on(redis: SocketAddr) -> Router {
    router(App {
        redis: resp::Pool::new(redis, 8),
        red_delay: Duration::ZERO,
    })
}

/// The app on a free port, with an in-process mini_redis behind it.
async fn serve_with_embedded_redis() -> (example::mini_redis::Server, Server) {
    let redis = example::mini_redis::start_in_process().await.unwrap();
    let server = Server::start("127.0.0.1:0", app_on(redis.addr))
        .await
        .unwrap();
    (redis, server)
}

fn parse(body: &str) -> Value {
    serde_json::from_str(body).unwrap_or_else(|err| panic!("not JSON ({err}): {body}"))
}

async fn get_json(addr: SocketAddr, path: &str) -> (StatusCode, Value) {
    let (status, body) = bounded(path, get_path(addr, path)).await.unwrap();
    (status, parse(&body))
}

async fn post_item(addr: SocketAddr, body: &str) -> (StatusCode, Value) {
    let (status, body) = bounded(body, post_json(addr, "/items", body))
        .await
        .unwrap();
    (status, parse(&body))
}

/// One 422 detail entry, FastAPI-shaped.
fn detail(loc: Value, kind: &str, msg: &str) -> Value {
    json!({"loc": loc, "msg": msg, "type": kind})
}

#[test]
fn root_and_typed_path_and_query_parameters() {
    spindle::run(async {
        let (redis, server) = serve_with_embedded_redis().await;
        let addr = server.addr;
        assert_eq!(
            get_json(addr, "/").await,
            (StatusCode::OK, json!({"message": "Hello World"}))
        );
        let long = "This is an amazing item that has a long description";
        assert_eq!(
            get_json(addr, "/items/5").await,
            (StatusCode::OK, json!({"item_id": 5, "description": long}))
        );
        assert_eq!(
            get_json(addr, "/items/5?q=some%20query").await,
            (
                StatusCode::OK,
                json!({"item_id": 5, "q": "some query", "description": long})
            )
        );
        assert_eq!(
            get_json(addr, "/items/18446744073709551615?q=x&short=true").await,
            (StatusCode::OK, json!({"item_id": u64::MAX, "q": "x"}))
        );
        bounded("shutdown", server.shutdown()).await.unwrap();
        redis.shutdown().await;
    });
}

#[test]
fn post_item_echoes_it_with_an_id_stored_in_real_redis() {
    let redis = peers::redis();
    spindle::run(async {
        let server = Server::start("127.0.0.1:0", app_on(redis.addr()))
            .await
            .unwrap();
        let addr = server.addr;
        assert_eq!(
            post_item(addr, r#"{"name": "Foo", "price": 35.4}"#).await,
            (
                StatusCode::OK,
                json!({"id": 1, "name": "Foo", "description": null, "price": 35.4, "tax": null})
            )
        );
        let full = json!({"name": "Bar", "description": "a bar", "price": 0.0, "tax": 1.5});
        let (status, body) = post_item(addr, &full.to_string()).await;
        assert_eq!(status, StatusCode::OK);
        let mut expected = full.clone();
        expected["id"] = 2.into();
        assert_eq!(body, expected);

        // The counter and the items really are in Redis.
        let mut conn = bounded("connect", resp::Connection::connect(redis.addr()))
            .await
            .unwrap();
        let next_id = bounded("get", conn.get("web:items:next_id")).await.unwrap();
        assert_eq!(next_id.as_deref(), Some("2"));
        let stored = bounded("get", conn.get("web:items:2")).await.unwrap();
        assert_eq!(parse(&stored.expect("item 2 is stored")), expected);
        bounded("shutdown", server.shutdown()).await.unwrap();
    });
}

#[test]
fn red_sleeps_then_counts_hits_in_real_redis() {
    let redis = peers::redis();
    spindle::run(async {
        let app = router(App {
            redis: resp::Pool::new(redis.addr(), 4),
            red_delay: Duration::from_millis(20),
        });
        let server = Server::start("127.0.0.1:0", app).await.unwrap();
        for hits in 1..=3 {
            assert_eq!(
                get_json(server.addr, "/red").await,
                (
                    StatusCode::OK,
                    json!({"message": "hello from redis", "hits": hits})
                )
            );
        }
        let mut conn = bounded("connect", resp::Connection::connect(redis.addr()))
            .await
            .unwrap();
        let hits = bounded("get", conn.get("web:hits")).await.unwrap();
        assert_eq!(hits.as_deref(), Some("3"));
        bounded("shutdown", server.shutdown()).await.unwrap();
    });
}

#[test]
fn unknown_paths_404_and_wrong_methods_405_with_fastapi_bodies() {
    spindle::run(async {
        let (redis, server) = serve_with_embedded_redis().await;
        let addr = server.addr;
        for path in ["/nope", "/red/extra", "/items/5/more"] {
            assert_eq!(
                get_json(addr, path).await,
                (StatusCode::NOT_FOUND, json!({"detail": "Not Found"})),
                "{path}"
            );
        }
        let delete = Request::delete("/items/5").body(Full::default()).unwrap();
        let (status, body) = bounded("DELETE", send(addr, delete)).await.unwrap();
        assert_eq!(
            (status, parse(&body)),
            (
                StatusCode::METHOD_NOT_ALLOWED,
                json!({"detail": "Method Not Allowed"})
            )
        );
        bounded("shutdown", server.shutdown()).await.unwrap();
        redis.shutdown().await;
    });
}

#[test]
fn bad_input_gets_fastapi_422s_naming_the_field() {
    spindle::run(async {
        let (redis, server) = serve_with_embedded_redis().await;
        let addr = server.addr;
        let ge0 = "Input should be greater than or equal to 0";

        // Validation after deserializing: every failing check is listed.
        assert_eq!(
            post_item(addr, r#"{"name": "Foo", "price": -1}"#).await,
            (
                StatusCode::UNPROCESSABLE_ENTITY,
                json!({"detail": [detail(json!(["body", "price"]), "greater_than_equal", ge0)]})
            )
        );
        assert_eq!(
            post_item(addr, r#"{"name": "Foo", "price": -1, "tax": -0.5}"#).await,
            (
                StatusCode::UNPROCESSABLE_ENTITY,
                json!({"detail": [
                    detail(json!(["body", "price"]), "greater_than_equal", ge0),
                    detail(json!(["body", "tax"]), "greater_than_equal", ge0),
                ]})
            )
        );
        // A missing field, a field of the wrong type.
        assert_eq!(
            post_item(addr, r#"{"name": "Foo"}"#).await,
            (
                StatusCode::UNPROCESSABLE_ENTITY,
                json!({"detail": [detail(json!(["body", "price"]), "missing", "Field required")]})
            )
        );
        let (status, body) = post_item(addr, r#"{"name": "Foo", "price": "cheap"}"#).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(body["detail"][0]["loc"], json!(["body", "price"]), "{body}");
        assert_eq!(body["detail"][0]["type"], "value_error", "{body}");
        // Not JSON at all.
        for malformed in [r#"{"name": "Foo", "price": "#, "name=Foo", ""] {
            let (status, body) = post_item(addr, malformed).await;
            assert_eq!(
                status,
                StatusCode::UNPROCESSABLE_ENTITY,
                "{malformed}: {body}"
            );
            assert_eq!(body["detail"][0]["loc"], json!(["body"]), "{body}");
            assert_eq!(body["detail"][0]["type"], "json_invalid", "{body}");
        }
        // A query parameter and a path parameter of the wrong type.
        let (status, body) = get_json(addr, "/items/5?short=maybe").await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(
            body["detail"][0]["loc"],
            json!(["query", "short"]),
            "{body}"
        );
        assert_eq!(
            get_json(addr, "/items/foo").await,
            (
                StatusCode::UNPROCESSABLE_ENTITY,
                json!({"detail": [detail(
                    json!(["path", "item_id"]),
                    "int_parsing",
                    "Input should be a valid integer"
                )]})
            )
        );
        // A body without `content-type: application/json` is not parsed at all.
        let form = Request::post("/items")
            .header("content-type", "application/x-www-form-urlencoded")
            .body(Full::new(Bytes::from_static(b"name=Foo&price=1")))
            .unwrap();
        let (status, _) = bounded("form POST", send(addr, form)).await.unwrap();
        assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE);

        // None of that reached Redis.
        let mut conn = bounded("connect", resp::Connection::connect(redis.addr))
            .await
            .unwrap();
        let next_id = bounded("get", conn.get("web:items:next_id")).await.unwrap();
        assert_eq!(next_id, None);
        bounded("shutdown", server.shutdown()).await.unwrap();
        redis.shutdown().await;
    });
}

#[test]
fn fifty_requests_at_once_share_the_redis_pool() {
    spindle::run(async {
        let (redis, server) = serve_with_embedded_redis().await;
        let addr = server.addr;
        let posts: Vec<_> = (0..50)
            .map(|i| {
                let body = format!(r#"{{"name": "item {i}", "price": {i}}}"#);
                spindle::spawn(async move { post_json(addr, "/items", &body).await })
            })
            .collect();
        let gets: Vec<_> = (0..50)
            .map(|i| {
                spindle::spawn(
                    async move { get_path(addr, &format!("/items/{i}?short=true")).await },
                )
            })
            .collect();
        let mut ids = Vec::new();
        for (i, post) in posts.into_iter().enumerate() {
            let (status, body) = bounded("POST", post).await.unwrap().unwrap();
            assert_eq!(status, StatusCode::OK, "{body}");
            let body = parse(&body);
            assert_eq!(body["name"], format!("item {i}"));
            ids.push(body["id"].as_i64().unwrap());
        }
        ids.sort_unstable();
        assert_eq!(
            ids,
            (1..=50).collect::<Vec<_>>(),
            "every id handed out once"
        );
        for (i, get) in gets.into_iter().enumerate() {
            let (status, body) = bounded("GET", get).await.unwrap().unwrap();
            assert_eq!(
                (status, parse(&body)),
                (StatusCode::OK, json!({"item_id": i}))
            );
        }
        assert_eq!(bounded("shutdown", server.shutdown()).await.unwrap(), 100);
        redis.shutdown().await;
    });
}

#[test]
fn http2_with_prior_knowledge() {
    spindle::run(async {
        let (redis, server) = serve_with_embedded_redis().await;
        let stream = TcpStream::connect(server.addr).await.unwrap();
        let (mut sender, conn) =
            hyper::client::conn::http2::handshake(spindle::hyper::Executor::new(), stream)
                .await
                .unwrap();
        spindle::spawn(conn);
        // Several requests multiplexed on the one connection.
        let requests: Vec<_> = (0..5)
            .map(|i| {
                let req = Request::get(format!("http://{}/items/{i}?short=true", server.addr))
                    .body(Full::<Bytes>::default())
                    .unwrap();
                sender.send_request(req)
            })
            .collect();
        for (i, request) in requests.into_iter().enumerate() {
            let resp = bounded("h2 request", request).await.unwrap();
            assert_eq!(resp.version(), hyper::Version::HTTP_2);
            assert_eq!(resp.status(), StatusCode::OK);
            let body = resp.into_body().collect().await.unwrap().to_bytes();
            assert_eq!(
                serde_json::from_slice::<Value>(&body).unwrap(),
                json!({"item_id": i})
            );
        }
        drop(sender);
        assert_eq!(bounded("shutdown", server.shutdown()).await.unwrap(), 1);
        redis.shutdown().await;
    });
}

/// A route for the shutdown tests: says when a request has arrived, then answers only once
/// `release` resolves (never, if it never does).
fn gated(
    app: Router,
    arrived: mpsc::UnboundedSender<()>,
    release: Shared<oneshot::Receiver<()>>,
) -> Router {
    app.route(
        "/gate",
        get(move || {
            let (arrived, release) = (arrived.clone(), release.clone());
            async move {
                arrived.unbounded_send(()).unwrap();
                let _ = release.await;
                "released"
            }
        }),
    )
}

#[test]
fn graceful_shutdown_lets_an_in_flight_request_finish_then_refuses() {
    spindle::run(async {
        let redis = example::mini_redis::start_in_process().await.unwrap();
        let (arrived_tx, mut arrived) = mpsc::unbounded();
        let (release, released) = oneshot::channel();
        let app = gated(app_on(redis.addr), arrived_tx, released.shared());
        let server = Server::start_with_grace("127.0.0.1:0", app, BOUND)
            .await
            .unwrap();
        let addr = server.addr;
        let in_flight = spindle::spawn(get_path(addr, "/gate"));
        bounded("request arrives", arrived.next()).await.unwrap();

        let shutdown = spindle::spawn(server.shutdown());
        // The listener goes first: new connections are refused ...
        bounded("listener closes", async {
            loop {
                match TcpStream::connect(addr).await {
                    Err(err) if err.kind() == ErrorKind::ConnectionRefused => break,
                    // Accepted into the backlog of a listener that then closed: try again.
                    Err(err) if err.kind() == ErrorKind::ConnectionReset => {}
                    Err(err) => panic!("{err}"),
                    Ok(_) => {}
                }
                spindle::time::sleep(Duration::from_millis(5)).await;
            }
        })
        .await;
        // ... while shutdown still waits for the request in the handler.
        assert!(!shutdown.is_finished());
        release.send(()).unwrap();
        let (status, body) = bounded("in-flight request", in_flight)
            .await
            .unwrap()
            .unwrap();
        assert_eq!((status, body.as_str()), (StatusCode::OK, "released"));
        assert!(bounded("shutdown", shutdown).await.unwrap().unwrap() >= 1);
        redis.shutdown().await;
    });
}

#[test]
fn shutdown_cuts_off_a_request_that_outlives_the_grace_period() {
    spindle::run(async {
        let redis = example::mini_redis::start_in_process().await.unwrap();
        let (arrived_tx, mut arrived) = mpsc::unbounded();
        let (_never, never) = oneshot::channel();
        let app = gated(app_on(redis.addr), arrived_tx, never.shared());
        let server = Server::start_with_grace("127.0.0.1:0", app, Duration::from_millis(100))
            .await
            .unwrap();
        let in_flight = spindle::spawn(get_path(server.addr, "/gate"));
        bounded("request arrives", arrived.next()).await.unwrap();
        assert_eq!(bounded("shutdown", server.shutdown()).await.unwrap(), 1);
        // The handler was dropped with its connection: the client hears nothing back.
        assert!(
            bounded("cut-off request", in_flight)
                .await
                .unwrap()
                .is_err()
        );
        redis.shutdown().await;
    });
}

#[test]
fn survives_a_client_that_disconnects_mid_request() {
    spindle::run(async {
        let redis = example::mini_redis::start_in_process().await.unwrap();
        let (arrived_tx, mut arrived) = mpsc::unbounded();
        let (release, released) = oneshot::channel();
        let app = gated(app_on(redis.addr), arrived_tx, released.shared());
        let server = Server::start("127.0.0.1:0", app).await.unwrap();
        // Half a request line and headers, then gone.
        let mut half = TcpStream::connect(server.addr).await.unwrap();
        half.write_all(b"GET / HTTP/1.1\r\nHost: loc")
            .await
            .unwrap();
        drop(half);
        // A whole request, but the client leaves while the handler is still running.
        let mut impatient = TcpStream::connect(server.addr).await.unwrap();
        impatient
            .write_all(b"GET /gate HTTP/1.1\r\nhost: x\r\n\r\n")
            .await
            .unwrap();
        bounded("request arrives", arrived.next()).await.unwrap();
        drop(impatient);
        release.send(()).unwrap();

        assert_eq!(
            get_json(server.addr, "/").await,
            (StatusCode::OK, json!({"message": "Hello World"}))
        );
        bounded("shutdown", server.shutdown()).await.unwrap();
        redis.shutdown().await;
    });
}

#[test]
fn handlers_run_on_spindle_without_a_tokio_runtime() {
    spindle::run(async {
        let redis = example::mini_redis::start_in_process().await.unwrap();
        let app = app_on(redis.addr).route(
            "/runtimes",
            get(|| async {
                axum::Json(json!({
                    "tokio": tokio::runtime::Handle::try_current().is_ok(),
                    "spindle": spindle::runtime::Handle::try_current().is_ok(),
                }))
            }),
        );
        let server = Server::start("127.0.0.1:0", app).await.unwrap();
        assert_eq!(
            get_json(server.addr, "/runtimes").await,
            (StatusCode::OK, json!({"tokio": false, "spindle": true}))
        );
        bounded("shutdown", server.shutdown()).await.unwrap();
        redis.shutdown().await;
    });
}

#[test]
fn ctrl_c_stops_the_server_gracefully() {
    spindle::run(async {
        let (redis, server) = serve_with_embedded_redis().await;
        let addr = server.addr;
        // Registered before the signal is raised: the handler replaces SIGINT's default
        // action (killing this test process).
        let ctrl_c = example::ctrl_c().unwrap();
        let waiter = spindle::spawn(async move {
            ctrl_c.await.unwrap();
            server.shutdown().await.unwrap()
        });
        assert_eq!(get_json(addr, "/").await.0, StatusCode::OK);
        signal_hook::low_level::raise(signal_hook::consts::SIGINT).unwrap();
        let served = bounded("Ctrl-C shuts the server down", waiter)
            .await
            .unwrap();
        assert_eq!(served, 1);
        assert!(TcpStream::connect(addr).await.is_err());
        redis.shutdown().await;
    });
}

#[test]
fn the_hyper_only_variant_routes_by_hand() {
    spindle::run(async {
        let listener = spindle::net::TcpListener::bind("127.0.0.1:0")
            .await
            .unwrap();
        let addr = listener.local_addr().unwrap();
        let server = spindle::spawn(web_hyper::serve(listener));
        for (path, status, body) in [
            ("/", StatusCode::OK, json!({"message": "Hello World"})),
            ("/items/7", StatusCode::OK, json!({"item_id": 7})),
            (
                "/items/x",
                StatusCode::UNPROCESSABLE_ENTITY,
                json!({"detail": "item_id should be an integer"}),
            ),
            (
                "/nope",
                StatusCode::NOT_FOUND,
                json!({"detail": "Not Found"}),
            ),
        ] {
            assert_eq!(get_json(addr, path).await, (status, body), "{path}");
        }
        let post = Request::builder()
            .method(Method::POST)
            .uri("/")
            .body(Full::default())
            .unwrap();
        let (status, _) = bounded("POST", send(addr, post)).await.unwrap();
        assert_eq!(status, StatusCode::NOT_FOUND);
        server.abort();
    });
}
