//! The routes under `/api/v1`: one warp filter takes method, path, query,
//! headers and body, and [`dispatch`] routes them in plain Rust, so every
//! handler is an ordinary async function returning a response or a
//! [`Problem`]. Authentication, authorisation, `position`/`ETag`,
//! `min_position` and telemetry are applied here, once.
//! Paths outside `/api/v1` and `/login?code=` are the web pages
//! ([`crate::web`]).

use std::collections::BTreeMap;
use std::time::Instant;

use bytes::{Buf, Bytes};
use futures::{Stream, StreamExt};
use passerelle_events::json;
use passerelle_events::ledger::decode;
use passerelle_events::store::PAGE;
use passerelle_events::{Event, EventLog, FieldError, Submission};
use passerelle_projections::engine::{AsOf, Engine};
use passerelle_projections::gaps::kind_name;
use passerelle_projections::model::{Audience, NeedStatus, Programme};
use passerelle_projections::network::Network;
use passerelle_projections::participation::participation_for;
use passerelle_projections::views::{around, diff_views_for, view};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use warp::http::{HeaderMap, Method, StatusCode};
use warp::Filter;

use super::problem::Problem;
use super::state::{App, Cached, Rendered, Scope};
use crate::auth::{AuthError, Principal, Role};
use crate::render::{diff_json, gaps_json, network_json, participation_json};

/// The session cookie set by `/login`.
pub const SESSION_COOKIE: &str = "passerelle_session";

/// How long a browser session lasts.
pub const SESSION_TTL: std::time::Duration = std::time::Duration::from_secs(12 * 3600);

type Response = warp::reply::Response;

/// Every route of the server.
pub fn routes(app: App) -> impl Filter<Extract = (Response,), Error = warp::Rejection> + Clone {
    let with_app = warp::any().map(move || app.clone());
    let query = warp::query::raw().or(warp::any().map(String::new)).unify();
    warp::any()
        .and(with_app)
        .and(warp::method())
        .and(warp::path::full())
        .and(query)
        .and(warp::header::headers_cloned())
        .and(warp::body::stream())
        .then(
            |app: App,
             method: Method,
             path: warp::path::FullPath,
             query: String,
             headers: HeaderMap,
             body| async move {
                let started = Instant::now();
                let route = route_name(&method, path.as_str());
                let response =
                    match dispatch(&app, &method, path.as_str(), &query, &headers, body).await {
                        Ok(r) => r,
                        Err(p) => p.into_response(),
                    };
                app.inner.telemetry.request(
                    method.as_str(),
                    route,
                    response.status().as_u16(),
                    started.elapsed(),
                );
                response
            },
        )
}

/// The route template of a path, for logs and metrics (ids are not logged).
fn route_name(method: &Method, path: &str) -> &'static str {
    let segs: Vec<&str> = path.trim_matches('/').split('/').collect();
    match (method.as_str(), segs.as_slice()) {
        (_, ["login"]) => "/login",
        (_, ["api", "v1", rest @ ..]) => match rest {
            ["events"] => "/api/v1/events",
            ["events", "stream"] => "/api/v1/events/stream",
            ["programmes"] => "/api/v1/programmes",
            ["stakeholders"] => "/api/v1/stakeholders",
            ["stakeholders", _] => "/api/v1/stakeholders/{id}",
            ["partnerships"] => "/api/v1/partnerships",
            ["sessions"] => "/api/v1/sessions",
            ["needs"] => "/api/v1/needs",
            ["milestones"] => "/api/v1/milestones",
            ["notes"] => "/api/v1/notes",
            ["network"] => "/api/v1/network",
            ["gaps"] => "/api/v1/gaps",
            ["participation"] => "/api/v1/participation",
            ["diff"] => "/api/v1/diff",
            ["healthz"] => "/api/v1/healthz",
            ["metrics"] => "/api/v1/metrics",
            ["openapi.json"] => "/api/v1/openapi.json",
            ["me"] => "/api/v1/me",
            ["erasures"] => "/api/v1/erasures",
            ["subjects", ..] => "/api/v1/subjects/{subject}",
            _ => "other",
        },
        _ => crate::web::route_name(&segs),
    }
}

type Query = BTreeMap<String, String>;

pub(super) fn parse_query(raw: &str, allowed: &[&str]) -> Result<Query, Problem> {
    let mut q = Query::new();
    for (k, v) in form_urlencoded::parse(raw.as_bytes()) {
        if !allowed.contains(&k.as_ref()) {
            return Err(Problem::bad_request(format!(
                "unknown query parameter {k:?}; this route takes {}",
                if allowed.is_empty() {
                    "none".to_owned()
                } else {
                    allowed.join(", ")
                }
            )));
        }
        if q.insert(k.to_string(), v.to_string()).is_some() {
            return Err(Problem::bad_request(format!(
                "query parameter {k:?} is given twice"
            )));
        }
    }
    Ok(q)
}

