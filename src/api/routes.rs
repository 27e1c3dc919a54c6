//! The handlers under `/api/v1`. The route table
//! ([`crate::http::route`]) has found the route and the operation; [`handle`]
//! authenticates (with the guard on writes, [`crate::http::guard`]), reads
//! the query the operation declares and calls the handler, an ordinary async
//! function returning a response or a [`Problem`]. Authorisation,
//! `position`/`ETag` and `min_position` are applied here, once.

use bytes::{Buf, Bytes};
use futures::Stream;
use passerelle_events::json;
use passerelle_events::ledger::decode;
use passerelle_events::store::PAGE;
use passerelle_events::{Event, EventLog, FieldError, Submission};
use passerelle_projections::cancel::Cancel;
use passerelle_projections::engine::{AsOf, Engine, Units};
use passerelle_projections::gaps::{kind_name, Finding, FindingKind, Severity};
use passerelle_projections::model::{Audience, Count, Programme};
use passerelle_projections::network::Network;
use passerelle_projections::participation::participation_for;
use passerelle_projections::views::{
    around_within, diff_views_for, known_programmes, network_view_within, view_within, ViewError,
};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use warp::http::{HeaderMap, Method, StatusCode};

use super::body;
use super::state::{App, Cached, Failed, Rendered, Scope};
use crate::auth::{AuthError, Principal, Role};
use crate::http::guard::{self, Credential, Media};
use crate::http::problem::Problem;
use crate::http::reply::{json_response, number, parse_query, read_body, to_json, Query, Response};
use crate::http::route::{Route, Routed, Verb, API_BASE};
use crate::render::{
    contact_summary, diff_json, gaps_page_json, map_json, network_json, note_json,
    participation_json, time,
};

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

/// Query parameter `param`, when given, as one of `all` by its name; any
/// other value is a 400 naming the parameter, `what` it must be and the
/// names it may take.
fn one_of<T: Copy>(
    q: &Query,
    param: &str,
    what: &str,
    all: &[T],
    name: impl Fn(T) -> &'static str,
) -> Result<Option<T>, Problem> {
    let Some(v) = q.get(param) else {
        return Ok(None);
    };
    all.iter()
        .copied()
        .find(|&x| name(x) == v)
        .map(Some)
        .ok_or_else(|| {
            let names: Vec<&str> = all.iter().map(|&x| name(x)).collect();
            Problem::bad_request(format!(
                "{param} {:?} is not {what}; expected one of {}",
                clip(v),
                names.join(", ")
            ))
        })
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
    ) -> Result<(Vec<T>, Option<String>), Problem> {
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
            e if e < items.len() && e > start => Some(self.link(param, key(&items[e - 1]))),
            _ => None,
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
    format!("{API_BASE}/{path}?{}", query.finish())
}

