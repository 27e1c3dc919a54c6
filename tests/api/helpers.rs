//! The test server: a [`TestApp`] serves a fresh store (the demo log, or an
//! empty log with one programme) on port 0 with a token for each role, and
//! has one method per endpoint returning status, headers and body. Every
//! JSON or problem response it receives is checked against the OpenAPI
//! document ([`conforms`]).
//!
//! Waits are bounded by [`PATIENCE`] as a failure bound only: a test never
//! sleeps to let something happen.

use std::future::Future;
use std::io::{Read, Write};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use bytes::Bytes;
use futures::stream::BoxStream;
use futures::StreamExt;
use passerelle::api::{ApiConfig, App};
use passerelle::auth::Role;
use passerelle::http::guard::PublicUrl;
use passerelle::store::Location;
use passerelle_events::{EventLog, Ledger, SqliteStore, Submission};
use passerelle_projections::views::Settings;
use reqwest::header::HeaderMap;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// The body limit of the test server: small, so 413 is cheap to provoke.
pub const BODY_LIMIT: u64 = 16 * 1024;
/// How long `min_position` may wait on the test server: a bound on the
/// follower's delay when the suite's tests all run at once on a loaded
/// machine (300 ms was seen to be too short in CI), short enough that the
/// one test that waits it out stays quick.
pub const MIN_POSITION_TIMEOUT: Duration = Duration::from_secs(3);
/// Interval of SSE heartbeat comments on the test server.
pub const HEARTBEAT: Duration = Duration::from_millis(200);
/// The longest the suite waits for anything; reaching it fails the test.
pub const PATIENCE: Duration = Duration::from_secs(10);

/// Events in the demo log.
pub const DEMO_EVENTS: u64 = 364;
/// Of which hidden from mentors and viewers (attendances): the positions
/// they are told count the others only.
pub const DEMO_HIDDEN: u64 = 107;
/// Events of the demo log that mentors and viewers see: the position they
/// are told at the demo's head.
pub const DEMO_VISIBLE: u64 = DEMO_EVENTS - DEMO_HIDDEN;
/// The programme of the empty log.
pub const LAB: &str = "lab";

/// An API token the test server issued.
#[derive(Debug, Clone)]
pub struct Token {
    /// Its id (`tok_…`).
    pub id: String,
    /// Its name: `recorded_by` of what it appends.
    pub name: String,
    /// The bearer secret.
    pub secret: String,
}

/// One token per role, and a coordinator and an admin scoped to `brussels`.
#[derive(Debug, Clone)]
pub struct Tokens {
    pub admin: Token,
    pub coordinator: Token,
    pub mentor: Token,
    pub viewer: Token,
    /// A coordinator token scoped to programme `brussels`.
    pub brussels: Token,
    /// An admin token scoped to programme `brussels`.
    pub brussels_admin: Token,
}

/// How a request authenticates.
#[derive(Debug, Clone, Copy)]
pub enum Auth<'a> {
    /// No credentials.
    None,
    /// `Authorization: Bearer <secret>`.
    Bearer(&'a str),
    /// The session cookie set by `/login`.
    Cookie(&'a str),
}

impl<'a> From<&'a Token> for Auth<'a> {
    fn from(t: &'a Token) -> Self {
        Auth::Bearer(&t.secret)
    }
}

/// A response: status, headers and the whole body.
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Reply {
    /// The body as text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The body as JSON; panics with the body when it is not.
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}), status {}: {}", self.status, self.text()))
    }

    /// A header's value as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The content type, or "".
    pub fn content_type(&self) -> &str {
        self.header("content-type").unwrap_or_default()
    }

    /// Asserts a status, with the body in the message.
    #[track_caller]
    pub fn expect(&self, status: u16) -> &Self {
        assert_eq!(
            self.status.as_u16(),
            status,
            "expected {status}, got {}: {}",
            self.status,
            self.text()
        );
        self
    }

    /// Asserts a 2xx/3xx JSON response with `status` and returns its body.
    #[track_caller]
    pub fn ok_json(&self, status: u16) -> Value {
        self.expect(status);
        assert!(
            self.content_type().starts_with("application/json"),
            "content type {:?}",
            self.content_type()
        );
        self.json()
    }

    /// Asserts an RFC 9457 problem with `status` and returns it.
    #[track_caller]
    pub fn problem(&self, status: u16) -> Value {
        self.expect(status);
        assert_eq!(
            self.content_type(),
            "application/problem+json",
            "{}",
            self.text()
        );
        let p = self.json();
        assert_eq!(p["status"], json!(status), "{p}");
        for key in ["type", "title", "detail"] {
            assert!(p[key].is_string(), "problem without {key}: {p}");
        }
        p
    }
}

