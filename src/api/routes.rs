//! The routes under `/api/v1`: one warp filter takes method, path, query,
//! headers and body, and [`dispatch`] routes them in plain Rust, so every
//! handler is an ordinary async function returning a response or a
//! [`Problem`]. Authentication (with the guard on writes, [`super::guard`]),
//! authorisation, `position`/`ETag`, `min_position` and telemetry are
//! applied here, once.
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
use passerelle_projections::cancel::Cancel;
use passerelle_projections::engine::{AsOf, Engine, Units};
use passerelle_projections::gaps::{kind_name, Finding};
use passerelle_projections::model::{Audience, NeedStatus, Programme};
use passerelle_projections::network::Network;
use passerelle_projections::participation::participation_for;
use passerelle_projections::views::{around_within, diff_views_for, view_within, ViewError};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use warp::http::{HeaderMap, Method, StatusCode};
use warp::Filter;

use super::guard::{self, Credential, Media, SESSION_TTL};
use super::problem::Problem;
use super::state::{App, Cached, Failed, Rendered, Scope};
use crate::auth::{AuthError, Principal, Role};
use crate::render::{diff_json, gaps_page_json, network_json, participation_json};

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
            ["gaps", "evidence"] => "/api/v1/gaps/evidence",
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

pub(super) fn number(q: &Query, key: &str) -> Result<Option<u64>, Problem> {
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

/// Items in a page of a list when `limit` is not given.
const PAGE_DEFAULT: u64 = 100;
/// Most items in a page of a list.
const PAGE_MAX: u64 = 1000;
/// Evidence ids given with each finding of the gap report; the others are
/// paged at `/gaps/evidence`.
const EVIDENCE_SHOWN: usize = 20;

/// The size of a page: `limit`, from 1 to [`PAGE_MAX`].
fn limit(q: &Query) -> Result<usize, Problem> {
    let limit = number(q, "limit")?.unwrap_or(PAGE_DEFAULT);
    if !(1..=PAGE_MAX).contains(&limit) {
        return Err(Problem::bad_request(format!(
            "limit must be between 1 and {PAGE_MAX} (got {limit})"
        )));
    }
    Ok(limit as usize)
}

/// A cursor parameter (`after`, …) that names an id, checked as one.
fn id_cursor<'q>(q: &'q Query, param: &str) -> Result<Option<&'q str>, Problem> {
    q.get(param)
        .map(|v| {
            passerelle_events::values::Slug::parse(v)
                .map(|_| v.as_str())
                .map_err(|m| Problem::bad_request(format!("{param}: {m}")))
        })
        .transpose()
}

/// A cursor parameter that names an event, checked as an event id and
/// spelt as answers spell one (lowercase, hyphenated).
fn event_cursor(q: &Query, param: &str) -> Result<Option<String>, Problem> {
    q.get(param)
        .map(|v| {
            uuid::Uuid::parse_str(v)
                .map(|u| u.to_string())
                .map_err(|_| {
                    Problem::bad_request(format!(
                        "{param} must be an event id, a UUID (got {:?})",
                        clip(v)
                    ))
                })
        })
        .transpose()
}

/// At most 80 characters of a value, for a message.
fn clip(v: &str) -> String {
    v.chars().take(80).collect()
}

/// How a list is ordered, which says how its cursor is found.
#[derive(Clone, Copy)]
enum Order {
    /// By the items' keys: a page starts at the first key after the
    /// cursor, whether or not an item has the cursor's key.
    ByKey,
    /// Otherwise (time, log order, severity): a page starts after the item
    /// whose key is the cursor, which must be in the list.
    Listed,
}

/// One page of a list of a read: the list's route and parameters, for the
/// link to the next page.
struct Lister<'a> {
    rest: &'a [&'a str],
    q: &'a Query,
    programme: Option<&'a str>,
    limit: usize,
}

