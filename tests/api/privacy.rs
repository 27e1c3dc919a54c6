//! The privacy promise of issue 10 as a property of the whole API: over every
//! operation the served OpenAPI document lists, every role and programme
//! scope, and generated query values, no answer to a mentor or a viewer —
//! body, headers, Server-Sent Events messages — holds a personal field in
//! clear or sealed, nor the id of a person's data key; and no answer to an
//! admin or a coordinator holds a sealed value (what they get is opened).
//!
//! The operations come from the document, so a new route is covered without
//! a change here — or fails loudly until [`fill`] knows how to give its
//! parameters values. Every route is first tried with every caller and
//! programme, at the latest state and at three earlier dates (an exhaustive
//! pass), then with random query values (proptest, a bounded number of
//! cases). The secrets looked for are every
//! personal value of the demo log and of the events this test adds, and
//! every sealed value and key id the store file holds, read from the file
//! itself.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use passerelle::auth::Role;
use passerelle_events::{Event, EventLog, SqliteStore};
use passerelle_projections::engine::Units;
use passerelle_projections::model::Audience;
use proptest::prelude::*;
use proptest::sample::select;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use reqwest::StatusCode;

use super::*;

/// Random requests tried after the exhaustive pass.
const CASES: u32 = 96;

/// Personal values this test records on top of the demo (a contact with a
/// phone, which the demo lacks; attendances; contacts to erase).
const PROBE_PERSON: &str = "Probe Contact Person";
const PROBE_EMAIL: &str = "probe.person@privacy.example";
const PROBE_PHONE: &str = "+33 2 38 99 00 42";
const PROBE_CODES: [(&str, &str); 2] = [("sjdlr", "sj-q901"), ("brussels", "bx-q901")];

/// Who asks.
struct Caller {
    name: String,
    secret: String,
    /// A mentor or a viewer: may see no personal data.
    restricted: bool,
}

/// One operation of the served document.
#[derive(Debug)]
struct Operation {
    method: Method,
    /// Relative to `/api/v1`, as the document writes it (`/stakeholders/{id}`).
    template: String,
    /// `(in, name)` of each parameter: `path`, `query` or `header`.
    params: Vec<(String, String)>,
}

/// What must not leak.
struct Secrets {
    /// Personal values in clear.
    plain: Vec<String>,
    /// Every sealed value the store holds (base64url).
    sealed: Vec<String>,
    /// Every data key id the store's events name.
    keys: Vec<String>,
}

/// Real ids of the log, to fill path and query parameters with.
struct Demo {
    stakeholders: Vec<(String, String)>,
    subjects: Vec<String>,
    milestones: Vec<String>,
    /// (programme, finding id) of the latest gap reports.
    findings: Vec<(String, String)>,
    /// Subjects an admin may erase during the test (and unknown ones).
    erasable: Vec<String>,
    /// Ids of tokens an admin may revoke during the test (held by no
    /// caller; scoped to `brussels` or not, and an unknown one).
    revocable: Vec<String>,
}

/// The values a request may take, one per parameter name the test knows.
#[derive(Debug, Clone)]
struct Values {
    programme: Option<&'static str>,
    as_of: Option<String>,
    position: Option<u64>,
    min_position: Option<u64>,
    after: Option<u64>,
    limit: Option<u64>,
    event_type: Option<&'static str>,
    from: Option<String>,
    to: Option<String>,
    /// Picks among the log's milestones (modulo their number).
    milestone: Option<usize>,
    last_event_id: Option<u64>,
    /// Picks a stakeholder, a subject, a body (modulo their number).
    stakeholder: usize,
    subject: usize,
    body: usize,
}

/// Item `i` (modulo their number) of `items`.
fn pick<T>(items: &[T], i: usize) -> &T {
    &items[i % items.len()]
}