fn number(q: &Query, key: &str) -> Result<Option<u64>, Problem> {
    q.get(key)
        .map(|v| {
            v.parse::<u64>().map_err(|_| {
                Problem::bad_request(format!(
                    "{key} must be a non-negative whole number (got {v:?})"
                ))
            })
        })
        .transpose()
}

const READ_PARAMS: [&str; 4] = ["programme", "as_of", "position", "min_position"];

async fn dispatch<S, B>(
    app: &App,
    method: &Method,
    path: &str,
    raw_query: &str,
    headers: &HeaderMap,
    body: S,
) -> Result<Response, Problem>
where
    S: Stream<Item = Result<B, warp::Error>> + Send,
    B: Buf,
{
    let segs: Vec<&str> = path.trim_matches('/').split('/').collect();
    let rest: Vec<&str> = match segs.as_slice() {
        ["login"] if method == Method::GET => return login(app, raw_query),
        ["api", "v1", rest @ ..] => rest.to_vec(),
        _ => return crate::web::dispatch(app, method, &segs, headers, body).await,
    };
    // Routes without authentication.
    match (method.as_str(), rest.as_slice()) {
        ("GET", ["healthz"]) => {
            parse_query(raw_query, &[])?;
            // No position: anyone may ask, and a position that moves with
            // every event would count each attendance.
            return Ok(json_response(StatusCode::OK, &json!({"status": "ok"})));
        }
        ("GET", ["openapi.json"]) => {
            parse_query(raw_query, &[])?;
            static DOCUMENT: std::sync::OnceLock<Value> = std::sync::OnceLock::new();
            return Ok(json_response(
                StatusCode::OK,
                DOCUMENT.get_or_init(super::openapi::document),
            ));
        }
        _ => {}
    }
    let known = matches!(
        rest.as_slice(),
        ["events"]
            | ["events", "stream"]
            | ["programmes"]
            | ["stakeholders"]
            | ["stakeholders", _]
            | ["partnerships"]
            | ["sessions"]
            | ["needs"]
            | ["milestones"]
            | ["notes"]
            | ["network"]
            | ["gaps"]
            | ["participation"]
            | ["diff"]
            | ["metrics"]
            | ["healthz"]
            | ["openapi.json"]
            | ["me"]
            | ["erasures"]
            | ["subjects", ..]
    );
    if !known {
        return Err(Problem::not_found(format!("no route {path}")));
    }
    if let ["erasures"] | ["subjects", ..] = rest.as_slice() {
        return super::rights::dispatch(app, method, &rest, raw_query, headers, body).await;
    }
    let is_post_events = rest.as_slice() == ["events"] && method == Method::POST;
    if method != Method::GET && !is_post_events {
        let allow = if rest.as_slice() == ["events"] {
            "GET, POST"
        } else {
            "GET"
        };
        return Err(Problem::method_not_allowed(
            format!("{method} is not allowed on {path}"),
            allow,
        ));
    }
    let principal = authenticate(app, headers)?;
    if is_post_events {
        parse_query(raw_query, &[])?;
        return post_events(app, &principal, body).await;
    }
    match rest.as_slice() {
        ["events"] => get_events(app, &principal, raw_query, headers).await,
        ["events", "stream"] => stream_events(app, &principal, raw_query, headers).await,
        ["me"] => {
            parse_query(raw_query, &[])?;
            Ok(json_response(
                StatusCode::OK,
                &json!({"name": principal.name, "role": principal.role.as_str(), "programme": principal.programme}),
            ))
        }
        ["metrics"] => {
            parse_query(raw_query, &[])?;
            // The metrics count every event of every programme (the log
            // head, the projection lag, appends): for whoever runs the
            // instance, not for a token that sees less than the whole log.
            let runs_instance = match principal.role {
                Role::Admin => true,
                Role::Coordinator => principal.programme.is_none(),
                Role::Mentor | Role::Viewer => false,
            };
            if !runs_instance {
                return Err(Problem::forbidden(format!(
                    "the metrics are read by admins and coordinators of every programme only: \
                     they count every event of the log. A {} token{} reads the projections",
                    principal.role,
                    if principal.programme.is_some() {
                        " scoped to one programme"
                    } else {
                        ""
                    }
                )));
            }
            let head = app.inner.store.head().await.map_err(Problem::from_store)?;
            let text = app.inner.telemetry.render(head, app.projected());
            Ok(warp::http::Response::builder()
                .status(StatusCode::OK)
                .header("content-type", "text/plain; version=0.0.4")
                .body(text.into())
                .expect("valid response"))
        }
        _ => read(app, &principal, &rest, raw_query, headers).await,
    }
}