/// Handles a request the route table sent to the API: the routes that need
/// no credential, then, for every other, its principal ([`authenticate`])
/// and its query (the parameters its operation reads, each once), then the
/// handler.
pub async fn handle<S, B>(app: &App, req: Routed<'_>, body: S) -> Result<Response, Problem>
where
    S: Stream<Item = Result<B, warp::Error>> + Send,
    B: Buf,
{
    match req.route {
        Route::Health => {
            parse_query(req.raw_query, req.op)?;
            // No position: anyone may ask, and a position that moves with
            // every event would count each attendance.
            return Ok(json_response(
                StatusCode::OK,
                &body::Health { status: "ok" },
            ));
        }
        Route::OpenApi => {
            parse_query(req.raw_query, req.op)?;
            static DOCUMENT: std::sync::OnceLock<Value> = std::sync::OnceLock::new();
            return Ok(json_response(
                StatusCode::OK,
                DOCUMENT.get_or_init(super::openapi::document),
            ));
        }
        Route::Erasures | Route::Subject => return super::rights::handle(app, req, body).await,
        Route::Tokens | Route::Revocations => return super::tokens::handle(app, req, body).await,
        _ => {}
    }
    let principal = authenticate(app, req.method, req.headers)?;
    let q = parse_query(req.raw_query, req.op)?;
    let headers = req.headers;
    match (req.route, req.op.verb) {
        (Route::Events, Verb::Post) => post_events(app, &principal, body).await,
        (Route::Events, _) => get_events(app, &principal, q, headers).await,
        (Route::EventStream, _) => super::stream::open(app, &principal, q, headers).await,
        (Route::Me, _) => Ok(json_response(
            StatusCode::OK,
            &body::Me {
                name: principal.name.clone(),
                role: principal.role.as_str(),
                programme: principal.programme.clone(),
            },
        )),
        (Route::Metrics, _) => {
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
                .header("content-type", super::telemetry::CONTENT_TYPE)
                .body(text.into())
                .expect("valid response"))
        }
        _ => {
            // The path under the API's base, by segment: what a read is of.
            let rest: Vec<&str> = req.path.trim_matches('/').split('/').skip(2).collect();
            read(app, &principal, &rest, q, headers).await
        }
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
        guard::same_origin(app.inner.config.public_url.as_ref(), headers)?;
    }
    let principal = app
        .tokens()
        .authenticate(credential.secret())
        .map_err(|e| match e {
            AuthError::Missing | AuthError::Invalid | AuthError::Revoked => {
                Problem::unauthorized(e.to_string())
            }
            AuthError::Unavailable(m) => Problem::unavailable(format!("token storage: {m}")),
            other => Problem::internal(other),
        })?;
    if writes {
        guard::require_media(headers, Media::Json)?;
    }
    Ok(principal)
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
    let body = if single && envelopes.len() == 1 {
        body::AppendResult::One(envelopes.remove(0))
    } else {
        body::AppendResult::Batch(envelopes)
    };
    Ok(json_response(status, &body))
}

async fn get_events(
    app: &App,
    principal: &Principal,
    q: Query,
    headers: &HeaderMap,
) -> Result<Response, Problem> {
    let mut after = number(&q, "after")?.unwrap_or(0);
    let limit = number(&q, "limit")?.unwrap_or(100);
    if !(1..=1000).contains(&limit) {
        return Err(Problem::bad_request(format!(
            "limit must be between 1 and 1000 (got {limit})"
        )));
    }
    one_of(&q, "type", "an event type", Event::TYPES, |t| t)?;
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
    let body = Bytes::from(to_json(&body::EventPage {
        position: told_head,
        events,
        next_after,
    }));
    Ok(with_etag(told_head, body, headers))
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

async fn read(
    app: &App,
    principal: &Principal,
    rest: &[&str],
    q: Query,
    headers: &HeaderMap,
) -> Result<Response, Problem> {
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
    // programmes or reads as of a log position, or is a gap report that
    // shows the mentor programmes' practice (to an unscoped reader, who may
    // read them). A read of programme A is not invalidated by appends to
    // programme B; its body then reports the projected position, which it
    // reflects as well.
    let programme = q
        .get("programme")
        .map(String::as_str)
        .or(principal.programme.as_deref());
    let practice = rest == ["gaps"] && principal.programme.is_none();
    let scope = match programme {
        Some(p) if rest != ["programmes"] && !q.contains_key("position") && !practice => {
            Scope::Programme(p)
        }
        _ => Scope::Log,
    };
    // For mentors and viewers, the last event the read depends on is the
    // last they can see: a hidden event does not even render it again.
    let (projected, told, last) = app.scope_position(&scope, units);
    // An unknown programme: the render answers (not cached per programme).
    let last = last.unwrap_or(projected);
    // A map's layout may not have been settled when it was rendered: once
    // the background has computed frames of the programme since, it is
    // rendered again, under a key of its own (decision 024).
    let key = match (rest, programme) {
        (["network"] | ["map"], Some(p)) => {
            let relaid = app.inner.relaid.lock().expect("relaid lock");
            format!("{key}|{}", relaid.get(p).copied().unwrap_or(0))
        }
        _ => key,
    };
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
        ["map"] => map(app, engine, &programme, as_of, cancel),
        ["network"] => {
            let v =
                network_view_within(engine, &programme, as_of, settings, cancel).map_err(failed)?;
            let frame = app.inner.layouts.frame_within(
                engine,
                &programme,
                v.network.as_of,
                settings,
                cancel,
            )?;
            let positions = frame.as_ref().map(|f| f.positions()).unwrap_or_default();
            // Past the deadline, the body (hundreds of megabytes as a JSON
            // value on a large programme) is not built for nobody.
            cancel.check()?;
            let mut body = network_json(&v, &positions);
            body.settled = frame.is_none_or(|f| f.settled);
            cancel.check()?;
            Ok(value(&body))
        }
        ["gaps"] | ["gaps", "evidence"] => {
            let v = view_within(engine, &programme, as_of, settings, cancel).map_err(failed)?;
            match rest {
                ["gaps"] => Ok(gaps_page(
                    &lister,
                    principal,
                    &v.gaps.for_audience(audience),
                )?),
                _ => Ok(evidence_page(&lister, &v.gaps.for_audience(audience))?),
            }
        }
        _ => directory(app, engine, principal, &lister, as_of, cancel),
    }
}