/// Checks a response against the OpenAPI document, for the route template
/// (`/api/v1/stakeholders/{id}`) it was served by: its status, content type
/// and body (JSON as JSON; a 304 as null; text as a JSON string). Routes the
/// document does not describe (`/login`, the web pages, unknown paths, other
/// methods) are not checked.
#[track_caller]
pub fn conforms(method: &Method, template: &str, reply: &Reply) {
    // Paths outside the API (the web pages, `/login`) are not in the document.
    let Some(relative) = template.strip_prefix(crate::openapi::BASE_PATH) else {
        return;
    };
    if !crate::openapi::routes().contains(&(method.as_str(), relative)) {
        return;
    }
    let ct = reply.content_type();
    let body = if reply.body.is_empty() {
        Value::Null
    } else if ct.starts_with("application/json") || ct.starts_with("application/problem+json") {
        reply.json()
    } else {
        Value::String(reply.text())
    };
    if let Err(errors) = crate::openapi::validate_response(
        method.as_str(),
        template,
        reply.status.as_u16(),
        ct,
        &body,
    ) {
        panic!(
            "{method} {template} → {} does not conform to the OpenAPI document:\n  {}\nbody: {}",
            reply.status,
            errors.join("\n  "),
            reply.text()
        );
    }
}

/// The route template of a path, as the OpenAPI document names it.
pub fn template_of(path: &str) -> String {
    let one_segment = |rest: Option<&str>| rest.is_some_and(|s| !s.is_empty() && !s.contains('/'));
    if one_segment(path.strip_prefix("/api/v1/stakeholders/")) {
        "/api/v1/stakeholders/{id}".to_owned()
    } else if one_segment(path.strip_prefix("/api/v1/subjects/")) {
        "/api/v1/subjects/{subject}".to_owned()
    } else {
        path.to_owned()
    }
}

/// A subject id percent-encoded as one path segment (`:` and `/` escaped,
/// and `%` itself).
pub fn encode_subject(subject: &str) -> String {
    subject
        .replace('%', "%25")
        .replace(':', "%3A")
        .replace('/', "%2F")
}

/// The status and headers of a response head read off a raw connection.
pub fn parse_head(head: &str) -> (StatusCode, HeaderMap) {
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|s| StatusCode::from_bytes(s.as_bytes()).ok())
        .unwrap_or_else(|| panic!("a status line: {head}"));
    let mut headers = HeaderMap::new();
    for (k, v) in lines.filter_map(|l| l.split_once(':')) {
        let name =
            reqwest::header::HeaderName::from_bytes(k.trim().as_bytes()).expect("a header name");
        headers.append(name, v.trim().parse().expect("a header value"));
    }
    (status, headers)
}

/// A server on port 0 over a store in a temporary directory.
pub struct TestApp {
    /// Where it listens.
    pub addr: SocketAddr,
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    /// The application (for tokens and the projected position).
    pub app: App,
    /// The store file.
    pub db: PathBuf,
    /// Its tokens.
    pub tokens: Tokens,
    client: reqwest::Client,
    shutdown: Option<oneshot::Sender<()>>,
    handle: Option<JoinHandle<()>>,
    _dir: tempfile::TempDir,
}

impl TestApp {
    /// Serves the demo log (364 events; programmes `sjdlr` and `brussels`).
    pub async fn spawn() -> Self {
        Self::spawn_with(Self::config(Settings::default())).await
    }