pub(super) fn authenticate(app: &App, headers: &HeaderMap) -> Result<Principal, Problem> {
    let bearer = headers
        .get("authorization")
        .map(|v| {
            v.to_str()
                .ok()
                .and_then(|s| {
                    s.strip_prefix("Bearer ")
                        .or_else(|| s.strip_prefix("bearer "))
                })
                .map(str::trim)
                .ok_or_else(|| {
                    Problem::unauthorized("the Authorization header must be `Bearer <token>`")
                })
        })
        .transpose()?;
    let secret = match bearer {
        Some(s) => s.to_owned(),
        None => session_cookie(headers).ok_or_else(|| {
            Problem::unauthorized("a token is required: send `Authorization: Bearer <token>`")
        })?,
    };
    app.tokens().authenticate(&secret).map_err(|e| match e {
        AuthError::Missing | AuthError::Invalid | AuthError::Revoked => {
            Problem::unauthorized(e.to_string())
        }
        other => Problem::internal(other),
    })
}

fn session_cookie(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all("cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == SESSION_COOKIE)
        .map(|(_, v)| v.to_owned())
}

/// `/login?code=…`: trades a one-time login code for a session cookie
/// (HttpOnly, SameSite=Strict) and redirects, so the code leaves the address bar.
fn login(app: &App, raw_query: &str) -> Result<Response, Problem> {
    let q = parse_query(raw_query, &["code"])?;
    let code = q
        .get("code")
        .ok_or_else(|| Problem::bad_request("code is required"))?;
    let principal = app.tokens().redeem_login(code).ok_or_else(|| {
        Problem::unauthorized("this login link is unknown, used or expired; ask for a new one")
    })?;
    let secret = app
        .tokens()
        .open_session(&principal.id, SESSION_TTL)
        .map_err(|e| Problem::unauthorized(e.to_string()))?;
    Ok(warp::http::Response::builder()
        .status(StatusCode::SEE_OTHER)
        .header("location", "/")
        .header(
            "set-cookie",
            format!("{SESSION_COOKIE}={secret}; HttpOnly; SameSite=Strict; Path=/"),
        )
        .body(Bytes::new().into())
        .expect("valid response"))
}

fn json_response(status: StatusCode, v: &Value) -> Response {
    warp::http::Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .body(v.to_string().into())
        .expect("valid response")
}

pub(crate) async fn read_body<S, B>(body: S, limit: u64) -> Result<Vec<u8>, Problem>
where
    S: Stream<Item = Result<B, warp::Error>>,
    B: Buf,
{
    let mut body = std::pin::pin!(body);
    let mut out = Vec::new();
    while let Some(chunk) = body.next().await {
        let mut chunk =
            chunk.map_err(|e| Problem::bad_request(format!("could not read the body: {e}")))?;
        if (out.len() + chunk.remaining()) as u64 > limit {
            return Err(Problem::too_large(limit));
        }
        while chunk.has_remaining() {
            let part = chunk.chunk();
            out.extend_from_slice(part);
            let n = part.len();
            chunk.advance(n);
        }
    }
    Ok(out)
}

async fn post_events<S, B>(app: &App, principal: &Principal, body: S) -> Result<Response, Problem>
where
    S: Stream<Item = Result<B, warp::Error>>,
    B: Buf,
{
    let bytes = read_body(body, app.inner.config.body_limit).await?;
    let value = Problem::from_json(json::parse(&bytes))?;
    let (items, single) = match value {
        Value::Array(items) if items.is_empty() => {
            return Err(Problem::validation(vec![FieldError::new(
                "",
                "the array holds no event",
            )]))
        }
        Value::Array(items) => (items, false),
        other => (vec![other], true),
    };
    // The role and scope are checked first, on the declared type and
    // programme, so a token that may not write learns that before anything else.
    for item in &items {
        let t = item.get("type").and_then(Value::as_str).unwrap_or("");
        let p = item.get("programme").and_then(Value::as_str).unwrap_or("");
        if !t.is_empty() && !p.is_empty() || principal.role == Role::Viewer {
            principal
                .may_append(t, p)
                .map_err(|d| Problem::forbidden(d.to_string()))?;
        }
    }
    let mut subs = Vec::with_capacity(items.len());
    let mut errors = Vec::new();
    for (i, item) in items.iter().enumerate() {
        // A chosen id that is taken answers 409: probing ids would tell a
        // mentor which events exist, attendances included (small counts).
        if restricted(principal) && item.get("id").is_some_and(|id| !id.is_null()) {
            errors.push(FieldError::new(
                if single {
                    "id".to_owned()
                } else {
                    format!("[{i}].id")
                },
                "a mentor's note gets its id from the server (an id chosen by the client could \
                 name an event the mentor may not see); the note is named by data.note",
            ));
            continue;
        }
        match Submission::from_wire(item) {
            Ok(s) => subs.push(s),
            Err(e) => errors.extend(e.errors.into_iter().map(|f| {
                if single {
                    f
                } else if f.field.is_empty() {
                    FieldError::new(format!("[{i}]"), f.message)
                } else {
                    FieldError::new(format!("[{i}].{}", f.field), f.message)
                }
            })),
        }
    }
    if !errors.is_empty() {
        return Err(Problem::validation(errors));
    }
    for s in &subs {
        principal
            .may_append(s.event.event.type_name(), s.event.programme.as_str())
            .map_err(|d| Problem::forbidden(d.to_string()))?;
    }
    let recorded = app
        .inner
        .ledger
        .record(subs, &principal.name)
        .await
        .map_err(Problem::from_record)?;
    let created = recorded.iter().filter(|r| r.created).count();
    app.inner.telemetry.appended(created as u64);
    // The caller sent these fields in clear and may see them (a mentor
    // appends only notes, which hold no personal data). A mentor is told
    // positions in visible units, as in every read.
    let audience = audience(principal);
    let mut envelopes: Vec<Value> = Vec::with_capacity(recorded.len());
    for r in recorded {
        let position = app
            .position_for(r.event.position, audience)
            .await
            .map_err(Problem::from_store)?;
        let mut v = app.opened(r.event).to_json();
        v["position"] = json!(position);
        envelopes.push(v);
    }
    let status = if created > 0 {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    let body = if single {
        envelopes.into_iter().next().unwrap_or(Value::Null)
    } else {
        Value::Array(envelopes)
    };
    Ok(json_response(status, &body))
}

async fn get_events(
    app: &App,
    principal: &Principal,
    raw_query: &str,
    headers: &HeaderMap,
) -> Result<Response, Problem> {
    let q = parse_query(raw_query, &["after", "limit", "type", "programme"])?;
    let mut after = number(&q, "after")?.unwrap_or(0);
    let limit = number(&q, "limit")?.unwrap_or(100);
    if !(1..=1000).contains(&limit) {
        return Err(Problem::bad_request(format!(
            "limit must be between 1 and 1000 (got {limit})"
        )));
    }
    if let Some(t) = q.get("type") {
        if !Event::TYPES.contains(&t.as_str()) {
            return Err(Problem::bad_request(format!(
                "type {t:?} is not an event type; expected one of {}",
                Event::TYPES.join(", ")
            )));
        }
    }
    if let Some(p) = q.get("programme") {
        let known = app
            .inner
            .engine
            .read()
            .expect("engine lock")
            .model()
            .programmes
            .contains_key(p);
        if !known {
            return Err(Problem::not_found(format!("no programme {p:?}")));
        }
        if !principal.can_read(p) {
            return Err(Problem::forbidden(format!(
                "this token cannot read programme {p:?}"
            )));
        }
    }
    raw_events_allowed(principal)?;
    let head = app.inner.store.head().await.map_err(Problem::from_store)?;
    app.keyring().refresh().await.map_err(Problem::from_keys)?;
    let mut events = Vec::new();
    'scan: while after < head {
        let page = app
            .inner
            .store
            .read(after, PAGE)
            .await
            .map_err(Problem::from_store)?;
        if page.is_empty() {
            break;
        }
        for raw in page {
            after = raw.position;
            let r = &raw.record;
            let keep = principal.can_read(&r.programme)
                && q.get("programme").is_none_or(|p| *p == r.programme)
                && q.get("type").is_none_or(|t| *t == r.event_type);
            if keep {
                let event = decode(&raw).map_err(Problem::from_store)?;
                events.push(app.opened(event).to_json());
                if events.len() as u64 == limit {
                    break 'scan;
                }
            }
        }
    }
    let body =
        Bytes::from(json!({"position": head, "events": events, "next_after": after}).to_string());
    Ok(with_etag(head, body, headers))
}

async fn stream_events(
    app: &App,
    principal: &Principal,
    raw_query: &str,
    headers: &HeaderMap,
) -> Result<Response, Problem> {
    let q = parse_query(raw_query, &["after"])?;
    let last_event_id = headers
        .get("last-event-id")
        .map(|v| {
            v.to_str()
                .ok()
                .and_then(|s| s.trim().parse::<u64>().ok())
                .ok_or_else(|| {
                    Problem::bad_request("Last-Event-ID must be a log position (a whole number)")
                })
        })
        .transpose()?;
    let after = last_event_id.or(number(&q, "after")?).unwrap_or(0);
    raw_events_allowed(principal)?;
    // The subscription runs in its own task and hands events over a bounded
    // channel: the reply needs a `Sync` stream, and a slow client only
    // slows its own task. Both end at shutdown or when the client leaves.
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<warp::sse::Event, std::io::Error>>(64);
    let principal = principal.clone();
    let opener = app.clone();
    let mut shutdown = app.inner.shutdown.subscribe();
    let mut live = app.inner.store.subscribe(after);
    tokio::spawn(async move {
        loop {
            let next = tokio::select! {
                next = live.next() => next,
                _ = shutdown.wait_for(|stop| *stop) => return,
                _ = tx.closed() => return,
            };
            let item = match next {
                None => return,
                Some(Ok(raw)) if !principal.can_read(&raw.record.programme) => continue,
                Some(Ok(raw)) => decode(&raw),
                Some(Err(e)) => Err(e),
            };
            let item = match item {
                Ok(e) => opener.opened_fresh(e).await,
                Err(e) => Err(e),
            };
            let event = match item {
                Ok(e) => {
                    let v = e.to_json();
                    Ok(warp::sse::Event::default()
                        .id(e.position.to_string())
                        .event(e.event.event.type_name())
                        .data(v.to_string()))
                }
                Err(e) => {
                    tracing::error!(error = %e, "event stream ended on a store error");
                    Err(std::io::Error::other(e.to_string()))
                }
            };
            let failed = event.is_err();
            if tx.send(event).await.is_err() || failed {
                return;
            }
        }
    });
    let events = Receiver(rx);
    let stream = warp::sse::keep_alive()
        .interval(app.inner.config.heartbeat)
        .text("heartbeat")
        .stream(events);
    Ok(warp::reply::Reply::into_response(warp::sse::reply(stream)))
}

/// Which programme a read is about: the one asked for, or the only one the
/// token can see.
fn programme_of(engine: &Engine, principal: &Principal, q: &Query) -> Result<String, Problem> {
    let visible: Vec<&String> = engine
        .model()
        .programmes
        .keys()
        .filter(|p| principal.can_read(p))
        .collect();
    match q.get("programme") {
        Some(p) => {
            if !engine.model().programmes.contains_key(p) {
                return Err(Problem::not_found(format!("no programme {p:?}")));
            }
            if !principal.can_read(p) {
                return Err(Problem::forbidden(format!(
                    "this token cannot read programme {p:?}"
                )));
            }
            Ok(p.clone())
        }
        None => match visible.as_slice() {
            [only] => Ok((*only).clone()),
            [] => Err(Problem::not_found("no programme is visible to this token")),
            _ => Err(Problem::bad_request(format!(
                "programme is required: this token sees {}",
                visible
                    .iter()
                    .map(|s| s.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ))),
        },
    }
}

fn as_of(q: &Query) -> Result<AsOf, Problem> {
    match (q.get("as_of"), number(q, "position")?) {
        (Some(_), Some(_)) => Err(Problem::bad_request("give as_of or position, not both")),
        (Some(t), None) => passerelle_events::values::OccurredAt::parse(t)
            .map(|t| AsOf::Time(t.datetime()))
            .map_err(|m| Problem::bad_request(format!("as_of {m}"))),
        (None, Some(p)) => Ok(AsOf::Position(p)),
        (None, None) => Ok(AsOf::Latest),
    }
}

/// Mentors and viewers see no beneficiary count below 5 (PRODUCT.md §7).
fn restricted(principal: &Principal) -> bool {
    matches!(principal.role, Role::Mentor | Role::Viewer)
}

/// Who a principal's reads are computed for.
fn audience(principal: &Principal) -> Audience {
    if restricted(principal) {
        Audience::Restricted
    } else {
        Audience::Full
    }
}

fn time(t: chrono::DateTime<chrono::Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

async fn read(
    app: &App,
    principal: &Principal,
    rest: &[&str],
    raw_query: &str,
    headers: &HeaderMap,
) -> Result<Response, Problem> {
    let allowed: &[&str] = match rest {
        ["programmes"] => &["min_position"],
        ["diff"] => &["programme", "from", "to", "milestone", "min_position"],
        _ => &READ_PARAMS,
    };
    let q = parse_query(raw_query, allowed)?;
    // Positions in and out are in the units the caller is told them in.
    let audience = audience(principal);
    let min_position = number(&q, "min_position")?;
    if let Some(p) = min_position {
        if !app.wait_for_as(p, audience).await {
            return Err(Problem::unavailable(format!(
                "position {p} was not projected within {} ms; the projection is at {}",
                app.inner.config.min_position_timeout.as_millis(),
                app.projected_for(audience)
            )));
        }
    }
    let mut qkey: Vec<String> = q
        .iter()
        .filter(|(k, _)| k.as_str() != "min_position")
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    qkey.sort();
    let key = format!(
        "{}?{}|{}|{}",
        rest.join("/"),
        qkey.join("&"),
        if restricted(principal) { "r" } else { "f" },
        principal.programme.as_deref().unwrap_or("*")
    );
    // What the body depends on: one programme's events, unless it lists
    // programmes or reads as of a log position. A read of programme A is not
    // invalidated by appends to programme B; its body then reports the
    // projected position, which it reflects as well.
    let programme = q
        .get("programme")
        .map(String::as_str)
        .or(principal.programme.as_deref());
    let scope = match programme {
        Some(p) if rest != ["programmes"] && !q.contains_key("position") => Scope::Programme(p),
        _ => Scope::Log,
    };
    // For mentors and viewers, the last event the read depends on is the
    // last they can see: a hidden event does not even render it again.
    let (projected, told, last) = app.scope_position(&scope, audience);
    // An unknown programme: the render answers (not cached per programme).
    let last = last.unwrap_or(projected);
    let principal = principal.clone();
    let rest: Vec<String> = rest.iter().map(|s| s.to_string()).collect();
    let rendered = app
        .cached(key, last, min_position, move |app, engine| {
            let rest: Vec<&str> = rest.iter().map(String::as_str).collect();
            let position = engine.position();
            let tell = |p: u64| match audience {
                Audience::Full => p,
                Audience::Restricted => engine.visible_position(p),
            };
            let mut v = render(app, engine, &principal, &rest, &q)?;
            // The fields that report the head the body reflects (never an
            // event's own position) follow it; the others (as of a
            // position) are told in the caller's units.
            let live = |v: &mut Value| match v.get("position").and_then(Value::as_u64) {
                Some(p) if p == position => v["position"] = json!(Rendered::LIVE),
                Some(p) => v["position"] = json!(tell(p)),
                None => {}
            };
            live(&mut v);
            if rest == ["diff"] {
                for side in ["from", "to"] {
                    if let Some(x) = v.get_mut(side) {
                        live(x);
                    }
                }
            }
            Ok(Rendered::new(&v, position, tell(position)))
        })
        .await?;
    let (position, body, digest) = match rendered {
        // A hit for an unchanged programme reflects the projected position
        // too (positions only grow, in either unit).
        Cached::Current(r) => {
            let told = told.max(r.shown);
            (told, r.body_at(told), r.digest.clone())
        }
        // The previous rendering, while the current one renders (a read
        // without `min_position`, or one it satisfies): it says the
        // position it reflects, which may be below the projected one.
        Cached::Stale(r) => (r.shown, r.body.clone(), r.digest.clone()),
    };
    let etag = format!("W/\"{position}-{digest}\"");
    Ok(etag_response(&etag, body, headers))
}

/// A JSON body with its `ETag` (the position and a digest of the body), or
/// 304 when the client's `If-None-Match` already has it.
fn with_etag(position: u64, bytes: Bytes, headers: &HeaderMap) -> Response {
    let etag = format!(
        "W/\"{position}-{}\"",
        &hex::encode(Sha256::digest(&bytes))[..16]
    );
    etag_response(&etag, bytes, headers)
}

/// A JSON body with `etag`, or 304 when `If-None-Match` already has it.
fn etag_response(etag: &str, bytes: Bytes, headers: &HeaderMap) -> Response {
    let fresh = headers
        .get("if-none-match")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag || t.trim() == "*"));
    let builder = warp::http::Response::builder()
        .header("etag", etag)
        .header("cache-control", "private, no-cache");
    if fresh {
        builder
            .status(StatusCode::NOT_MODIFIED)
            .body(Bytes::new().into())
    } else {
        builder
            .status(StatusCode::OK)
            .header("content-type", "application/json")
            .body(bytes.into())
    }
    .expect("valid response")
}

/// The raw log (`/events`, `/events/stream`) is served to the roles that may
/// see personal data only (decision 009): every attendance is an event of
/// its own, so counting a session's events would give the attendance that
/// mentors and viewers must not see below five, and a redacted event would
/// still be counted.
fn raw_events_allowed(principal: &Principal) -> Result<(), Problem> {
    if restricted(principal) {
        return Err(Problem::forbidden(format!(
            "the event log is read by coordinators and admins only: it lists each \
             participant's attendance, and small counts must not be readable. A {} token \
             reads the projections (directory, network, gaps, participation), which keep \
             counts of 1 to 4 hidden",
            principal.role
        )));
    }
    Ok(())
}

/// Builds the JSON of a read; every body carries `position` (the log
/// position, which the caller turns into the units its reader is told).
///
/// For mentors and viewers ([`Audience::Restricted`]) every figure is
/// computed from what they may see only: the counts of public sessions
/// ([`passerelle_projections::model::Session::is_public`]) and sums of them,
/// no attendance figure, share findings over public sessions, event counts
/// without hidden events; a `position` they give is in visible units.
fn render(
    app: &App,
    engine: &Engine,
    principal: &Principal,
    rest: &[&str],
    q: &Query,
) -> Result<Value, Problem> {
    let settings = &app.inner.config.settings;
    let audience = audience(principal);
    if rest == ["programmes"] {
        let programmes: Vec<Value> = engine
            .model()
            .programmes
            .values()
            .filter(|p| principal.can_read(&p.id))
            .map(|p| {
                json!({
                    "id": p.id, "name": p.name,
                    "role": p.role.map(|r| serde_json::to_value(r).unwrap_or(Value::Null)),
                    "country": p.country,
                    "stakeholders": p.active_stakeholders().count(),
                    "partnerships": p.partnerships.values().filter(|x| x.ended_at.is_none()).count(),
                    "sessions": p.sessions.len(),
                    "events": p.events_for(audience),
                })
            })
            .collect();
        return Ok(json!({"position": engine.position(), "programmes": programmes}));
    }
    let programme = programme_of(engine, principal, q)?;
    if rest == ["diff"] {
        let (before, after) = match (q.get("milestone"), q.get("from"), q.get("to")) {
            (Some(m), None, None) => around(engine, &programme, m, settings)
                .map_err(|e| Problem::not_found(e.to_string()))?,
            (None, Some(from), Some(to)) => {
                let t = |k: &str, s: &str| {
                    passerelle_events::values::OccurredAt::parse(s)
                        .map(|t| t.datetime())
                        .map_err(|m| Problem::bad_request(format!("{k} {m}")))
                };
                let (t1, t2) = (t("from", from)?, t("to", to)?);
                if t1 > t2 {
                    return Err(Problem::bad_request("from must not be later than to"));
                }
                let v = |t| {
                    view(engine, &programme, AsOf::Time(t), settings)
                        .map_err(|e| Problem::not_found(e.to_string()))
                };
                (v(t1)?, v(t2)?)
            }
            _ => return Err(Problem::bad_request("give from and to, or milestone")),
        };
        let mut v = diff_json(&before, &after, &diff_views_for(&before, &after, audience));
        v["position"] = json!(engine.position());
        return Ok(v);
    }
    let as_of = match (as_of(q)?, audience) {
        // The n-th event they can see; past the last, the latest state.
        (AsOf::Position(n), Audience::Restricted) => {
            AsOf::Position(engine.position_of_visible(n).unwrap_or(u64::MAX))
        }
        (as_of, _) => as_of,
    };
    let with_contact = matches!(principal.role, Role::Admin | Role::Coordinator);
    match rest {
        ["network"] | ["gaps"] => {
            let v = view(engine, &programme, as_of, settings)
                .map_err(|e| Problem::not_found(e.to_string()))?;
            Ok(if rest == ["gaps"] {
                gaps_json(&v.gaps.for_audience(audience))
            } else {
                network_json(&v, &app.inner.layouts.positions(engine, &v, settings))
            })
        }
        _ => {
            let snap = engine.snapshot(as_of);
            let position = snap.position();
            let empty = Programme::default();
            let p = snap.model.programmes.get(&programme).unwrap_or(&empty);
            let body = match rest {
                ["stakeholders"] => {
                    json!({"stakeholders": p.stakeholders.values().map(|s| stakeholder_json(app, s, with_contact)).collect::<Vec<_>>()})
                }
                ["stakeholders", id] => {
                    let s = p.stakeholders.get(*id).ok_or_else(|| {
                        Problem::not_found(format!(
                            "no stakeholder {id:?} in programme {programme:?}"
                        ))
                    })?;
                    let net = Network::build(
                        p,
                        snap.reference_time(&programme),
                        position,
                        &settings.network,
                    );
                    let me = net.index_of(id);
                    let ties: Vec<Value> = net
                        .ties
                        .iter()
                        .filter(|t| Some(t.a) == me || Some(t.b) == me)
                        .map(|t| {
                            json!({
                                "with": net.nodes[if Some(t.a) == me { t.b } else { t.a }],
                                "strength": t.strength,
                                "present": t.present,
                                "partnership": t.partnership.as_ref().map(|x| json!({
                                    "id": x.id, "kind": serde_json::to_value(x.kind).unwrap_or(Value::Null),
                                    "themes": x.themes, "formed_at": time(x.formed_at), "ended_at": x.ended_at.map(time),
                                })),
                                "contacts": {
                                    "count": t.contacts.count, "positive": t.contacts.positive,
                                    "last": t.contacts.last.map(time),
                                    "best_outcome": t.contacts.best.map(|o| serde_json::to_value(o).unwrap_or(Value::Null)),
                                },
                                "sessions": t.sessions,
                                "last_interaction": time(t.last_interaction),
                            })
                        })
                        .collect();
                    let contacts: Vec<Value> = p
                        .contacts
                        .iter()
                        .filter(|c| c.from == *id || c.to == *id)
                        .map(|c| {
                            json!({
                                "event": c.event, "from": c.from, "to": c.to,
                                "channel": serde_json::to_value(c.channel).unwrap_or(Value::Null),
                                "purpose": c.purpose,
                                "outcome": serde_json::to_value(c.outcome).unwrap_or(Value::Null),
                                "occurred_at": time(c.occurred_at),
                                "follow_up_due": c.follow_up_due.map(|d| d.to_string()),
                            })
                        })
                        .collect();
                    json!({"stakeholder": stakeholder_json(app, s, with_contact), "ties": ties, "contacts": contacts})
                }
                ["partnerships"] => json!({"partnerships": p.partnerships.values().map(|x| json!({
                    "id": x.id, "between": x.between,
                    "kind": serde_json::to_value(x.kind).unwrap_or(Value::Null),
                    "themes": x.themes, "formed_at": time(x.formed_at), "ended_at": x.ended_at.map(time),
                })).collect::<Vec<_>>()}),
                ["sessions"] => {
                    json!({"sessions": p.sessions.values().map(|s| session_json(s, audience)).collect::<Vec<_>>()})
                }
                ["needs"] => json!({"needs": p.needs.values().map(|n| json!({
                    "id": n.id, "action": n.action, "theme": n.theme, "description": n.description,
                    "priority": n.priority.map(|x| serde_json::to_value(x).unwrap_or(Value::Null)),
                    "status": match n.status { NeedStatus::Open => "open", NeedStatus::Addressed => "addressed", NeedStatus::Withdrawn => "withdrawn" },
                    "addressed_by": n.addressed_by, "declared_at": time(n.declared_at),
                })).collect::<Vec<_>>()}),
                ["milestones"] => {
                    json!({"milestones": p.milestones_in_order().into_iter().map(|m| json!({
                    "id": m.id, "label": m.label,
                    "kind": serde_json::to_value(m.kind).unwrap_or(Value::Null),
                    "occurred_at": time(m.occurred_at),
                })).collect::<Vec<_>>()})
                }
                ["notes"] => json!({"notes": p.notes.iter().map(|n| json!({
                    "id": n.id, "about": serde_json::to_value(&n.about).unwrap_or(Value::Null),
                    "text": n.text, "recorded_by": n.recorded_by, "occurred_at": time(n.occurred_at),
                })).collect::<Vec<_>>()}),
                ["participation"] => participation_json(&participation_for(p, audience)),
                _ => return Err(Problem::not_found("no such route")),
            };
            let mut body = body;
            body["position"] = json!(position);
            body["programme"] = json!(programme);
            Ok(body)
        }
    }
}

/// A stakeholder; with its contact details opened when `with_contact`
/// (admins and coordinators), and without them otherwise.
fn stakeholder_json(
    app: &App,
    s: &passerelle_projections::model::Stakeholder,
    with_contact: bool,
) -> Value {
    let mut v = json!({
        "id": s.id, "name": s.name, "kind": kind_name(s.kind), "themes": s.themes,
        "territory": s.territory, "archived": s.archived, "registered_at": time(s.registered_at),
    });
    if with_contact {
        if let Some((event, c)) = &s.contact {
            let mut c = c.clone();
            for (path, slot) in c.slots() {
                app.keyring().open_slot(*event, path, slot);
            }
            v["contact"] = serde_json::to_value(c).unwrap_or(Value::Null);
        }
    }
    v
}

/// A session as `audience` may see it. For mentors and viewers, a session
/// that is not public ([`passerelle_projections::model::Session::is_public`])
/// shows its counts as `null` (a total of at least 5 stays) and
/// `suppressed: true`, and `attended` is always `null`: it grows one
/// attendance event at a time, so reads as of successive times or
/// positions would show a small one.
fn session_json(s: &passerelle_projections::model::Session, audience: Audience) -> Value {
    let c = s.counts_for(audience);
    json!({
        "id": s.id, "title": s.title, "themes": s.themes,
        "level": serde_json::to_value(s.level).unwrap_or(Value::Null),
        "stakeholders": s.stakeholders, "facilitators": s.facilitators, "groups": s.groups,
        "beneficiaries": {
            "total": c.total, "women": c.women, "men": c.men,
            "undisclosed": c.undisclosed, "first_time": c.first_time,
            "returning": c.returning,
        },
        "suppressed": c.suppressed,
        "outputs": s.outputs, "occurred_at": time(s.occurred_at),
        "attended": (audience == Audience::Full).then_some(s.participants.len()),
    })
}

/// A `Sync` stream over a channel's receiving end.
struct Receiver<T>(tokio::sync::mpsc::Receiver<T>);

impl<T> Stream for Receiver<T> {
    type Item = T;

    fn poll_next(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<T>> {
        self.0.poll_recv(cx)
    }
}