/// A request ready to send.
struct Request {
    path: String,
    query: String,
    headers: Vec<(&'static str, String)>,
    body: Option<Value>,
    /// Whether the route answers with Server-Sent Events.
    stream: bool,
}

/// Every operation of the document the server serves.
fn operations(doc: &Value) -> Vec<Operation> {
    let mut out = Vec::new();
    for (template, item) in doc["paths"].as_object().expect("paths") {
        for (method, op) in item.as_object().expect("a path item") {
            let method = Method::from_bytes(method.to_uppercase().as_bytes()).expect("a method");
            let params = op["parameters"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|p| match p["$ref"].as_str() {
                    Some(r) => doc
                        .pointer(r.trim_start_matches('#'))
                        .expect("a parameter ref resolves"),
                    None => p,
                })
                .map(|p| {
                    (
                        p["in"].as_str().expect("in").to_owned(),
                        p["name"].as_str().expect("name").to_owned(),
                    )
                })
                .collect();
            out.push(Operation {
                method,
                template: template.clone(),
                params,
            });
        }
    }
    out
}

/// The request `op` makes with `v`. Panics, naming it, on a parameter or a
/// body this test does not know how to give: a new route must be taught here.
fn fill(op: &Operation, v: &Values, demo: &Demo) -> Request {
    let mut path = format!("/api/v1{}", op.template);
    let mut query = Vec::new();
    let mut headers = Vec::new();
    let unknown = |what: &str| -> ! {
        panic!(
            "{} {}: the privacy test does not know how to fill {what}; teach `fill` in \
             tests/api/privacy.rs",
            op.method, op.template
        )
    };
    let num = |n: Option<u64>| n.map(|n| n.to_string());
    for (place, name) in &op.params {
        let value = match (place.as_str(), name.as_str()) {
            ("path", "id") => Some(pick(&demo.stakeholders, v.stakeholder).1.clone()),
            ("path", "subject") => Some(encode_subject(pick(&demo.subjects, v.subject).as_str())),
            ("query", "programme") => v.programme.map(str::to_owned),
            ("query", "as_of") => v.as_of.clone(),
            ("query", "position") => num(v.position),
            ("query", "min_position") => num(v.min_position),
            ("query", "after") => num(v.after),
            ("query", "limit") => num(v.limit),
            ("query", "type") => v.event_type.map(str::to_owned),
            ("query", "from") => v.from.clone(),
            ("query", "to") => v.to.clone(),
            ("query", "milestone") => v.milestone.map(|i| pick(&demo.milestones, i).clone()),
            ("query", "finding") => demo
                .findings
                .iter()
                .find(|(p, _)| p == v.programme.unwrap_or("sjdlr"))
                .map(|(_, id)| id.clone()),
            // The first page of ties and contacts: cursors are only ever
            // taken from an answer.
            ("query", "ties_after" | "contacts_after") => None,
            // The gap report's filters pick from the findings the caller is
            // given: the participation findings (the shares) half the time.
            ("query", "kind") => v
                .limit
                .filter(|n| n % 2 == 0)
                .map(|_| "participation".to_owned()),
            ("query", "severity" | "subject") => None,
            ("header", "Last-Event-ID") => num(v.last_event_id),
            // An ETag is only ever sent back: no value of its own to try.
            ("header", "If-None-Match") => None,
            _ => unknown(&format!("the {place} parameter {name}")),
        };
        let Some(value) = value else { continue };
        match place.as_str() {
            "path" => path = path.replace(&format!("{{{name}}}"), &value),
            "query" => query.push(format!("{name}={}", value.replace('+', "%2B"))),
            // Last-Event-ID, the one header given a value.
            _ => headers.push(("last-event-id", value)),
        }
    }
    let programme = v.programme.unwrap_or("sjdlr");
    let body = match (op.method.as_str(), op.template.as_str()) {
        (_, _) if op.method == Method::GET => None,
        ("POST", "/events") => Some(if v.body.is_multiple_of(2) {
            let about = if programme == "sjdlr" {
                "sj-ccas"
            } else {
                "br-bapa"
            };
            note(programme, &fresh_slug("pn"), about)
        } else {
            probe_stakeholder(programme, &fresh_slug("pv"))
        }),
        ("POST", "/erasures") => Some(json!({
            "subject": pick(&demo.erasable, v.body),
            "reason": "Probing the privacy rules",
        })),
        // Tokens no caller holds: revoking one of the callers' would end
        // the run.
        ("POST", "/revocations") => Some(json!({"token": pick(&demo.revocable, v.body)})),
        _ => unknown("the request body"),
    };
    Request {
        path,
        query: query.join("&"),
        headers,
        body,
        stream: op.template == "/events/stream",
    }
}

/// A fresh id: `prefix-` and 8 hex digits.
fn fresh_slug(prefix: &str) -> String {
    format!("{prefix}-{}", &new_id()[..8])
}

/// A stakeholder with every contact field, from this test's probe values.
fn probe_stakeholder(programme: &str, slug: &str) -> Value {
    json!({
        "id": new_id(), "type": "StakeholderRegistered", "programme": programme,
        "occurred_at": "2022-05-02",
        "data": {
            "stakeholder": slug, "name": format!("Probe stakeholder {slug}"), "kind": "association",
            "contact": {"person": PROBE_PERSON, "email": PROBE_EMAIL, "phone": PROBE_PHONE},
        },
    })
}

/// Every personal value of the demo log, in clear.
fn demo_plaintexts() -> Vec<String> {
    let mut out = Vec::new();
    for line in passerelle::demo::DEMO_JSONL
        .lines()
        .filter(|l| !l.trim().is_empty())
    {
        let e: Value = serde_json::from_str(line).expect("a demo line");
        for field in ["person", "email", "phone"] {
            if let Some(s) = e["data"]["contact"][field].as_str() {
                out.push(s.to_owned());
            }
        }
        if let Some(s) = e["data"]["participant"].as_str() {
            out.push(s.to_owned());
        }
    }
    out
}

/// Every sealed value and key id in the store file's events, read from the
/// file; and a check that no plaintext is in it.
async fn stored_secrets(db: &std::path::Path, plain: &[String]) -> (Vec<String>, Vec<String>) {
    fn walk(v: &Value, sealed: &mut Vec<String>, keys: &mut Vec<String>) {
        match v {
            Value::Object(m) => {
                if let (Some(Value::String(k)), Some(Value::String(s))) =
                    (m.get("key"), m.get("sealed"))
                {
                    keys.push(k.clone());
                    sealed.push(s.clone());
                }
                m.values().for_each(|x| walk(x, sealed, keys));
            }
            Value::Array(a) => a.iter().for_each(|x| walk(x, sealed, keys)),
            _ => {}
        }
    }
    let store = SqliteStore::open(db).expect("reopen the store");
    let (mut sealed, mut keys) = (Vec::new(), Vec::new());
    let mut after = 0;
    loop {
        let page = store.read(after, 1024).await.expect("read the store");
        let Some(last) = page.last() else { break };
        after = last.position;
        for raw in &page {
            for p in plain {
                assert!(
                    !raw.record.data.contains(p.as_str()),
                    "event {} is stored with {p:?} in clear",
                    raw.position
                );
            }
            let data: Value = serde_json::from_str(&raw.record.data).expect("stored JSON");
            walk(&data, &mut sealed, &mut keys);
        }
    }
    sealed.sort();
    sealed.dedup();
    keys.sort();
    keys.dedup();
    (sealed, keys)
}

/// The first `k_` and 32 lowercase hex digits in `text`, if any.
fn key_like(text: &str) -> Option<&str> {
    text.match_indices("k_").map(|(i, _)| i).find_map(|i| {
        let hex = text.get(i + 2..i + 34)?;
        hex.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
            .then(|| &text[i..i + 34])
    })
}

/// What in `text` a caller must not get.
fn leaks(caller: &Caller, text: &str, s: &Secrets) -> Vec<String> {
    let mut found = Vec::new();
    if caller.restricted {
        found.extend(
            s.plain
                .iter()
                .filter(|p| text.contains(p.as_str()))
                .map(|p| format!("the personal value {p:?}")),
        );
        found.extend(
            s.keys
                .iter()
                .filter(|k| text.contains(k.as_str()))
                .map(|k| format!("the key id {k}")),
        );
        if let Some(k) = key_like(text) {
            found.push(format!("something shaped like a key id, {k}"));
        }
    }
    found.extend(
        s.sealed
            .iter()
            .filter(|x| text.contains(x.as_str()))
            .map(|x| format!("the sealed value {}…", &x[..16])),
    );
    if text.contains("\"sealed\"") {
        found.push("a \"sealed\" member".into());
    }
    found
}

/// What one request got.
struct Outcome {
    status: StatusCode,
    /// Whether the answer held a personal value in clear (for an admin or a
    /// coordinator: the search finds what it looks for).
    opened: bool,
}

/// Sends `op` with `v` as `caller` and checks every byte it gets back. The
/// answer is checked against the document too (by [`TestApp::send`]).
async fn probe(
    app: &TestApp,
    op: &Operation,
    caller: &Caller,
    v: &Values,
    demo: &Demo,
    secrets: &Secrets,
) -> Result<Outcome, String> {
    let req = fill(op, v, demo);
    let what = format!(
        "{} {}?{} as {}",
        op.method, req.path, req.query, caller.name
    );
    let auth = Auth::Bearer(&caller.secret);
    let mut texts = Vec::new();
    let status;
    if req.stream {
        let after = req
            .query
            .strip_prefix("after=")
            .map(|a| a.parse().expect("after"));
        let last = req
            .headers
            .iter()
            .find(|(k, _)| *k == "last-event-id")
            .map(|(_, v)| v.parse().expect("an id"));
        let mut stream = app.stream(auth, after, last).await;
        if caller.restricted && stream.status != StatusCode::FORBIDDEN {
            return Err(format!("{what}: the stream answered {}", stream.status));
        }
        status = stream.status;
        texts.extend(
            stream
                .headers
                .values()
                .map(|h| String::from_utf8_lossy(h.as_bytes()).into_owned()),
        );
        match &stream.problem {
            Some(p) => texts.push(p.to_string()),
            // Every message until the stream has caught up (its first heartbeat).
            None => {
                while let Some(Frame::Event { data, .. }) = stream.next().await {
                    texts.push(data.to_string());
                }
            }
        }
    } else {
        let headers: Vec<(&str, &str)> =
            req.headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let reply = app
            .send(
                op.method.clone(),
                &req.path,
                auth,
                &req.query,
                &headers,
                req.body.map(|b| b.to_string().into()),
            )
            .await;
        if reply.status.is_server_error() {
            return Err(format!("{what}: {} {}", reply.status, reply.text()));
        }
        status = reply.status;
        texts.extend(
            reply
                .headers
                .values()
                .map(|h| String::from_utf8_lossy(h.as_bytes()).into_owned()),
        );
        texts.push(reply.text());
    }
    let mut opened = false;
    for text in &texts {
        let found = leaks(caller, text, secrets);
        if !found.is_empty() {
            return Err(format!(
                "{what} received {}:\n{text:.2000}",
                found.join(", ")
            ));
        }
        opened |= secrets.plain.iter().any(|p| text.contains(p.as_str()));
    }
    Ok(Outcome { status, opened })
}

/// The strategy of query values, over the log's range of dates and positions.
fn values(head: u64, reached: u64) -> impl Strategy<Value = Values> {
    let date =
        (2020i32..=2023, 1u32..=12, 1u32..=28).prop_map(|(y, m, d)| format!("{y}-{m:02}-{d:02}"));
    let time = prop_oneof![
        date.clone(),
        (date, 0u32..24).prop_map(|(d, h)| format!("{d}T{h:02}:30:00Z")),
        date_time_offset(),
    ];
    let position = prop::option::of(0..=head + 2);
    (
        (
            prop::option::of(select(vec!["sjdlr", "brussels"])),
            prop::option::of(time.clone()),
            position.clone(),
            // Reached for every caller: mentors and viewers count visible
            // events only, scoped tokens their programme's events only, and
            // a `min_position` beyond their head waits for the timeout (a
            // 503 that says nothing of personal data).
            prop::option::of(0..=reached),
        ),
        (
            position.clone(),
            prop::option::of(1u64..=1000),
            prop::option::of(select(Event::TYPES.to_vec())),
            prop::option::of(time.clone()),
            prop::option::of(time),
        ),
        (
            prop::option::of(any::<usize>()),
            position,
            any::<usize>(),
            any::<usize>(),
            any::<usize>(),
        ),
    )
        .prop_map(
            |(
                (programme, as_of, position, min_position),
                (after, limit, event_type, from, to),
                (milestone, last_event_id, stakeholder, subject, body),
            )| Values {
                programme,
                as_of,
                position,
                min_position,
                after,
                limit,
                event_type,
                from,
                to,
                milestone,
                last_event_id,
                stakeholder,
                subject,
                body,
            },
        )
}

/// An RFC 3339 time with an offset (its `+` must be escaped in a query).
fn date_time_offset() -> impl Strategy<Value = String> {
    (2020i32..=2022, 1u32..=12, 1u32..=28, -2i32..=2).prop_map(|(y, m, d, o)| {
        let sign = if o < 0 { '-' } else { '+' };
        format!("{y}-{m:02}-{d:02}T08:00:00{sign}{:02}:00", o.abs())
    })
}

/// Records what the exhaustive pass needs on top of the demo and collects
/// the ids and secrets.
async fn prepare(app: &TestApp) -> (Demo, Secrets) {
    let t = &app.tokens;
    let mut erasable = vec![
        "contact:sjdlr/nobody-here".to_owned(),
        "participant:brussels/nobody-here".to_owned(),
    ];
    for programme in ["sjdlr", "brussels"] {
        for i in 0..2 {
            let slug = format!("pv-erase-{i}");
            app.post_events(&t.coordinator, &probe_stakeholder(programme, &slug))
                .await
                .ok_json(201);
            erasable.push(format!("contact:{programme}/{slug}"));
        }
    }
    for (programme, code) in PROBE_CODES {
        let sessions = app
            .sessions(&t.admin, &format!("programme={programme}"))
            .await
            .ok_json(200);
        let session = sessions["sessions"][0]["id"].as_str().expect("a session");
        app.post_events(
            &t.coordinator,
            &json!({
                "id": new_id(), "type": "ParticipantAttended", "programme": programme,
                "occurred_at": "2022-05-03",
                "data": {"session": session, "participant": code},
            }),
        )
        .await
        .ok_json(201);
        erasable.push(format!("participant:{programme}/{code}"));
    }
    // One erasure before the run, so that erased fields and an erasure
    // event are read too.
    app.erase(
        &t.admin,
        &json!({"subject": "contact:sjdlr/pv-erase-1", "reason": "Before the probe"}),
    )
    .await
    .ok_json(201);

    let mut plain = demo_plaintexts();
    plain.extend([PROBE_PERSON, PROBE_EMAIL, PROBE_PHONE].map(str::to_owned));
    plain.extend(PROBE_CODES.map(|(_, c)| c.to_owned()));
    let mut subjects = Vec::new();
    for line in passerelle::demo::DEMO_JSONL
        .lines()
        .filter(|l| !l.trim().is_empty())
    {
        let e: Value = serde_json::from_str(line).expect("a demo line");
        let p = e["programme"].as_str().unwrap_or_default();
        if let Some(code) = e["data"]["participant"].as_str() {
            subjects.push(format!("participant:{p}/{code}"));
        }
        if e["data"]["contact"].is_object() {
            subjects.push(format!(
                "contact:{p}/{}",
                e["data"]["stakeholder"].as_str().unwrap()
            ));
        }
    }
    subjects.sort();
    subjects.dedup();
    subjects.extend(erasable.iter().cloned());
    let mut stakeholders = Vec::new();
    let mut milestones = Vec::new();
    let mut findings = Vec::new();
    for programme in ["sjdlr", "brussels"] {
        let q = format!("programme={programme}");
        let list = app.stakeholders(&t.admin, &q).await.ok_json(200);
        for s in list["stakeholders"].as_array().unwrap() {
            stakeholders.push((programme.to_owned(), s["id"].as_str().unwrap().to_owned()));
        }
        let list = app.milestones(&t.admin, &q).await.ok_json(200);
        for m in list["milestones"].as_array().unwrap() {
            milestones.push(m["id"].as_str().unwrap().to_owned());
        }
        let report = app.gaps(&t.admin, &q).await.ok_json(200);
        for f in report["findings"].as_array().unwrap() {
            findings.push((programme.to_owned(), f["id"].as_str().unwrap().to_owned()));
        }
    }
    stakeholders.push(("sjdlr".into(), "nobody-here".into()));
    let mut revocable: Vec<String> = (0..16)
        .map(|i| {
            let scope = (i % 2 == 0).then_some("brussels");
            let name = format!("spare {i}");
            app.app
                .tokens()
                .create(&name, Role::Viewer, scope)
                .expect("a spare token")
                .0
                .id
        })
        .collect();
    revocable.push("tok_000000000000".into());
    let (sealed, keys) = stored_secrets(&app.db, &plain).await;
    assert!(
        sealed.len() >= plain.len() && keys.len() >= 70,
        "the store holds {} sealed values under {} keys for {} personal values",
        sealed.len(),
        keys.len(),
        plain.len()
    );
    (
        Demo {
            stakeholders,
            subjects,
            milestones,
            findings,
            erasable,
            revocable,
        },
        Secrets {
            plain,
            sealed,
            keys,
        },
    )
}

/// Every role, and scoped tokens of each kind.
fn callers(app: &TestApp) -> Vec<Caller> {
    let t = &app.tokens;
    let mut out: Vec<Caller> = [
        (&t.admin, false),
        (&t.coordinator, false),
        (&t.mentor, true),
        (&t.viewer, true),
        (&t.brussels, false),
        (&t.brussels_admin, false),
    ]
    .into_iter()
    .map(|(token, restricted)| Caller {
        name: token.name.clone(),
        secret: token.secret.clone(),
        restricted,
    })
    .collect();
    for (name, role, programme) in [
        ("sue sjdlr viewer", Role::Viewer, "sjdlr"),
        ("bert brussels mentor", Role::Mentor, "brussels"),
    ] {
        let (_, secret) = app
            .app
            .tokens()
            .create(name, role, Some(programme))
            .expect("a scoped token");
        out.push(Caller {
            name: name.into(),
            secret,
            restricted: true,
        });
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_route_gives_mentors_or_viewers_personal_data_or_anyone_a_ciphertext() {
    let app = Arc::new(TestApp::spawn().await);
    let (demo, secrets) = prepare(&app).await;
    let doc = app.openapi().await.ok_json(200);
    let ops = operations(&doc);
    assert_eq!(ops.len(), crate::openapi::routes().len());
    let callers = callers(&app);
    let head = app.head().await;

    // Every operation × caller × programme, with values that read the
    // latest state (and a diff and a stakeholder with its contact).
    let mut opened = 0;
    let mut answered: BTreeMap<String, BTreeSet<u16>> = BTreeMap::new();
    let mut bodies = 0..;
    for op in &ops {
        let takes = |name: &str| op.params.iter().any(|(_, n)| n == name);
        let mut reads: Vec<(Option<&'static str>, Option<&'static str>)> = vec![(None, None)];
        if takes("programme") {
            reads.extend([(Some("sjdlr"), None), (Some("brussels"), None)]);
        }
        if takes("as_of") {
            // Earlier states, where small counts are more common.
            for programme in ["sjdlr", "brussels"] {
                for date in ["2021-03-31", "2021-06-10", "2021-12-31"] {
                    reads.push((Some(programme), Some(date)));
                }
            }
        }
        for caller in &callers {
            for (programme, as_of) in &reads {
                let holder = programme.unwrap_or("sjdlr");
                let stakeholder = demo
                    .stakeholders
                    .iter()
                    .position(|(p, s)| p == holder && (s == "sj-ccas" || s == "br-bapa"))
                    .expect("a stakeholder with a contact");
                let v = Values {
                    programme: *programme,
                    as_of: as_of.map(str::to_owned),
                    position: None,
                    min_position: None,
                    after: None,
                    limit: Some(1000),
                    event_type: None,
                    from: Some("2021-01-01".into()),
                    to: Some("2022-07-01".into()),
                    milestone: None,
                    last_event_id: None,
                    stakeholder,
                    subject: 0,
                    body: bodies.next().expect("a count"),
                };
                match probe(&app, op, caller, &v, &demo, &secrets).await {
                    Ok(o) => {
                        opened += usize::from(o.opened);
                        answered
                            .entry(format!("{} {}", op.method, op.template))
                            .or_default()
                            .insert(o.status.as_u16());
                    }
                    Err(e) => panic!("{e}"),
                }
            }
        }
    }
    assert!(
        opened > 0,
        "no admin or coordinator answer held a personal value: the search finds nothing"
    );
    // Every operation answered at least once with success: none was
    // covered only by its refusals.
    for (op, statuses) in &answered {
        assert!(
            statuses.iter().any(|s| (200..300).contains(s)),
            "{op} never succeeded: {statuses:?}"
        );
    }

    // Then random values, on random operations and callers. The smallest
    // head a caller is told: a scoped mentor's, in visible events of its
    // programme.
    let reached = app.app.projected_for(Units {
        audience: Audience::Restricted,
        programme: Some("brussels"),
    });
    assert!(reached > 0 && reached < DEMO_VISIBLE.min(head));
    let handle = tokio::runtime::Handle::current();
    let shared = Arc::new((demo, secrets, ops, callers));
    let run = {
        let (app, shared) = (app.clone(), shared.clone());
        tokio::task::spawn_blocking(move || {
            let (_, _, ops, callers) = &*shared;
            let mut runner = TestRunner::new(Config {
                cases: CASES,
                failure_persistence: None,
                ..Config::default()
            });
            let strategy = (0..ops.len(), 0..callers.len(), values(head, reached));
            runner
                .run(&strategy, |(op, caller, v)| {
                    let (demo, secrets, ops, callers) = &*shared;
                    handle
                        .block_on(probe(&app, &ops[op], &callers[caller], &v, demo, secrets))
                        .map(|_| ())
                        .map_err(TestCaseError::fail)
                })
                .map_err(|e| e.to_string())
        })
    };
    if let Err(e) = within_long(run).await.expect("the property run") {
        panic!("{e}");
    }
}

/// Awaits the property run, which makes a few hundred requests.
async fn within_long<F: std::future::Future>(f: F) -> F::Output {
    tokio::time::timeout(std::time::Duration::from_secs(600), f)
        .await
        .expect("the property run ended within 10 minutes")
}