    /// Serves the demo log with `config` (e.g. a short render deadline).
    pub async fn spawn_with(config: ApiConfig) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let db = dir.path().join("demo.db");
        let (ledger, done) = passerelle::demo::seed(&Location::File(db.clone()))
            .await
            .expect("seed the demo");
        assert_eq!(done.created, DEMO_EVENTS);
        drop(ledger);
        Self::serve_with(dir, db, config).await
    }

    /// The test server's configuration: [`BODY_LIMIT`],
    /// [`MIN_POSITION_TIMEOUT`], [`HEARTBEAT`], reads waiting for a place
    /// among the renderings up to [`PATIENCE`] (tests that read many
    /// debug-built views at once on a loaded machine are not about
    /// admission), and these projection settings; the server's defaults
    /// otherwise.
    pub fn config(settings: Settings) -> ApiConfig {
        ApiConfig {
            body_limit: BODY_LIMIT,
            min_position_timeout: MIN_POSITION_TIMEOUT,
            heartbeat: HEARTBEAT,
            render_wait: PATIENCE,
            settings,
            ..ApiConfig::default()
        }
    }

    /// Serves a store into which `jsonl` (wire events, one a line, as
    /// `passerelle import` reads them) was imported by the demo's actor,
    /// with these projection settings (e.g. fewer layout iterations, for a
    /// test that reads many maps).
    pub async fn spawn_from(jsonl: &str, settings: Settings) -> Self {
        Self::spawn_from_with(jsonl, Self::config(settings)).await
    }

    /// [`TestApp::spawn_from`] with a whole server configuration (e.g. a
    /// longer render deadline for a large log read by a debug build).
    pub async fn spawn_from_with(jsonl: &str, config: ApiConfig) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let db = dir.path().join("log.db");
        let ledger = open_new_ledger(&db).await;
        passerelle::commands::import::import(
            &ledger,
            std::io::Cursor::new(jsonl.as_bytes()),
            passerelle::demo::DEMO_ACTOR,
            None,
        )
        .await
        .expect("import the log");
        drop(ledger);
        Self::serve_with(dir, db, config).await
    }

    /// Serves a log holding only the definition of programme [`LAB`].
    pub async fn spawn_empty() -> Self {
        Self::spawn_empty_with(|_| {}).await
    }

    /// [`TestApp::spawn_empty`], the server started with `--public-url`
    /// `public_url` when given.
    pub async fn spawn_empty_at(public_url: Option<&str>) -> Self {
        let public_url = public_url.map(|u| PublicUrl::parse(u).expect("a public URL"));
        Self::spawn_empty_with(|c| c.public_url = public_url).await
    }

    /// Serves a log holding only the definition of programme [`LAB`], with
    /// the test server's settings changed by `tune` (e.g. connection limits).
    pub async fn spawn_empty_with(tune: impl FnOnce(&mut ApiConfig)) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let db = dir.path().join("lab.db");
        let location = Location::File(db.clone());
        passerelle::commands::init::init(&location)
            .await
            .expect("create the store and its key");
        let store = SqliteStore::open(&db).expect("open the store");
        let keyring = passerelle::master_key::open_keyring(store, &location)
            .await
            .expect("open the keyring");
        let ledger = Ledger::open(keyring).await.expect("open the ledger");
        let defined = Submission::from_wire(&json!({
            "type": "ProgrammeDefined", "programme": LAB, "occurred_at": "2024-01-15",
            "data": {"programme": LAB, "name": "Laboratory", "role": "mentee", "country": "FR"},
        }))
        .expect("a valid programme");
        ledger
            .record(vec![defined], "setup")
            .await
            .expect("define the programme");
        drop(ledger);
        let mut config = Self::config(Settings::default());
        tune(&mut config);
        Self::serve_with(dir, db, config).await
    }

    async fn serve_with(dir: tempfile::TempDir, db: PathBuf, config: ApiConfig) -> Self {
        let app = App::open(&Location::File(db.clone()), config)
            .await
            .expect("open the app");
        // Reads then find every month's layout kept: a map read gives the
        // same positions whenever it comes.
        app.layouts_settled().await;
        let token = |name: &str, role: Role, programme: Option<&str>| {
            let (info, secret) = app
                .tokens()
                .create(name, role, programme)
                .expect("create a token");
            Token {
                id: info.id,
                name: info.name,
                secret,
            }
        };
        let tokens = Tokens {
            admin: token("ada admin", Role::Admin, None),
            coordinator: token("cora coordinator", Role::Coordinator, None),
            mentor: token("max mentor", Role::Mentor, None),
            viewer: token("vic viewer", Role::Viewer, None),
            brussels: token("bea brussels", Role::Coordinator, Some("brussels")),
            brussels_admin: token("bob brussels admin", Role::Admin, Some("brussels")),
        };
        let (tx, rx) = oneshot::channel::<()>();
        let server = passerelle::server::serve(
            app.clone(),
            "127.0.0.1:0".parse().expect("an address"),
            async {
                let _ = rx.await;
            },
        )
        .await
        .expect("serve");
        // No idle connection is reused: a test server may close one at its
        // (short) header timeout while the client picks it for a request.
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .pool_max_idle_per_host(0)
            .build()
            .expect("a client");
        Self {
            addr: server.addr,
            base: format!("http://{}", server.addr),
            app,
            db,
            tokens,
            client,
            shutdown: Some(tx),
            handle: Some(server.handle),
            _dir: dir,
        }
    }

    /// `GET path?query` with a token, the response not checked against the
    /// OpenAPI document (for tests that check one response of many alike
    /// with [`conforms`] themselves).
    pub async fn get_unchecked(&self, path: &str, auth: Auth<'_>, query: &str) -> Reply {
        let mut url = format!("{}{path}", self.base);
        if !query.is_empty() {
            url = format!("{url}?{query}");
        }
        let mut req = self.client.get(&url);
        req = match auth {
            Auth::None => req,
            Auth::Bearer(t) => req.header("authorization", format!("Bearer {t}")),
            Auth::Cookie(c) => req.header("cookie", c),
        };
        within(async {
            let resp = req
                .send()
                .await
                .unwrap_or_else(|e| panic!("GET {url}: {e}"));
            let status = resp.status();
            let headers = resp.headers().clone();
            let body = resp
                .bytes()
                .await
                .unwrap_or_else(|e| panic!("GET {url}: body: {e}"));
            Reply {
                status,
                headers,
                body,
            }
        })
        .await
    }

    /// Sends one request and checks the response against the OpenAPI document.
    pub async fn send(
        &self,
        method: Method,
        path: &str,
        auth: Auth<'_>,
        query: &str,
        headers: &[(&str, &str)],
        body: Option<reqwest::Body>,
    ) -> Reply {
        let mut url = format!("{}{path}", self.base);
        if !query.is_empty() {
            url = format!("{url}?{query}");
        }
        let mut req = self.client.request(method.clone(), &url);
        req = match auth {
            Auth::None => req,
            Auth::Bearer(t) => req.header("authorization", format!("Bearer {t}")),
            Auth::Cookie(c) => req.header("cookie", c),
        };
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        if let Some(body) = body {
            // JSON unless the test names another content type.
            if !headers
                .iter()
                .any(|(k, _)| k.eq_ignore_ascii_case("content-type"))
            {
                req = req.header("content-type", "application/json");
            }
            req = req.body(body);
        }
        let reply = within(async {
            let resp = req
                .send()
                .await
                .unwrap_or_else(|e| panic!("{method} {url}: {e}"));
            let status = resp.status();
            let headers = resp.headers().clone();
            let body = resp
                .bytes()
                .await
                .unwrap_or_else(|e| panic!("{method} {url}: body: {e}"));
            Reply {
                status,
                headers,
                body,
            }
        })
        .await;
        conforms(&method, &template_of(path), &reply);
        reply
    }

    /// `GET path?query` with extra headers.
    pub async fn get(
        &self,
        path: &str,
        auth: Auth<'_>,
        query: &str,
        headers: &[(&str, &str)],
    ) -> Reply {
        self.send(Method::GET, path, auth, query, headers, None)
            .await
    }

    /// `POST path` with a JSON body.
    pub async fn post_json(&self, path: &str, auth: Auth<'_>, body: &Value) -> Reply {
        self.send(
            Method::POST,
            path,
            auth,
            "",
            &[],
            Some(body.to_string().into()),
        )
        .await
    }

    /// `POST /api/v1/events` with a JSON body (an event or an array).
    pub async fn post_events<'a>(&self, auth: impl Into<Auth<'a>>, body: &Value) -> Reply {
        self.post_events_raw(auth, body.to_string()).await
    }

    /// `POST /api/v1/events` with any body.
    pub async fn post_events_raw<'a>(
        &self,
        auth: impl Into<Auth<'a>>,
        body: impl Into<reqwest::Body>,
    ) -> Reply {
        self.send(
            Method::POST,
            "/api/v1/events",
            auth.into(),
            "",
            &[],
            Some(body.into()),
        )
        .await
    }

    /// `GET /api/v1/events?query`.
    pub async fn events<'a>(&self, auth: impl Into<Auth<'a>>, query: &str) -> Reply {
        self.get("/api/v1/events", auth.into(), query, &[]).await
    }

    /// `GET /api/v1/events/stream?after=…` with an optional `Last-Event-ID`.
    pub async fn stream<'a>(
        &self,
        auth: impl Into<Auth<'a>>,
        after: Option<u64>,
        last_event_id: Option<u64>,
    ) -> EventStream {
        let mut url = format!("{}/api/v1/events/stream", self.base);
        if let Some(a) = after {
            url = format!("{url}?after={a}");
        }
        let mut req = self.client.get(&url);
        req = match auth.into() {
            Auth::None => req,
            Auth::Bearer(t) => req.header("authorization", format!("Bearer {t}")),
            Auth::Cookie(c) => req.header("cookie", c),
        };
        if let Some(id) = last_event_id {
            req = req.header("last-event-id", id.to_string());
        }
        let resp = within(req.send()).await.expect("open the event stream");
        let (status, headers) = (resp.status(), resp.headers().clone());
        if status != StatusCode::OK {
            // An error is a whole response: read it and check it.
            let body = within(resp.bytes()).await.expect("read the error");
            let reply = Reply {
                status,
                headers,
                body,
            };
            conforms(&Method::GET, "/api/v1/events/stream", &reply);
            let problem = Some(reply.json());
            return EventStream {
                status: reply.status,
                headers: reply.headers,
                body: futures::stream::empty().boxed(),
                buf: String::new(),
                problem,
            };
        }
        // A stream never ends by itself: its content type here, each
        // message against the document as it arrives (`next_event`).
        let ct = headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        assert!(
            ct.starts_with("text/event-stream"),
            "GET /api/v1/events/stream → 200 with content type {ct:?}"
        );
        EventStream {
            status,
            headers,
            body: resp.bytes_stream().boxed(),
            buf: String::new(),
            problem: None,
        }
    }

    /// `GET /api/v1/programmes?query`.
    pub async fn programmes<'a>(&self, auth: impl Into<Auth<'a>>, query: &str) -> Reply {
        self.get("/api/v1/programmes", auth.into(), query, &[])
            .await
    }

    /// `GET /api/v1/stakeholders?query`.
    pub async fn stakeholders<'a>(&self, auth: impl Into<Auth<'a>>, query: &str) -> Reply {
        self.get("/api/v1/stakeholders", auth.into(), query, &[])
            .await
    }

    /// `GET /api/v1/stakeholders/{id}?query`.
    pub async fn stakeholder<'a>(&self, auth: impl Into<Auth<'a>>, id: &str, query: &str) -> Reply {
        self.get(
            &format!("/api/v1/stakeholders/{id}"),
            auth.into(),
            query,
            &[],
        )
        .await
    }

    /// `GET /api/v1/partnerships?query`.
    pub async fn partnerships<'a>(&self, auth: impl Into<Auth<'a>>, query: &str) -> Reply {
        self.get("/api/v1/partnerships", auth.into(), query, &[])
            .await
    }

    /// `GET /api/v1/sessions?query`.
    pub async fn sessions<'a>(&self, auth: impl Into<Auth<'a>>, query: &str) -> Reply {
        self.get("/api/v1/sessions", auth.into(), query, &[]).await
    }

    /// `GET /api/v1/needs?query`.
    pub async fn needs<'a>(&self, auth: impl Into<Auth<'a>>, query: &str) -> Reply {
        self.get("/api/v1/needs", auth.into(), query, &[]).await
    }

    /// `GET /api/v1/milestones?query`.
    pub async fn milestones<'a>(&self, auth: impl Into<Auth<'a>>, query: &str) -> Reply {
        self.get("/api/v1/milestones", auth.into(), query, &[])
            .await
    }

    /// `GET /api/v1/notes?query`.
    pub async fn notes<'a>(&self, auth: impl Into<Auth<'a>>, query: &str) -> Reply {
        self.get("/api/v1/notes", auth.into(), query, &[]).await
    }

    /// `GET /api/v1/network?query`.
    pub async fn network<'a>(&self, auth: impl Into<Auth<'a>>, query: &str) -> Reply {
        self.get("/api/v1/network", auth.into(), query, &[]).await
    }

    /// `GET /api/v1/gaps?query`.
    pub async fn gaps<'a>(&self, auth: impl Into<Auth<'a>>, query: &str) -> Reply {
        self.get("/api/v1/gaps", auth.into(), query, &[]).await
    }

    /// `GET /api/v1/gaps/evidence?query`.
    pub async fn evidence<'a>(&self, auth: impl Into<Auth<'a>>, query: &str) -> Reply {
        self.get("/api/v1/gaps/evidence", auth.into(), query, &[])
            .await
    }

    /// `GET` of a link an answer gave (`next`, `evidence_next`, …): a path
    /// and query.
    pub async fn follow<'a>(&self, auth: impl Into<Auth<'a>>, link: &str) -> Reply {
        let (path, query) = link.split_once('?').unwrap_or((link, ""));
        self.get(path, auth.into(), query, &[]).await
    }

    /// Sends `GET path?query` with `token` on a raw connection and returns
    /// the connection without reading the answer: the request is in flight
    /// until the answer comes or the connection is dropped (the client goes
    /// away).
    pub async fn begin_get(&self, token: &Token, path: &str, query: &str) -> std::net::TcpStream {
        let addr = self.addr;
        let head = format!(
            "GET {path}?{query} HTTP/1.1\r\nhost: {addr}\r\nauthorization: Bearer {}\r\n\
             connection: close\r\n\r\n",
            token.secret
        );
        blocking(move || {
            let mut conn = std::net::TcpStream::connect(addr).expect("connect");
            conn.write_all(head.as_bytes()).expect("send the request");
            conn
        })
        .await
    }

    /// A metric's value as `/api/v1/metrics` gives it (the line that starts
    /// with `series`, e.g. `passerelle_renders_in_flight`).
    pub async fn metric(&self, series: &str) -> f64 {
        let text = self.metrics(&self.tokens.admin).await.expect(200).text();
        text.lines()
            .find_map(|l| l.strip_prefix(series)?.strip_prefix(' '))
            .unwrap_or_else(|| panic!("no metric {series} in:\n{text}"))
            .trim()
            .parse()
            .unwrap_or_else(|e| panic!("metric {series}: {e}"))
    }

    /// Reads metric `series` until it is `value`, failing after [`PATIENCE`].
    pub async fn metric_reaches(&self, series: &str, value: f64) {
        within(async {
            while self.metric(series).await != value {
                tokio::task::yield_now().await;
            }
        })
        .await
    }

    /// `GET /api/v1/participation?query`.
    pub async fn participation<'a>(&self, auth: impl Into<Auth<'a>>, query: &str) -> Reply {
        self.get("/api/v1/participation", auth.into(), query, &[])
            .await
    }

    /// `GET /api/v1/diff?query`.
    pub async fn diff<'a>(&self, auth: impl Into<Auth<'a>>, query: &str) -> Reply {
        self.get("/api/v1/diff", auth.into(), query, &[]).await
    }

    /// `GET /api/v1/tokens`.
    pub async fn list_tokens<'a>(&self, auth: impl Into<Auth<'a>>) -> Reply {
        self.get("/api/v1/tokens", auth.into(), "", &[]).await
    }

    /// `POST /api/v1/revocations` with this body.
    pub async fn revoke<'a>(&self, auth: impl Into<Auth<'a>>, body: &Value) -> Reply {
        self.post_json("/api/v1/revocations", auth.into(), body)
            .await
    }

    /// `POST /api/v1/erasures` with a JSON body.
    pub async fn erase<'a>(&self, auth: impl Into<Auth<'a>>, body: &Value) -> Reply {
        self.post_json("/api/v1/erasures", auth.into(), body).await
    }

    /// `GET /api/v1/subjects/{subject}`, the subject encoded as one segment.
    pub async fn subject<'a>(&self, auth: impl Into<Auth<'a>>, subject: &str) -> Reply {
        self.get(
            &format!("/api/v1/subjects/{}", encode_subject(subject)),
            auth.into(),
            "",
            &[],
        )
        .await
    }

    /// `GET /api/v1/healthz` (no token).
    pub async fn healthz(&self) -> Reply {
        self.get("/api/v1/healthz", Auth::None, "", &[]).await
    }

    /// `GET /api/v1/metrics`.
    pub async fn metrics<'a>(&self, auth: impl Into<Auth<'a>>) -> Reply {
        self.get("/api/v1/metrics", auth.into(), "", &[]).await
    }

    /// `GET /api/v1/openapi.json` (no token).
    pub async fn openapi(&self) -> Reply {
        self.get("/api/v1/openapi.json", Auth::None, "", &[]).await
    }

    /// `GET /login?code=…`.
    pub async fn login(&self, code: &str) -> Reply {
        self.get("/login", Auth::None, &format!("code={code}"), &[])
            .await
    }

    /// The log's head, as `GET /api/v1/events` reports it.
    pub async fn head(&self) -> u64 {
        let body = self
            .events(&self.tokens.admin, "limit=1")
            .await
            .ok_json(200);
        body["position"].as_u64().expect("a position")
    }

    /// Starts `POST /api/v1/events` of a `len`-byte body on a raw connection
    /// with `Expect: 100-continue`, and returns once the server asks for the
    /// body: the request is then in flight inside the handler.
    pub async fn begin_post_events(&self, token: &Token, len: usize) -> InFlight {
        let addr = self.addr;
        let head = format!(
            "POST /api/v1/events HTTP/1.1\r\nhost: {addr}\r\nauthorization: Bearer {}\r\n\
             content-type: application/json\r\ncontent-length: {len}\r\n\
             expect: 100-continue\r\nconnection: close\r\n\r\n",
            token.secret
        );
        let conn = blocking(move || {
            let mut conn = std::net::TcpStream::connect(addr).expect("connect");
            conn.set_read_timeout(Some(PATIENCE)).expect("read timeout");
            conn.write_all(head.as_bytes())
                .expect("send the request head");
            let interim = read_head(&mut conn);
            assert!(
                interim.starts_with("HTTP/1.1 100"),
                "expected 100 Continue, got {interim:?}"
            );
            conn
        })
        .await;
        InFlight { conn }
    }

    /// Resolves the shutdown future given to `serve`.
    pub fn trigger_shutdown(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }

    /// Waits until the server has stopped (in-flight requests done).
    pub async fn stopped(&mut self) {
        let handle = self.handle.take().expect("the server is running");
        within(handle).await.expect("the server task");
    }
}