/// `/map`: the frame of the programme's map at `as_of` (its last event's
/// time by default), from the layouts kept per month (decision 024).
fn map(
    app: &App,
    engine: &Engine,
    programme: &str,
    as_of: AsOf,
    cancel: &Cancel,
) -> Result<Value, Failed> {
    let settings = &app.inner.config.settings;
    let Some(p) = engine.model().programmes.get(programme) else {
        return Err(failed(ViewError::UnknownProgramme(
            programme.to_owned(),
            known_programmes(engine),
        )));
    };
    let time = match as_of {
        AsOf::Time(t) => t,
        // `position` is not a parameter of this read.
        AsOf::Latest | AsOf::Position(_) => p.latest.unwrap_or(chrono::DateTime::UNIX_EPOCH),
    };
    let layouts = &app.inner.layouts;
    let frame = layouts.frame_within(engine, programme, time, settings, cancel)?;
    let steps = layouts.steps(engine, programme, settings);
    Ok(value(&map_json(
        programme,
        time,
        engine.position(),
        frame.as_deref(),
        &steps,
    )))
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
    let programmes = page
        .into_iter()
        .map(|p| body::ProgrammeSummary {
            id: p.id.clone(),
            name: p.name.clone(),
            role: p.role,
            country: p.country.clone(),
            stakeholders: p.active_stakeholders().count(),
            partnerships: p
                .partnerships
                .values()
                .filter(|x| x.ended_at.is_none())
                .count(),
            sessions: p.sessions.len(),
            events: p.events_for(audience),
        })
        .collect();
    Ok(value(&body::ProgrammeList {
        position: engine.position(),
        programmes,
        next,
    }))
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
    let d = diff_views_for(&before, &after, audience);
    Ok(value(&diff_json(
        &before,
        &after,
        &d,
        Some(engine.position()),
    )))
}

