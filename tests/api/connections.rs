//! Slow, idle and surplus connections (decision 014): a client that does not
//! send its request's headers in time is closed, and so is one idle that long
//! between requests, while a request in flight is never cut; beyond the
//! connection cap the oldest connection without a request makes room, or a
//! newcomer gets a `503` problem; shutdown closes connections without a
//! request and completes those in flight.
//!
//! These tests speak HTTP/1.1 by hand on raw sockets, to hold connections in
//! states a client library never leaves them in. Every wait is bounded by
//! [`PATIENCE`] as a failure bound only.

use std::time::{Duration, Instant};

use reqwest::header::HeaderMap;
use reqwest::{Method, StatusCode};
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::helpers::*;

/// The header timeout of the servers that wait it out: short, so the tests
/// stay quick.
const SHORT: Duration = Duration::from_millis(300);

/// The header timeout of the servers that must not time out during a test.
const LONG: Duration = Duration::from_secs(600);

/// A request line and one header, without the blank line that ends them.
const PARTIAL: &[u8] = b"GET /api/v1/healthz HTTP/1.1\r\nhost: passerelle.test\r\n";

/// A client connection driven by hand.
struct Conn {
    stream: TcpStream,
    /// Bytes read past the last response.
    buf: Vec<u8>,
}

impl Conn {
    /// Connects to `app`.
    async fn open(app: &TestApp) -> Self {
        let stream = within(TcpStream::connect(app.addr)).await.expect("connect");
        Self {
            stream,
            buf: Vec::new(),
        }
    }

    /// Sends raw bytes.
    async fn send(&mut self, bytes: &[u8]) {
        within(self.stream.write_all(bytes)).await.expect("send");
    }

    /// `GET path` with an optional bearer token, kept alive, and its response.
    async fn get(&mut self, path: &str, token: Option<&Token>) -> Reply {
        let auth = token
            .map(|t| format!("authorization: Bearer {}\r\n", t.secret))
            .unwrap_or_default();
        let request = format!("GET {path} HTTP/1.1\r\nhost: passerelle.test\r\n{auth}\r\n");
        self.send(request.as_bytes()).await;
        self.response().await
    }

    /// Reads one response with a `content-length` body.
    async fn response(&mut self) -> Reply {
        let end = loop {
            if let Some(i) = self.buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break i + 4;
            }
            assert!(self.fill().await > 0, "closed before a response head");
        };
        let head = String::from_utf8(self.buf.drain(..end).collect()).expect("a UTF-8 head");
        let mut lines = head.lines();
        let status = lines
            .next()
            .and_then(|l| l.split(' ').nth(1))
            .and_then(|s| StatusCode::from_bytes(s.as_bytes()).ok())
            .unwrap_or_else(|| panic!("a status line: {head}"));
        let mut headers = HeaderMap::new();
        for (k, v) in lines.filter_map(|l| l.split_once(':')) {
            let name = reqwest::header::HeaderName::from_bytes(k.trim().as_bytes())
                .expect("a header name");
            headers.append(name, v.trim().parse().expect("a header value"));
        }
        let len: usize = headers
            .get("content-length")
            .and_then(|v| v.to_str().ok()?.parse().ok())
            .unwrap_or_else(|| panic!("a content-length: {head}"));
        while self.buf.len() < len {
            assert!(self.fill().await > 0, "closed inside a response body");
        }
        let body = self.buf.drain(..len).collect::<Vec<u8>>().into();
        Reply {
            status,
            headers,
            body,
        }
    }

    /// Waits until the server closes the connection; what it sent meanwhile.
    async fn closed(&mut self) -> Vec<u8> {
        while self.fill().await > 0 {}
        std::mem::take(&mut self.buf)
    }

    /// Reads what is there into `buf`: the number of bytes, 0 at the end
    /// (a reset is an end too).
    async fn fill(&mut self) -> usize {
        let mut chunk = [0u8; 4096];
        match within(self.stream.read(&mut chunk)).await {
            Ok(n) => {
                self.buf.extend_from_slice(&chunk[..n]);
                n
            }
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => 0,
            Err(e) => panic!("read: {e}"),
        }
    }
}

/// The value of a Prometheus sample in `metrics`.
fn sample(metrics: &Reply, name: &str) -> u64 {
    metrics
        .text()
        .lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
        .unwrap_or_else(|| panic!("no {name} in\n{}", metrics.text()))
}

#[tokio::test]
async fn headers_not_sent_in_time_close_the_connection_while_others_are_served() {
    let app = TestApp::spawn_empty_with(|c| c.header_timeout = SHORT).await;
    let started = Instant::now();
    let mut silent = Conn::open(&app).await;
    let mut partial = Conn::open(&app).await;
    partial.send(PARTIAL).await;

    app.healthz().await.expect(200);

    assert_eq!(silent.closed().await, b"", "nothing is answered");
    assert_eq!(partial.closed().await, b"", "nothing is answered");
    assert!(started.elapsed() >= SHORT, "closed before the timeout");
    app.healthz().await.expect(200);
}