/// Creates a store at `db` with its key (as `passerelle init` does) and
/// opens a ledger on it.
async fn open_new_ledger(db: &Path) -> Ledger<SqliteStore> {
    let location = Location::File(db.to_path_buf());
    passerelle::commands::init::init(&location)
        .await
        .expect("create the store and its key");
    let store = SqliteStore::open(db).expect("open the store");
    let keyring = passerelle::master_key::open_keyring(store, &location)
        .await
        .expect("open the keyring");
    Ledger::open(keyring).await.expect("open the ledger")
}

/// A request whose head the server has read and whose body it is waiting for.
pub struct InFlight {
    conn: std::net::TcpStream,
}

impl InFlight {
    /// Sends the body and reads the response (checked against the OpenAPI
    /// document): its status and JSON body.
    pub async fn finish(self, body: Vec<u8>) -> (u16, Value) {
        let mut conn = self.conn;
        let reply = blocking(move || {
            conn.write_all(&body).expect("send the body");
            let head = read_head(&mut conn);
            let (status, headers) = parse_head(&head);
            let mut body = Vec::new();
            conn.read_to_end(&mut body).expect("read the response body");
            Reply {
                status,
                headers,
                body: body.into(),
            }
        })
        .await;
        conforms(&Method::POST, "/api/v1/events", &reply);
        (reply.status.as_u16(), reply.json())
    }
}