impl Lister<'_> {
    /// The page of `items` after `after` (a value of cursor parameter
    /// `param`), at most `limit` long, and the link to the next page —
    /// `null` on the last. `what` names an item in a message.
    fn page<T>(
        &self,
        mut items: Vec<T>,
        key: impl Fn(&T) -> &str,
        order: Order,
        (param, after): (&str, Option<&str>),
        what: &str,
    ) -> Result<(Vec<T>, Value), Problem> {
        let start = match (after, order) {
            (None, _) => 0,
            (Some(a), Order::ByKey) => items.partition_point(|x| key(x) <= a),
            (Some(a), Order::Listed) => {
                items.iter().position(|x| key(x) == a).ok_or_else(|| {
                    Problem::bad_request(format!(
                        "{param} {:?} names no {what} of this list (as of this read); \
                         start again without {param}",
                        clip(a)
                    ))
                })? + 1
            }
        };
        let end = items.len().min(start + self.limit);
        let next = match end {
            e if e < items.len() && e > start => json!(self.link(param, key(&items[e - 1]))),
            _ => Value::Null,
        };
        items.truncate(end);
        items.drain(..start.min(end));
        Ok((items, next))
    }

    /// This read's path and parameters (without `min_position`), with
    /// `param` set to `cursor`.
    fn link(&self, param: &str, cursor: &str) -> String {
        link(
            &self.rest.join("/"),
            self.q,
            self.programme,
            |k| k != param && k != "min_position",
            &[(param, cursor)],
        )
    }
}

/// A link to `/api/v1/{path}`: `programme` (resolved), then the parameters
/// of `q` that `keep` keeps, then `params`.
fn link(
    path: &str,
    q: &Query,
    programme: Option<&str>,
    keep: impl Fn(&str) -> bool,
    params: &[(&str, &str)],
) -> String {
    let mut query = form_urlencoded::Serializer::new(String::new());
    if let Some(p) = programme {
        query.append_pair("programme", p);
    }
    for (k, v) in q {
        if k != "programme" && keep(k) {
            query.append_pair(k, v);
        }
    }
    query.extend_pairs(params);
    format!("/api/v1/{path}?{}", query.finish())
}

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
            | ["gaps", "evidence"]
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
    let principal = authenticate(app, method, headers)?;
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

/// Who sends the request, once it has shown it may (decision 013). A write
/// (every method but GET and HEAD) made with the session cookie must come
/// from this server's own pages ([`guard::same_origin`]; checked before the
/// session is looked up), and every write under `/api/v1` sends a JSON body
/// ([`guard::require_media`]; checked before the body is read). Every route
/// that acts for someone gets its principal here, so none can skip them.
pub(super) fn authenticate(
    app: &App,
    method: &Method,
    headers: &HeaderMap,
) -> Result<Principal, Problem> {
    let credential = Credential::of(headers)?.ok_or_else(|| {
        Problem::unauthorized("a token is required: send `Authorization: Bearer <token>`")
    })?;
    let writes = guard::writes(method);
    if writes && matches!(credential, Credential::Cookie(_)) {
        guard::same_origin(app, headers)?;
    }
    let principal = app
        .tokens()
        .authenticate(credential.secret())
        .map_err(|e| match e {
            AuthError::Missing | AuthError::Invalid | AuthError::Revoked => {
                Problem::unauthorized(e.to_string())
            }
            other => Problem::internal(other),
        })?;
    if writes {
        guard::require_media(headers, Media::Json)?;
    }
    Ok(principal)
}

/// `/login?code=…`: trades a one-time login code for a session cookie
/// ([`guard::session_cookie_header`]) and redirects, so the code leaves the
/// address bar.
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
        .header("set-cookie", guard::session_cookie_header(app, &secret))
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
    // appends only notes, which hold no personal data). Positions are told
    // in the caller's units, as in every read.
    let units = units(principal);
    let mut envelopes: Vec<Value> = Vec::with_capacity(recorded.len());
    for r in recorded {
        let position = app
            .position_for(r.event.position, units)
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
        readable(principal, p)?;
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
    }
    raw_events_allowed(principal)?;
    let head = app.inner.store.head().await.map_err(Problem::from_store)?;
    // A scoped token pages in its programme's units: `after`, each event's
    // position, `next_after` and the head count its programme's events.
    let units = units(principal);
    let told_head = app
        .position_for(head, units)
        .await
        .map_err(Problem::from_store)?;
    let mut told = after;
    if units != Units::LOG {
        if after > told_head {
            return Err(Problem::bad_request(format!(
                "after {after} is beyond the last event this token reads ({told_head})"
            )));
        }
        // The events this token reads up to the head are projected, or
        // about to be: the one the store has just acknowledged.
        app.wait_for_as(after, units).await;
        let global = app
            .inner
            .engine
            .read()
            .expect("engine lock")
            .position_of_told(after, units);
        after = global.ok_or_else(|| {
            Problem::unavailable(format!(
                "position {after} was not projected within {} ms",
                app.inner.config.min_position_timeout.as_millis()
            ))
        })?;
    }
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
            if raw.position > head {
                break 'scan;
            }
            after = raw.position;
            let r = &raw.record;
            if !principal.can_read(&r.programme) {
                continue;
            }
            told = if units == Units::LOG { after } else { told + 1 };
            let keep = q.get("programme").is_none_or(|p| *p == r.programme)
                && q.get("type").is_none_or(|t| *t == r.event_type);
            if keep {
                let event = decode(&raw).map_err(Problem::from_store)?;
                let mut v = app.opened(event).to_json();
                v["position"] = json!(told);
                events.push(v);
                if events.len() as u64 == limit {
                    break 'scan;
                }
            }
        }
    }
    let next_after = if units == Units::LOG { after } else { told };
    let body = Bytes::from(
        json!({"position": told_head, "events": events, "next_after": next_after}).to_string(),
    );
    Ok(with_etag(told_head, body, headers))
}