#[tokio::test]
async fn an_idle_connection_is_closed_but_never_one_with_a_request_in_flight() {
    let app = TestApp::spawn_empty_with(|c| c.header_timeout = SHORT).await;
    let mut stream = app.stream(&app.tokens.coordinator, None, None).await;
    assert_eq!(stream.next_event().await.0, 1);
    let streaming = Instant::now();

    let mut kept = Conn::open(&app).await;
    kept.get("/api/v1/healthz", None).await.expect(200);
    let idle = Instant::now();
    assert_eq!(kept.closed().await, b"", "nothing more is answered");
    assert!(idle.elapsed() >= SHORT, "closed before the timeout");

    // The stream has sent only heartbeats for longer than the timeout, and
    // goes on.
    while streaming.elapsed() < 2 * SHORT {
        let frame = stream.next().await.expect("the stream goes on");
        assert!(matches!(frame, Frame::Comment(_)), "{frame:?}");
    }
}

#[tokio::test]
async fn beyond_the_cap_a_waiting_connection_makes_room_or_a_newcomer_gets_503() {
    let app = TestApp::spawn_empty_with(|c| {
        c.max_connections = 2;
        c.header_timeout = LONG;
    })
    .await;
    let admin = app.tokens.admin.clone();
    let mut served = Conn::open(&app).await;
    served.get("/api/v1/healthz", None).await.expect(200);
    let mut waiting = Conn::open(&app).await;
    waiting.send(PARTIAL).await;

    // At the cap, a newcomer takes the place of the connection that has not
    // sent a complete request.
    let mut newcomer = Conn::open(&app).await;
    assert_eq!(waiting.closed().await, b"", "shed without an answer");
    newcomer.get("/api/v1/healthz", None).await.expect(200);

    // Both held connections have sent a request: the next one is refused.
    let mut refused = Conn::open(&app).await;
    refused
        .send(b"GET /api/v1/healthz HTTP/1.1\r\nhost: passerelle.test\r\n\r\n")
        .await;
    let reply = refused.response().await;
    conforms(&Method::GET, "/api/v1/healthz", &reply);
    let problem = reply.problem(503);
    assert_eq!(problem["type"], json!("/problems/unavailable"));
    assert!(
        problem["detail"]
            .as_str()
            .is_some_and(|d| d.contains("limit of 2 connections")),
        "{problem}"
    );
    assert_eq!(reply.header("retry-after"), Some("1"));
    assert_eq!(reply.header("connection"), Some("close"));
    assert_eq!(refused.closed().await, b"", "closed after the answer");

    // The held connections still work.
    let metrics = served.get("/api/v1/metrics", Some(&admin)).await;
    metrics.expect(200);
    assert_eq!(sample(&metrics, "passerelle_http_connections_open"), 2);
    assert_eq!(
        sample(&metrics, "passerelle_http_connections_shed_total"),
        1
    );
    assert_eq!(
        sample(&metrics, "passerelle_http_connections_refused_total"),
        1
    );

    // Once one closes, a new connection is served again.
    drop(served);
    loop {
        let metrics = newcomer.get("/api/v1/metrics", Some(&admin)).await;
        if sample(&metrics, "passerelle_http_connections_open") == 1 {
            break;
        }
    }
    let mut next = Conn::open(&app).await;
    next.get("/api/v1/healthz", None).await.expect(200);
}

#[tokio::test]
async fn shutdown_closes_connections_without_a_request_and_completes_those_in_flight() {
    let mut app = TestApp::spawn_empty_with(|c| c.header_timeout = LONG).await;
    let mut waiting = Conn::open(&app).await;
    waiting.send(PARTIAL).await;
    let mut idle = Conn::open(&app).await;
    idle.get("/api/v1/healthz", None).await.expect(200);
    let event = stakeholder(LAB, "last-word");
    let body = event.to_string().into_bytes();
    let in_flight = app
        .begin_post_events(&app.tokens.coordinator, body.len())
        .await;

    app.trigger_shutdown();

    // Long before their header timeout, the connections without a request
    // in flight are closed.
    assert_eq!(waiting.closed().await, b"");
    assert_eq!(idle.closed().await, b"");
    let (status, stored) = in_flight.finish(body).await;
    assert_eq!(status, 201, "{stored}");
    assert_eq!(stored["id"], event["id"]);
    app.stopped().await;
    assert!(
        TcpStream::connect(app.addr).await.is_err(),
        "the listener is closed"
    );
}