/// Reads one response head (up to the blank line) from a raw connection.
fn read_head(conn: &mut std::net::TcpStream) -> String {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        let n = conn.read(&mut byte).expect("read a response head");
        assert_eq!(
            n,
            1,
            "the connection closed: {}",
            String::from_utf8_lossy(&head)
        );
        head.push(byte[0]);
    }
    String::from_utf8(head).expect("a UTF-8 head")
}

/// Runs blocking I/O off the async workers, bounded by [`PATIENCE`].
async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    within(tokio::task::spawn_blocking(f))
        .await
        .expect("blocking task")
}

/// Awaits `f`, failing the test if it takes longer than [`PATIENCE`].
#[track_caller]
pub fn within<F: Future>(f: F) -> impl Future<Output = F::Output> {
    let caller = std::panic::Location::caller();
    async move {
        tokio::time::timeout(PATIENCE, f)
            .await
            .unwrap_or_else(|_| panic!("gave up after {PATIENCE:?} (waiting at {caller})"))
    }
}

/// One Server-Sent Events frame.
#[derive(Debug, Clone, PartialEq)]
pub enum Frame {
    /// An event: `id:` (the log position), `event:` (its type), `data:`.
    Event { id: u64, event: String, data: Value },
    /// A comment line (`:heartbeat`).
    Comment(String),
}