/// `GET /api/v1/events/stream` ([`super::stream`]).
async fn stream_events(
    app: &App,
    principal: &Principal,
    raw_query: &str,
    headers: &HeaderMap,
) -> Result<Response, Problem> {
    super::stream::open(app, principal, raw_query, headers).await
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
            readable(principal, p)?;
            if !engine.model().programmes.contains_key(p) {
                return Err(Problem::not_found(format!("no programme {p:?}")));
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

/// Refuses a programme the token is not scoped to, whether it exists or
/// not: a scoped token learns nothing of the other programmes, not even
/// their names (decision 015).
fn readable(principal: &Principal, programme: &str) -> Result<(), Problem> {
    if principal.can_read(programme) {
        return Ok(());
    }
    let own = principal.programme.as_deref().unwrap_or_default();
    Err(Problem::forbidden(format!(
        "this token is scoped to programme {own:?}: it reads {own:?} only"
    )))
}

/// The units `principal` is told log positions in (decision 015).
pub(super) fn units(principal: &Principal) -> Units<'_> {
    Units {
        audience: audience(principal),
        programme: principal.programme.as_deref(),
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
    let with = |own: &[&'static str]| [READ_PARAMS.as_slice(), own].concat();
    let allowed: Vec<&str> = match rest {
        ["programmes"] => vec!["min_position", "limit", "after"],
        ["diff"] => vec!["programme", "from", "to", "milestone", "min_position"],
        ["network"] | ["participation"] => READ_PARAMS.to_vec(),
        ["stakeholders", _] => with(&["limit", "ties_after", "contacts_after"]),
        ["gaps", "evidence"] => with(&["finding", "limit", "after"]),
        _ => with(&["limit", "after"]),
    };
    let q = parse_query(raw_query, &allowed)?;
    // Positions in and out are in the units the caller is told them in.
    let units = units(principal);
    let min_position = number(&q, "min_position")?;
    if let Some(p) = min_position {
        app.reach(p, units).await?;
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
    let (projected, told, last) = app.scope_position(&scope, units);
    // An unknown programme: the render answers (not cached per programme).
    let last = last.unwrap_or(projected);
    let principal = principal.clone();
    let rest: Vec<String> = rest.iter().map(|s| s.to_string()).collect();
    let rendered = app
        .cached(key, last, min_position, move |app, engine, cancel| {
            let rest: Vec<&str> = rest.iter().map(String::as_str).collect();
            let position = engine.position();
            let units = self::units(&principal);
            let tell = |p: u64| engine.told(p, units);
            let mut v = render(app, engine, &principal, &rest, &q, cancel)?;
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
pub(super) fn raw_events_allowed(principal: &Principal) -> Result<(), Problem> {
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
/// `cancel` is checked in the long loops (the replay of a snapshot, the
/// steps of a view, the layout chain).
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
    cancel: &Cancel,
) -> Result<Value, Failed> {
    let settings = &app.inner.config.settings;
    let audience = audience(principal);
    if rest == ["programmes"] {
        return Ok(programmes_json(engine, principal, rest, q)?);
    }
    let programme = programme_of(engine, principal, q)?;
    if rest == ["diff"] {
        return diff_body(engine, &programme, q, audience, settings, cancel);
    }
    let as_of = match as_of(q)? {
        // The n-th event in the reader's units; past the last, the latest state.
        AsOf::Position(n) => AsOf::Position(
            engine
                .position_of_told(n, units(principal))
                .unwrap_or(u64::MAX),
        ),
        as_of => as_of,
    };
    let lister = Lister {
        rest,
        q,
        programme: Some(&programme),
        limit: limit(q)?,
    };
    match rest {
        ["network"] | ["gaps"] | ["gaps", "evidence"] => {
            let v = view_within(engine, &programme, as_of, settings, cancel).map_err(failed)?;
            match rest {
                ["network"] => {
                    let positions = app
                        .inner
                        .layouts
                        .positions_within(engine, &v, settings, cancel)?;
                    Ok(network_json(&v, &positions))
                }
                ["gaps"] => Ok(gaps_page(&lister, &v.gaps.for_audience(audience))?),
                _ => Ok(evidence_page(&lister, &v.gaps.for_audience(audience))?),
            }
        }
        _ => directory(app, engine, principal, &lister, as_of, cancel),
    }
}

/// A view error as a read answers it: a stop as such, the others 404.
fn failed(e: ViewError) -> Failed {
    match e {
        ViewError::Stopped(s) => Failed::Stopped(s),
        other => Problem::not_found(other.to_string()).into(),
    }
}

/// `/programmes`: a page of the programmes the token may read, by id.
fn programmes_json(
    engine: &Engine,
    principal: &Principal,
    rest: &[&str],
    q: &Query,
) -> Result<Value, Problem> {
    let audience = audience(principal);
    let lister = Lister {
        rest,
        q,
        programme: None,
        limit: limit(q)?,
    };
    let readable: Vec<&Programme> = engine
        .model()
        .programmes
        .values()
        .filter(|p| principal.can_read(&p.id))
        .collect();
    let (page, next) = lister.page(
        readable,
        |p| p.id.as_str(),
        Order::ByKey,
        ("after", id_cursor(q, "after")?),
        "programme",
    )?;
    let programmes: Vec<Value> = page
        .into_iter()
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
    Ok(json!({"position": engine.position(), "programmes": programmes, "next": next}))
}

/// `/diff`: between two times (which `from.as_of` and `to.as_of` tell) or
/// around a milestone.
fn diff_body(
    engine: &Engine,
    programme: &str,
    q: &Query,
    audience: Audience,
    settings: &passerelle_projections::views::Settings,
    cancel: &Cancel,
) -> Result<Value, Failed> {
    let (before, after) = match (q.get("milestone"), q.get("from"), q.get("to")) {
        (Some(m), None, None) => {
            around_within(engine, programme, m, settings, cancel).map_err(failed)?
        }
        (None, Some(from), Some(to)) => {
            let t = |k: &str, s: &str| {
                passerelle_events::values::OccurredAt::parse(s)
                    .map(|t| t.datetime())
                    .map_err(|m| Problem::bad_request(format!("{k} {m}")))
            };
            let (t1, t2) = (t("from", from)?, t("to", to)?);
            if t1 > t2 {
                return Err(Problem::bad_request("from must not be later than to").into());
            }
            let v = |t| view_within(engine, programme, AsOf::Time(t), settings, cancel);
            (v(t1).map_err(failed)?, v(t2).map_err(failed)?)
        }
        _ => return Err(Problem::bad_request("give from and to, or milestone").into()),
    };
    let mut v = diff_json(&before, &after, &diff_views_for(&before, &after, audience));
    v["position"] = json!(engine.position());
    Ok(v)
}

/// `/gaps`: a page of the findings (by severity, kind and id), each with
/// its first [`EVIDENCE_SHOWN`] evidence ids and a link to the others.
fn gaps_page(
    lister: &Lister<'_>,
    report: &passerelle_projections::gaps::GapReport,
) -> Result<Value, Problem> {
    let findings: Vec<&Finding> = report.findings.iter().collect();
    let (page, next) = lister.page(
        findings,
        |f| f.id.as_str(),
        Order::Listed,
        ("after", lister.q.get("after").map(String::as_str)),
        "finding",
    )?;
    // The evidence is read as of the same point; no page of findings
    // carries over.
    let mut v = gaps_page_json(report, &page, EVIDENCE_SHOWN, |f, last| {
        link(
            "gaps/evidence",
            lister.q,
            lister.programme,
            |k| matches!(k, "as_of" | "position"),
            &[("finding", &f.id), ("after", &last.to_string())],
        )
    });
    v["next"] = next;
    Ok(v)
}

/// `/gaps/evidence`: a page of one finding's evidence ids, in id order.
fn evidence_page(
    lister: &Lister<'_>,
    report: &passerelle_projections::gaps::GapReport,
) -> Result<Value, Problem> {
    let id = lister
        .q
        .get("finding")
        .ok_or_else(|| Problem::bad_request("finding is required: the id of a finding of /gaps"))?;
    let finding = report
        .findings
        .iter()
        .find(|f| f.id == *id)
        .ok_or_else(|| {
            Problem::not_found(format!(
                "no finding {:?} in the gap report of programme {:?} as of {}",
                clip(id),
                report.programme,
                time(report.as_of)
            ))
        })?;
    let ids: Vec<String> = finding.evidence.iter().map(|u| u.to_string()).collect();
    let (page, next) = lister.page(
        ids,
        |u| u.as_str(),
        Order::ByKey,
        ("after", event_cursor(lister.q, "after")?.as_deref()),
        "event",
    )?;
    Ok(json!({
        "programme": report.programme,
        "as_of": time(report.as_of),
        "position": report.position,
        "finding": finding.id,
        "evidence": page,
        "next": next,
    }))
}

/// The directory's lists, a stakeholder with its ties and contacts, and
/// participation, as of `as_of` (the body's `as_of` is that time, `null`
/// for a position or the latest state).
fn directory(
    app: &App,
    engine: &Engine,
    principal: &Principal,
    lister: &Lister<'_>,
    as_of: AsOf,
    cancel: &Cancel,
) -> Result<Value, Failed> {
    let settings = &app.inner.config.settings;
    let audience = audience(principal);
    let programme = lister.programme.unwrap_or_default();
    let snap = engine.snapshot_within(as_of, cancel)?;
    let position = snap.position();
    let empty = Programme::default();
    let p = snap.model.programmes.get(programme).unwrap_or(&empty);
    let with_contact = matches!(principal.role, Role::Admin | Role::Coordinator);
    let after = || id_cursor(lister.q, "after");
    let mut body = match lister.rest {
        ["stakeholders"] => {
            let all = p.stakeholders.values().collect();
            let (page, next) = lister.page(
                all,
                |s| s.id.as_str(),
                Order::ByKey,
                ("after", after()?),
                "stakeholder",
            )?;
            json!({"stakeholders": page.into_iter().map(|s| stakeholder_json(app, s, with_contact)).collect::<Vec<_>>(), "next": next})
        }
        ["stakeholders", id] => {
            let s = p.stakeholders.get(*id).ok_or_else(|| {
                Problem::not_found(format!("no stakeholder {id:?} in programme {programme:?}"))
            })?;
            cancel.check()?;
            let net = Network::build(
                p,
                snap.reference_time(programme),
                position,
                &settings.network,
            );
            let me = net.index_of(id);
            let mut ties: Vec<(&str, &passerelle_projections::network::Tie)> = net
                .ties
                .iter()
                .filter(|t| Some(t.a) == me || Some(t.b) == me)
                .map(|t| {
                    (
                        net.nodes[if Some(t.a) == me { t.b } else { t.a }].as_str(),
                        t,
                    )
                })
                .collect();
            ties.sort_unstable_by_key(|(with, _)| *with);
            let (ties, ties_next) = lister.page(
                ties,
                |(with, _)| with,
                Order::ByKey,
                ("ties_after", id_cursor(lister.q, "ties_after")?),
                "tie",
            )?;
            let ties: Vec<Value> = ties
                .into_iter()
                .map(|(with, t)| tie_json(with, t))
                .collect();
            let contacts: Vec<_> = p
                .contacts
                .iter()
                .filter(|c| c.from == *id || c.to == *id)
                .map(|c| (c.event.to_string(), c))
                .collect();
            let (contacts, contacts_next) = lister.page(
                contacts,
                |(event, _)| event.as_str(),
                Order::Listed,
                (
                    "contacts_after",
                    event_cursor(lister.q, "contacts_after")?.as_deref(),
                ),
                "contact",
            )?;
            let contacts: Vec<Value> = contacts.into_iter().map(|(_, c)| contact_json(c)).collect();
            json!({
                "stakeholder": stakeholder_json(app, s, with_contact),
                "ties": ties, "ties_next": ties_next,
                "contacts": contacts, "contacts_next": contacts_next,
            })
        }
        ["partnerships"] => {
            let all = p.partnerships.values().collect();
            let (page, next) = lister.page(
                all,
                |x| x.id.as_str(),
                Order::ByKey,
                ("after", after()?),
                "partnership",
            )?;
            json!({"partnerships": page.into_iter().map(|x| json!({
                "id": x.id, "between": x.between,
                "kind": serde_json::to_value(x.kind).unwrap_or(Value::Null),
                "themes": x.themes, "formed_at": time(x.formed_at), "ended_at": x.ended_at.map(time),
            })).collect::<Vec<_>>(), "next": next})
        }
        ["sessions"] => {
            let all = p.sessions.values().collect();
            let (page, next) = lister.page(
                all,
                |s| s.id.as_str(),
                Order::ByKey,
                ("after", after()?),
                "session",
            )?;
            json!({"sessions": page.into_iter().map(|s| session_json(s, audience)).collect::<Vec<_>>(), "next": next})
        }
        ["needs"] => {
            let all = p.needs.values().collect();
            let (page, next) = lister.page(
                all,
                |n| n.id.as_str(),
                Order::ByKey,
                ("after", after()?),
                "need",
            )?;
            json!({"needs": page.into_iter().map(|n| json!({
                "id": n.id, "action": n.action, "theme": n.theme, "description": n.description,
                "priority": n.priority.map(|x| serde_json::to_value(x).unwrap_or(Value::Null)),
                "status": match n.status { NeedStatus::Open => "open", NeedStatus::Addressed => "addressed", NeedStatus::Withdrawn => "withdrawn" },
                "addressed_by": n.addressed_by, "declared_at": time(n.declared_at),
            })).collect::<Vec<_>>(), "next": next})
        }
        ["milestones"] => {
            let (page, next) = lister.page(
                p.milestones_in_order(),
                |m| m.id.as_str(),
                Order::Listed,
                ("after", after()?),
                "milestone",
            )?;
            json!({"milestones": page.into_iter().map(|m| json!({
                "id": m.id, "label": m.label,
                "kind": serde_json::to_value(m.kind).unwrap_or(Value::Null),
                "occurred_at": time(m.occurred_at),
            })).collect::<Vec<_>>(), "next": next})
        }
        ["notes"] => {
            let all = p.notes.iter().collect();
            let (page, next) = lister.page(
                all,
                |n| n.id.as_str(),
                Order::Listed,
                ("after", after()?),
                "note",
            )?;
            json!({"notes": page.into_iter().map(|n| json!({
                "id": n.id, "about": serde_json::to_value(&n.about).unwrap_or(Value::Null),
                "text": n.text, "recorded_by": n.recorded_by, "occurred_at": time(n.occurred_at),
            })).collect::<Vec<_>>(), "next": next})
        }
        ["participation"] => participation_json(&participation_for(p, audience)),
        _ => return Err(Problem::not_found("no such route").into()),
    };
    body["position"] = json!(position);
    body["programme"] = json!(programme);
    body["as_of"] = match as_of {
        AsOf::Time(t) => json!(time(t)),
        AsOf::Latest | AsOf::Position(_) => Value::Null,
    };
    Ok(body)
}

/// One tie of a stakeholder, to `with`.
fn tie_json(with: &str, t: &passerelle_projections::network::Tie) -> Value {
    json!({
        "with": with,
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
}

/// One outreach contact.
fn contact_json(c: &passerelle_projections::model::Contact) -> Value {
    json!({
        "event": c.event, "from": c.from, "to": c.to,
        "channel": serde_json::to_value(c.channel).unwrap_or(Value::Null),
        "purpose": c.purpose,
        "outcome": serde_json::to_value(c.outcome).unwrap_or(Value::Null),
        "occurred_at": time(c.occurred_at),
        "follow_up_due": c.follow_up_due.map(|d| d.to_string()),
    })
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