/// `/gaps`: a page of the findings (most important first:
/// `gaps::order_key`), each with its first [`EVIDENCE_SHOWN`] evidence ids
/// and a link to the others, and the counts of the whole report as the
/// reader may read it, before the filters.
fn gaps_page(
    lister: &Lister<'_>,
    principal: &Principal,
    report: &passerelle_projections::gaps::GapReport,
) -> Result<Value, Problem> {
    let q = lister.q;
    let kind = one_of(
        q,
        "kind",
        "a kind of finding",
        &FindingKind::ALL,
        FindingKind::as_str,
    )?;
    let severity = one_of(
        q,
        "severity",
        "a severity",
        &Severity::ALL,
        Severity::as_str,
    )?;
    let subject = q.get("subject").map(String::as_str);
    if subject.is_some_and(|s| s.is_empty() || s.chars().count() > 200) {
        return Err(Problem::bad_request(
            "subject must be 1 to 200 characters: a stakeholder, need, partnership or session id, a sector or a theme",
        ));
    }
    let findings: Vec<&Finding> = report
        .findings
        .iter()
        .filter(|f| kind.is_none_or(|k| f.kind == k))
        .filter(|f| severity.is_none_or(|s| f.severity == s))
        .filter(|f| subject.is_none_or(|s| f.subjects.iter().any(|x| x == s)))
        .collect();
    let (page, next) = lister.page(
        findings,
        |f| f.id.as_str(),
        Order::Listed,
        ("after", lister.q.get("after").map(String::as_str)),
        "finding",
    )?;
    // The evidence is read as of the same point; no page of findings
    // carries over.
    let evidence_next = |f: &Finding, last: &uuid::Uuid| {
        link(
            "gaps/evidence",
            lister.q,
            lister.programme,
            |k| matches!(k, "as_of" | "position"),
            &[("finding", &f.id), ("after", &last.to_string())],
        )
    };
    Ok(value(&gaps_page_json(
        report,
        &page,
        EVIDENCE_SHOWN,
        evidence_next,
        |programme| principal.can_read(programme),
        next,
    )))
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
    Ok(value(&body::EvidencePage {
        programme: report.programme.clone(),
        as_of: time(report.as_of),
        position: report.position,
        finding: finding.id.clone(),
        evidence: page,
        next,
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
    let programme = programme.to_owned();
    let as_of = match as_of {
        AsOf::Time(t) => Some(time(t)),
        AsOf::Latest | AsOf::Position(_) => None,
    };
    let body = match lister.rest {
        ["stakeholders"] => {
            let all = p.stakeholders.values().collect();
            let (page, next) = lister.page(
                all,
                |s| s.id.as_str(),
                Order::ByKey,
                ("after", after()?),
                "stakeholder",
            )?;
            value(&body::StakeholderList {
                position,
                programme,
                as_of,
                stakeholders: page
                    .into_iter()
                    .map(|s| stakeholder(app, s, with_contact))
                    .collect(),
                next,
            })
        }
        ["stakeholders", id] => {
            let s = p.stakeholders.get(*id).ok_or_else(|| {
                Problem::not_found(format!("no stakeholder {id:?} in programme {programme:?}"))
            })?;
            cancel.check()?;
            let net = Network::build(
                p,
                snap.reference_time(&programme),
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
            value(&body::StakeholderDetail {
                position,
                programme,
                as_of,
                stakeholder: stakeholder(app, s, with_contact),
                ties: ties.into_iter().map(|(with, t)| tie(with, t)).collect(),
                ties_next,
                contacts: contacts.into_iter().map(|(_, c)| contact(c)).collect(),
                contacts_next,
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
            value(&body::PartnershipList {
                position,
                programme,
                as_of,
                partnerships: page
                    .into_iter()
                    .map(|x| body::Partnership {
                        id: x.id.clone(),
                        between: x.between.clone(),
                        kind: x.kind,
                        themes: x.themes.clone(),
                        formed_at: time(x.formed_at),
                        ended_at: x.ended_at.map(time),
                    })
                    .collect(),
                next,
            })
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
            value(&body::SessionList {
                position,
                programme,
                as_of,
                sessions: page.into_iter().map(|s| session(s, audience)).collect(),
                next,
            })
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
            value(&body::NeedList {
                position,
                programme,
                as_of,
                needs: page
                    .into_iter()
                    .map(|n| body::Need {
                        id: n.id.clone(),
                        action: n.action.clone(),
                        theme: n.theme.clone(),
                        description: n.description.clone(),
                        priority: n.priority,
                        status: n.status.as_str(),
                        addressed_by: n.addressed_by.clone(),
                        declared_at: time(n.declared_at),
                    })
                    .collect(),
                next,
            })
        }
        ["milestones"] => {
            let (page, next) = lister.page(
                p.milestones_in_order(),
                |m| m.id.as_str(),
                Order::Listed,
                ("after", after()?),
                "milestone",
            )?;
            value(&body::MilestoneList {
                position,
                programme,
                as_of,
                milestones: page
                    .into_iter()
                    .map(|m| body::Milestone {
                        id: m.id.clone(),
                        label: m.label.clone(),
                        kind: m.kind,
                        occurred_at: time(m.occurred_at),
                    })
                    .collect(),
                next,
            })
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
            value(&body::NoteList {
                position,
                programme,
                as_of,
                notes: page.into_iter().map(note_json).collect(),
                next,
            })
        }
        ["participation"] => value(&participation_json(
            &participation_for(p, audience),
            position,
            &programme,
            as_of,
        )),
        _ => return Err(Problem::not_found("no such route").into()),
    };
    Ok(body)
}

/// A body as a JSON value, for a read whose position fields the cache
/// rewrites ([`Rendered`]).
fn value(body: &impl serde::Serialize) -> Value {
    serde_json::to_value(body).expect("a response body serialises to JSON")
}

/// One tie of a stakeholder, to `with`.
fn tie(with: &str, t: &passerelle_projections::network::Tie) -> body::Tie {
    body::Tie {
        with: with.to_owned(),
        strength: t.strength,
        present: t.present,
        partnership: t.partnership.as_ref().map(|x| body::TiePartnership {
            id: x.id.clone(),
            kind: x.kind,
            themes: x.themes.clone(),
            formed_at: time(x.formed_at),
            ended_at: x.ended_at.map(time),
        }),
        contacts: contact_summary(&t.contacts),
        sessions: t.sessions.clone(),
        last_interaction: time(t.last_interaction),
    }
}

/// One outreach contact.
fn contact(c: &passerelle_projections::model::Contact) -> body::OutreachContact {
    body::OutreachContact {
        event: c.event,
        from: c.from.clone(),
        to: c.to.clone(),
        channel: c.channel,
        purpose: c.purpose.clone(),
        outcome: c.outcome,
        occurred_at: time(c.occurred_at),
        follow_up_due: c.follow_up_due.map(|d| d.to_string()),
    }
}

/// A stakeholder; with its contact details opened when `with_contact`
/// (admins and coordinators), and without them otherwise.
fn stakeholder(
    app: &App,
    s: &passerelle_projections::model::Stakeholder,
    with_contact: bool,
) -> body::Stakeholder {
    let contact = match &s.contact {
        Some((event, c)) if with_contact => {
            let mut c = c.clone();
            for (path, slot) in c.slots() {
                app.keyring().open_slot(*event, path, slot);
            }
            Some(c)
        }
        _ => None,
    };
    body::Stakeholder {
        id: s.id.clone(),
        name: s.name.clone(),
        kind: kind_name(s.kind),
        themes: s.themes.clone(),
        territory: s.territory.clone(),
        archived: s.archived,
        registered_at: time(s.registered_at),
        contact,
    }
}

/// A session as `audience` may see it. For mentors and viewers, a session
/// that is not public ([`passerelle_projections::model::Session::is_public`])
/// shows its counts hidden (a total of at least 5 stays) and
/// `suppressed: true`, and `attended` is always hidden: it grows one
/// attendance event at a time, so reads as of successive times or
/// positions would show a small one.
fn session(s: &passerelle_projections::model::Session, audience: Audience) -> body::Session {
    let c = s.counts_for(audience);
    body::Session {
        id: s.id.clone(),
        title: s.title.clone(),
        themes: s.themes.clone(),
        level: s.level,
        stakeholders: s.stakeholders.clone(),
        facilitators: s.facilitators.clone(),
        groups: s.groups.clone(),
        beneficiaries: body::SessionBeneficiaries {
            total: c.total,
            women: c.women,
            men: c.men,
            undisclosed: c.undisclosed,
            first_time: c.first_time,
            returning: c.returning,
        },
        suppressed: c.suppressed,
        outputs: s.outputs.clone(),
        occurred_at: time(s.occurred_at),
        attended: Count::when_len(audience == Audience::Full, s.participants.len()),
    }
}