/// An open `GET /api/v1/events/stream`.
pub struct EventStream {
    pub status: StatusCode,
    pub headers: HeaderMap,
    /// The problem document, when the stream was refused.
    pub problem: Option<Value>,
    body: BoxStream<'static, reqwest::Result<Bytes>>,
    buf: String,
}

impl EventStream {
    /// The next frame, or `None` once the server ended the stream.
    pub async fn next(&mut self) -> Option<Frame> {
        loop {
            if let Some(end) = self.buf.find("\n\n") {
                let block: String = self.buf.drain(..end + 2).collect();
                if let Some(frame) = parse_frame(&block) {
                    return Some(frame);
                }
                continue;
            }
            match within(self.body.next()).await {
                Some(Ok(chunk)) => self
                    .buf
                    .push_str(std::str::from_utf8(&chunk).expect("UTF-8 events")),
                Some(Err(e)) => panic!("event stream failed: {e}"),
                None => {
                    assert!(
                        self.buf.trim().is_empty(),
                        "stream ended inside a frame: {:?}",
                        self.buf
                    );
                    return None;
                }
            }
        }
    }

    /// The next event, skipping heartbeats: its id and data.
    pub async fn next_event(&mut self) -> (u64, Value) {
        loop {
            match self.next().await {
                Some(Frame::Event { id, event, data }) => {
                    assert_eq!(data["position"], json!(id), "id is the position");
                    assert_eq!(data["type"], json!(event), "event is the type");
                    // The message as the document describes it, and its
                    // data as a stored event.
                    let message =
                        json!({"id": id.to_string(), "event": event, "data": data.to_string()});
                    let conforms = crate::openapi::validate_response(
                        "GET",
                        "/api/v1/events/stream",
                        200,
                        "text/event-stream",
                        &message,
                    )
                    .and_then(|()| crate::openapi::validate_schema("StoredEvent", &data));
                    if let Err(errors) = conforms {
                        panic!(
                            "an event stream message does not conform: {}",
                            errors.join("; ")
                        );
                    }
                    return (id, data);
                }
                Some(Frame::Comment(_)) => continue,
                None => panic!("the stream ended"),
            }
        }
    }

    /// The next `n` events.
    pub async fn events(&mut self, n: usize) -> Vec<(u64, Value)> {
        let mut out = Vec::with_capacity(n);
        for _ in 0..n {
            out.push(self.next_event().await);
        }
        out
    }
}

fn parse_frame(block: &str) -> Option<Frame> {
    let (mut id, mut event, mut data, mut comment) = (None, None, Vec::new(), None);
    for line in block.lines().filter(|l| !l.is_empty()) {
        if let Some(c) = line.strip_prefix(':') {
            comment = Some(c.trim().to_owned());
            continue;
        }
        let (field, value) = line.split_once(':').unwrap_or((line, ""));
        let value = value.strip_prefix(' ').unwrap_or(value);
        match field {
            "id" => id = Some(value.parse::<u64>().expect("id is a position")),
            "event" => event = Some(value.to_owned()),
            "data" => data.push(value.to_owned()),
            other => panic!("unexpected SSE field {other:?} in {block:?}"),
        }
    }
    match (id, comment) {
        (Some(id), _) => Some(Frame::Event {
            id,
            event: event.unwrap_or_default(),
            data: serde_json::from_str(&data.join("\n")).expect("data is JSON"),
        }),
        (None, Some(c)) => Some(Frame::Comment(c)),
        (None, None) => None,
    }
}

/// Every stored event of the store file at `db`, read by a fresh handle.
pub async fn stored_ids(db: &Path) -> Vec<String> {
    let store = SqliteStore::open(db).expect("reopen the store");
    let mut ids = Vec::new();
    let mut after = 0;
    loop {
        let page = store.read(after, 1024).await.expect("read the store");
        let Some(last) = page.last() else { break };
        after = last.position;
        ids.extend(page.iter().map(|r| r.record.id.to_string()));
    }
    ids
}

/// A fresh event id.
pub fn new_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// A `StakeholderRegistered` wire event with a fresh id.
pub fn stakeholder(programme: &str, slug: &str) -> Value {
    json!({
        "id": new_id(), "type": "StakeholderRegistered", "programme": programme,
        "occurred_at": "2024-03-01",
        "data": {
            "stakeholder": slug, "name": format!("Stakeholder {slug}"), "kind": "association",
            "themes": ["housing"], "territory": "Test town",
            "contact": {"person": "Desk", "email": "desk@example.org"},
        },
    })
}

/// An `OutreachContactLogged` wire event with a fresh id.
pub fn contact(programme: &str, from: &str, to: &str) -> Value {
    json!({
        "id": new_id(), "type": "OutreachContactLogged", "programme": programme,
        "occurred_at": "2024-03-02",
        "data": {"from": from, "to": to, "channel": "meeting", "outcome": "interested"},
    })
}

/// A `ReviewNoteAdded` wire event about a stakeholder, without an id (a
/// mentor may not choose one; the server assigns it).
pub fn note(programme: &str, slug: &str, about: &str) -> Value {
    json!({
        "type": "ReviewNoteAdded", "programme": programme,
        "occurred_at": "2024-03-03",
        "data": {"note": slug, "about": {"stakeholder": about}, "text": "Worth a second look."},
    })
}
