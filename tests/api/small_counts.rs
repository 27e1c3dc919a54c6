//! The adversarial viewer (PRODUCT.md §7): counts of 1 to 4 beneficiaries
//! are never shown to a mentor or a viewer, through any route or any
//! combination of reads.
//!
//! The main test is one of *indistinguishability*. It serves two logs: the
//! demo, and its twin, in which every figure a mentor or viewer must not
//! learn is different — the small counts of every session that is not
//! public (any count from 1 to 4) moved to other small values, and the
//! attendance of every session changed (attendance events added or dropped;
//! participant codes are opaque) — while everything they may see is the
//! same. It then reads from both servers, as a viewer and as a mentor, every
//! GET route of the OpenAPI document with every kind of parameter (each
//! programme; as of the day before, of and after every hidden session, every
//! month end and the latest state; as of every visible log position;
//! `min_position`; diffs around every milestone and every hidden session),
//! and asserts that every answer — status, body and `ETag` — is the same,
//! byte for byte. The raw log (`/events`, `/events/stream`) answers 403.
//!
//! Why identity is enough: whatever a reader works out, it works out from
//! the answers it gets, and a computation over identical answers gives
//! identical results. The two logs differ in every hidden figure, so no
//! computation over these answers — one answer, the difference of two
//! (between as-of times, positions, a month and its sessions), a share that
//! crosses a threshold between two dates, the number of log positions
//! between two reads — can give the hidden figure of both logs: none gives
//! it. The twin moves every hidden count of 1 to 4 and every hidden zero
//! it can (see [`moved`]); what it keeps — the public sessions, a total of 5
//! or more — is what these roles are shown.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{Datelike, Duration as Days, NaiveDate};
use futures::StreamExt;
use passerelle_projections::layout::LayoutConfig;
use passerelle_projections::views::Settings;
use serde_json::{json, Value};

use crate::helpers::*;

/// The counts of a `CoCreationSessionHeld`, in this order.
const COUNTS: [&str; 6] = [
    "total",
    "women",
    "men",
    "undisclosed",
    "first_time",
    "returning",
];

type Counts = [u32; 6];

fn counts(beneficiaries: &Value) -> Counts {
    COUNTS.map(|k| beneficiaries[k].as_u64().unwrap_or(0) as u32)
}

/// Whether a session with these counts is public: every count 0 or ≥ 5.
fn is_public(c: &Counts) -> bool {
    c.iter().all(|&n| n == 0 || n >= 5)
}

/// The counts of a session that is not public, as the twin has them. Every
/// count from 1 to 4 moves to another value from 1 to 4, and a part that is
/// 0 (hidden as well in such a session) to a value from 1 to 4 where it
/// can, keeping the validation rules (`women + men + undisclosed <= total`,
/// `first_time + returning <= total`) and the total when it is shown (5 or
/// more). So that the small counts can move where the parts add up to the
/// total, a part of 5 or more (hidden too) may move by up to 3, staying at
/// 5 or more. Of the candidates: the one that moves the most small counts,
/// then the most zeros, then the fewest large counts.
fn moved(c: Counts) -> Counts {
    let choices: Vec<Vec<u32>> = (0..6)
        .map(|i| match c[i] {
            n if i == 0 && n >= 5 => vec![n],
            0 => (0..=4).collect(),
            1..=4 => (1..=4).collect(),
            n => (n.saturating_sub(3).max(5)..=n + 3).collect(),
        })
        .collect();
    let score = |x: &Counts| {
        let moved = |keep: fn(u32) -> bool| (0..6).filter(|&k| keep(c[k]) && x[k] != c[k]).count();
        (
            moved(|n| (1..=4).contains(&n)),
            moved(|n| n == 0),
            -(moved(|n| n >= 5) as i64),
        )
    };
    let mut best = (c, score(&c));
    // Every combination of the choices, as digits of a mixed-radix number.
    let combinations: usize = choices.iter().map(Vec::len).product();
    for mut k in 0..combinations {
        let mut x = c;
        for (i, options) in choices.iter().enumerate() {
            x[i] = options[k % options.len()];
            k /= options.len();
        }
        let valid = x[1] + x[2] + x[3] <= x[0] && x[4] + x[5] <= x[0];
        if valid && score(&x) > best.1 {
            best = (x, score(&x));
        }
    }
    best.0
}

/// A session of the demo and what the twin changes of it.
#[derive(Debug, Clone)]
struct Session {
    id: String,
    programme: String,
    date: NaiveDate,
    public: bool,
    counts: Counts,
    twin_counts: Counts,
    attended: usize,
    twin_attended: usize,
}

/// The twin of `demo` (one wire event a line) and the sessions.
fn twin(demo: &str) -> (String, Vec<Session>) {
    let lines: Vec<Value> = demo
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).expect("a wire event"))
        .collect();
    assert!(
        lines.iter().all(|e| e["id"].is_string()),
        "the demo's events carry ids, so both logs share them"
    );
    let mut sessions: Vec<Session> = Vec::new();
    // Per session: the index of its last line (the session or an attendance).
    let mut last_line: BTreeMap<String, usize> = BTreeMap::new();
    // Per programme, the first participant code seen (to reuse elsewhere).
    let mut some_code: BTreeMap<String, String> = BTreeMap::new();
    for (i, e) in lines.iter().enumerate() {
        let programme = e["programme"].as_str().unwrap().to_owned();
        match e["type"].as_str().unwrap() {
            "CoCreationSessionHeld" => {
                let c = counts(&e["data"]["beneficiaries"]);
                let public = is_public(&c);
                sessions.push(Session {
                    id: e["data"]["session"].as_str().unwrap().to_owned(),
                    programme,
                    date: NaiveDate::parse_from_str(
                        &e["occurred_at"].as_str().unwrap()[..10],
                        "%Y-%m-%d",
                    )
                    .unwrap(),
                    public,
                    counts: c,
                    twin_counts: if public { c } else { moved(c) },
                    attended: 0,
                    twin_attended: 0,
                });
                last_line.insert(sessions.last().unwrap().id.clone(), i);
            }
            "ParticipantAttended" => {
                let s = e["data"]["session"].as_str().unwrap();
                sessions.iter_mut().find(|x| x.id == s).unwrap().attended += 1;
                last_line.insert(s.to_owned(), i);
                some_code
                    .entry(programme)
                    .or_insert_with(|| e["data"]["participant"].as_str().unwrap().to_owned());
            }
            _ => {}
        }
    }
    // Every session's attendance changes (attendance is never shown to a
    // mentor or viewer): one more (a code seen elsewhere, so repeat
    // attendance changes too), one fewer, or two more where there is none.
    // An added attendance is dated 200 days after its session, later than
    // anything else in the log: recorded late, it must not move the date
    // the network is measured at either.
    let mut drop: BTreeSet<usize> = BTreeSet::new();
    let mut added: BTreeMap<usize, Vec<Value>> = BTreeMap::new();
    for (k, s) in sessions.iter_mut().enumerate() {
        let last = last_line[&s.id];
        let attendance = |n: usize, code: String| {
            json!({
                "id": uuid::Uuid::new_v5(&uuid::Uuid::NAMESPACE_URL, format!("twin/{}/{n}", s.id).as_bytes()).to_string(),
                "type": "ParticipantAttended", "programme": s.programme,
                "occurred_at": (s.date + Days::days(200)).to_string(),
                "data": {"session": s.id, "participant": code},
            })
        };
        let new = match (k % 2, s.attended) {
            (1, n) if n > 0 => {
                drop.insert(last);
                Vec::new()
            }
            (0, _) => vec![attendance(
                0,
                some_code
                    .get(&s.programme)
                    .cloned()
                    .unwrap_or_else(|| format!("twin-{k}")),
            )],
            _ => vec![
                attendance(0, format!("twin-{k}-a")),
                attendance(1, format!("twin-{k}-b")),
            ],
        };
        s.twin_attended = s.attended + new.len() - usize::from(drop.contains(&last));
        added.insert(last, new);
    }
    let mut out = String::new();
    for (i, e) in lines.iter().enumerate() {
        if !drop.contains(&i) {
            let mut e = e.clone();
            if e["type"] == "CoCreationSessionHeld" {
                let s = sessions
                    .iter()
                    .find(|s| s.id == e["data"]["session"].as_str().unwrap())
                    .unwrap();
                for (k, n) in COUNTS.iter().zip(s.twin_counts) {
                    e["data"]["beneficiaries"][*k] = json!(n);
                }
            }
            out.push_str(&e.to_string());
            out.push('\n');
        }
        for a in added.get(&i).into_iter().flatten() {
            out.push_str(&a.to_string());
            out.push('\n');
        }
    }
    (out, sessions)
}

/// One read: path and query.
type Read = (String, String);

fn read(path: &str, query: impl Into<String>) -> Read {
    (path.to_owned(), query.into())
}

/// The last day of each month from `first` to `last`, as its last second.
fn month_ends(first: NaiveDate, last: NaiveDate) -> Vec<String> {
    let mut out = Vec::new();
    let mut d = first.with_day(1).unwrap();
    while d <= last {
        let next = if d.month() == 12 {
            NaiveDate::from_ymd_opt(d.year() + 1, 1, 1)
        } else {
            NaiveDate::from_ymd_opt(d.year(), d.month() + 1, 1)
        }
        .unwrap();
        out.push(format!("{}T23:59:59Z", next - Days::days(1)));
        d = next;
    }
    out
}

/// What the demo holds that the reads are made of, as a viewer lists it.
struct Catalogue {
    /// Per programme: stakeholder ids and milestone ids.
    stakeholders: BTreeMap<String, Vec<String>>,
    milestones: BTreeMap<String, Vec<String>>,
    /// Per session: its stakeholders, facilitators and groups.
    attendees: BTreeMap<String, Vec<String>>,
}

async fn catalogue(app: &TestApp, token: &Token) -> Catalogue {
    let mut c = Catalogue {
        stakeholders: BTreeMap::new(),
        milestones: BTreeMap::new(),
        attendees: BTreeMap::new(),
    };
    for p in ["sjdlr", "brussels"] {
        let q = format!("programme={p}");
        let ids = |body: Value, list: &str| -> Vec<String> {
            body[list]
                .as_array()
                .unwrap()
                .iter()
                .map(|x| x["id"].as_str().unwrap().to_owned())
                .collect()
        };
        c.stakeholders.insert(
            p.to_owned(),
            ids(
                app.stakeholders(token, &q).await.ok_json(200),
                "stakeholders",
            ),
        );
        c.milestones.insert(
            p.to_owned(),
            ids(app.milestones(token, &q).await.ok_json(200), "milestones"),
        );
        for s in app.sessions(token, &q).await.ok_json(200)["sessions"]
            .as_array()
            .unwrap()
        {
            let who: Vec<String> = ["stakeholders", "facilitators", "groups"]
                .iter()
                .flat_map(|k| s[*k].as_array().unwrap().iter())
                .map(|x| x.as_str().unwrap().to_owned())
                .collect();
            c.attendees
                .insert(s["id"].as_str().unwrap().to_owned(), who);
        }
    }
    c
}

/// Every read the adversary makes, of both programmes.
fn reads(sessions: &[Session], c: &Catalogue) -> Vec<Read> {
    let hidden: Vec<&Session> = sessions.iter().filter(|s| !s.public).collect();
    let first = sessions.iter().map(|s| s.date).min().unwrap() - Days::days(60);
    let last = sessions.iter().map(|s| s.date).max().unwrap() + Days::days(120);
    let mut out = vec![
        read("/api/v1/programmes", ""),
        read("/api/v1/me", ""),
        read("/api/v1/healthz", ""),
        read("/api/v1/openapi.json", ""),
        read("/api/v1/metrics", ""),
    ];
    // Every visible position, and past the head.
    for n in 0..=DEMO_VISIBLE + 2 {
        out.push(read("/api/v1/programmes", format!("min_position={n}")));
    }
    for p in ["sjdlr", "brussels"] {
        let hidden: Vec<&&Session> = hidden.iter().filter(|s| s.programme == p).collect();
        let mut times: BTreeSet<String> = month_ends(first, last).into_iter().collect();
        for s in &hidden {
            for d in [s.date - Days::days(1), s.date, s.date + Days::days(1)] {
                times.insert(d.to_string());
            }
        }
        let mut as_of: Vec<String> = vec![String::new()];
        as_of.extend(times.iter().map(|t| format!("&as_of={t}")));
        for route in [
            "stakeholders",
            "partnerships",
            "sessions",
            "needs",
            "milestones",
            "notes",
            "network",
            "gaps",
            "participation",
        ] {
            for a in &as_of {
                out.push(read(
                    &format!("/api/v1/{route}"),
                    format!("programme={p}{a}"),
                ));
            }
        }
        for id in &c.stakeholders[p] {
            out.push(read(
                &format!("/api/v1/stakeholders/{id}"),
                format!("programme={p}"),
            ));
        }
        for s in &hidden {
            for id in &c.attendees[&s.id] {
                for d in [s.date - Days::days(1), s.date, s.date + Days::days(1)] {
                    out.push(read(
                        &format!("/api/v1/stakeholders/{id}"),
                        format!("programme={p}&as_of={d}"),
                    ));
                }
            }
        }
        // As of every visible position, and past the head.
        for n in 0..=DEMO_VISIBLE + 2 {
            for route in ["sessions", "participation", "gaps"] {
                out.push(read(
                    &format!("/api/v1/{route}"),
                    format!("programme={p}&position={n}"),
                ));
            }
            if n % 20 == 0 {
                for route in ["network", "stakeholders", "notes"] {
                    out.push(read(
                        &format!("/api/v1/{route}"),
                        format!("programme={p}&position={n}"),
                    ));
                }
            }
        }
        for m in &c.milestones[p] {
            out.push(read("/api/v1/diff", format!("programme={p}&milestone={m}")));
        }
        for s in &hidden {
            let (before, after) = (s.date - Days::days(1), s.date + Days::days(1));
            for (from, to) in [
                (before.to_string(), after.to_string()),
                (before.to_string(), s.date.to_string()),
                (s.date.to_string(), after.to_string()),
                (before.to_string(), last.to_string()),
                (first.to_string(), after.to_string()),
            ] {
                out.push(read(
                    "/api/v1/diff",
                    format!("programme={p}&from={from}&to={to}"),
                ));
            }
        }
    }
    out
}

/// Where two bodies first differ, for the failure message.
fn first_difference(a: &[u8], b: &[u8]) -> String {
    let i = a.iter().zip(b).take_while(|(x, y)| x == y).count();
    let around = |s: &[u8]| {
        String::from_utf8_lossy(&s[i.saturating_sub(80)..(i + 80).min(s.len())]).into_owned()
    };
    format!(
        "at byte {i}:\n  demo: …{}…\n  twin: …{}…",
        around(a),
        around(b)
    )
}

/// Reads `reads` from both servers as `token` of each, and asserts that
/// every answer is the same: status, content type, `ETag` and body. With
/// `check`, the demo server's answers are checked against the OpenAPI
/// document.
async fn assert_indistinguishable(
    demo: &TestApp,
    twin: &TestApp,
    token: impl Fn(&TestApp) -> &Token,
    reads: &[Read],
    check: bool,
) -> usize {
    let compared = futures::stream::iter(reads.iter())
        .map(|(path, query)| {
            let (a, b) = (token(demo), token(twin));
            async move {
                let auth_a = if path == "/api/v1/healthz" || path == "/api/v1/openapi.json" {
                    Auth::None
                } else {
                    Auth::from(a)
                };
                let auth_b = match auth_a {
                    Auth::None => Auth::None,
                    _ => Auth::from(b),
                };
                let (x, y) = tokio::join!(
                    demo.get_unchecked(path, auth_a, query),
                    twin.get_unchecked(path, auth_b, query)
                );
                if check {
                    conforms(&reqwest::Method::GET, &template_of(path), &x);
                }
                assert_eq!(
                    x.status,
                    y.status,
                    "{path}?{query}: {} vs {}",
                    x.text(),
                    y.text()
                );
                assert_eq!(x.content_type(), y.content_type(), "{path}?{query}");
                assert_eq!(x.header("etag"), y.header("etag"), "{path}?{query}");
                assert!(
                    x.body == y.body,
                    "{path}?{query} tells the demo from its twin {}",
                    first_difference(&x.body, &y.body)
                );
                x.status.as_u16()
            }
        })
        .buffer_unordered(8)
        .collect::<Vec<u16>>()
        .await;
    assert!(
        compared.iter().filter(|s| **s == 200).count() > reads.len() * 9 / 10,
        "most reads answer 200"
    );
    compared.len()
}

#[tokio::test]
async fn a_viewer_or_a_mentor_cannot_tell_the_demo_from_a_twin_with_other_small_counts() {
    let (twin_log, sessions) = twin(passerelle::demo::DEMO_JSONL);
    // The twin hides other figures behind the same public ones.
    let hidden: Vec<&Session> = sessions.iter().filter(|s| !s.public).collect();
    assert!(hidden.len() >= 8, "{hidden:?}");
    for s in &sessions {
        assert_ne!(s.attended, s.twin_attended, "{}", s.id);
        assert_eq!(is_public(&s.twin_counts), s.public, "{}", s.id);
        let (a, b) = (s.counts, s.twin_counts);
        if a[0] >= 5 {
            assert_eq!(a[0], b[0], "{}: a total shown stays", s.id);
        }
        for ((name, x), y) in COUNTS.iter().zip(a).zip(b) {
            let same_kind = (x >= 5) == (y >= 5) && (x == 0 || y > 0);
            assert!(same_kind, "{} {name}: {x} → {y}", s.id);
        }
    }
    // Every count from 1 to 4 moved, and most hidden zeros.
    let mut zeros = (0, 0);
    for s in &hidden {
        for ((name, x), y) in COUNTS.iter().zip(s.counts).zip(s.twin_counts) {
            if (1..=4).contains(&x) {
                assert_ne!(x, y, "{} {name}", s.id);
            }
            if x == 0 {
                zeros.0 += 1;
                zeros.1 += usize::from(y != 0);
            }
        }
    }
    assert!(
        zeros.1 * 2 > zeros.0,
        "{} of {} zeros moved",
        zeros.1,
        zeros.0
    );

    // Quick layouts: where a node is drawn depends on the network only, and
    // the network on no count; the iteration count does not change that.
    let settings = || Settings {
        layout: LayoutConfig {
            iterations: 25,
            ..LayoutConfig::default()
        },
        ..Settings::default()
    };
    let (demo, twin) = tokio::join!(
        TestApp::spawn_from(passerelle::demo::DEMO_JSONL, settings()),
        TestApp::spawn_from(&twin_log, settings())
    );
    // A coordinator sees the difference...
    for p in ["sjdlr", "brussels"] {
        let q = format!("programme={p}");
        let (a, b) = tokio::join!(
            demo.participation(&demo.tokens.coordinator, &q),
            twin.participation(&twin.tokens.coordinator, &q)
        );
        assert_ne!(a.ok_json(200), b.ok_json(200), "{p}");
    }
    let catalogue = catalogue(&demo, &demo.tokens.viewer).await;
    let reads = reads(&sessions, &catalogue);

    // ...a viewer and a mentor see none, however they combine their reads.
    let t0 = std::time::Instant::now();
    let n = assert_indistinguishable(&demo, &twin, |a| &a.tokens.viewer, &reads, true).await;
    eprintln!("viewer {n} reads {:?}", t0.elapsed());
    assert!(n > 2000, "{n} reads");
    let t0 = std::time::Instant::now();
    // The mentor reads the same renderings: their answers were checked
    // against the document as the viewer's.
    assert_indistinguishable(&demo, &twin, |a| &a.tokens.mentor, &reads, false).await;
    eprintln!("mentor {:?}", t0.elapsed());

    // The raw log, where every attendance is an event, is not theirs.
    for app in [&demo, &twin] {
        for token in [&app.tokens.viewer, &app.tokens.mentor] {
            app.events(token, "").await.problem(403);
            let stream = app.stream(token, None, None).await;
            assert_eq!(stream.status.as_u16(), 403, "{}", token.name);
        }
    }

    // Waiting for a position: the head in visible units answers at once,
    // one more is refused at once, naming the head in those units.
    let beyond = format!("programme=sjdlr&min_position={}", DEMO_VISIBLE + 1);
    let (a, b) = tokio::join!(
        demo.sessions(&demo.tokens.viewer, &beyond),
        twin.sessions(&twin.tokens.viewer, &beyond)
    );
    assert_eq!(a.problem(409), b.problem(409));

    // Live: a mentor's note is told the same position by both servers...
    let note = json!({
        "type": "ReviewNoteAdded", "programme": "sjdlr",
        "occurred_at": "2022-07-01",
        "data": {"note": "twin-note", "about": {"stakeholder": "sj-ccas"}, "text": "Seen."},
    });
    let (a, b) = tokio::join!(
        demo.post_events(&demo.tokens.mentor, &note),
        twin.post_events(&twin.tokens.mentor, &note)
    );
    let (mut a, mut b) = (a.ok_json(201), b.ok_json(201));
    assert_eq!(a["position"], json!(DEMO_VISIBLE + 1));
    for v in [&mut a, &mut b] {
        v["recorded_at"] = Value::Null;
        v["id"] = Value::Null;
    }
    assert_eq!(a, b);
    // ...and an attendance appended to one log only changes nothing they see.
    let attendance = json!({
        "id": new_id(), "type": "ParticipantAttended", "programme": "sjdlr",
        "occurred_at": "2022-07-02",
        "data": {"session": "ses-young-digital-desk", "participant": "late-comer"},
    });
    let stored = demo
        .post_events(&demo.tokens.coordinator, &attendance)
        .await
        .ok_json(201);
    assert!(
        demo.app
            .wait_for(stored["position"].as_u64().unwrap())
            .await
    );
    let seen = format!("min_position={}", DEMO_VISIBLE + 1);
    let mut after: Vec<Read> = vec![read("/api/v1/programmes", seen.clone())];
    for p in ["sjdlr", "brussels"] {
        for route in [
            "stakeholders",
            "sessions",
            "notes",
            "network",
            "gaps",
            "participation",
        ] {
            after.push(read(
                &format!("/api/v1/{route}"),
                format!("programme={p}&{seen}"),
            ));
        }
        after.push(read(
            "/api/v1/diff",
            format!("programme={p}&from=2021-01-01&to=2022-07-31&{seen}"),
        ));
    }
    for token in [
        (|a: &TestApp| &a.tokens.viewer) as fn(&TestApp) -> &Token,
        |a: &TestApp| &a.tokens.mentor,
    ] {
        assert_indistinguishable(&demo, &twin, token, &after, true).await;
    }
}

#[tokio::test]
async fn no_month_minus_its_visible_sessions_gives_back_a_hidden_figure() {
    let app = TestApp::spawn().await;
    for p in ["sjdlr", "brussels"] {
        let q = format!("programme={p}");
        let truth = app
            .participation(&app.tokens.coordinator, &q)
            .await
            .ok_json(200);
        for token in [&app.tokens.viewer, &app.tokens.mentor] {
            let seen = app.participation(token, &q).await.ok_json(200);
            for month in seen["months"].as_array().unwrap() {
                let m = month["month"].as_str().unwrap();
                let rows = |body: &Value| -> Vec<Value> {
                    body["sessions"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .filter(|s| s["occurred_at"].as_str().unwrap().starts_with(m))
                        .cloned()
                        .collect()
                };
                let (visible, true_rows) = (rows(&seen), rows(&truth));
                let suppressed = visible.iter().filter(|s| s["women"].is_null()).count();
                assert_eq!(month["withheld"], json!(suppressed), "{p} {m}");
                assert_eq!(month["sessions"], json!(visible.len()), "{p} {m}");
                for field in ["total", "women", "first_time", "returning"] {
                    // The classic attack: the month's figure minus the
                    // figures of the sessions shown.
                    let shown: u64 = visible
                        .iter()
                        .filter(|s| !s["women"].is_null())
                        .map(|s| s[field].as_u64().unwrap())
                        .sum();
                    let left = month[field].as_u64().unwrap() as i64 - shown as i64;
                    assert_eq!(left, 0, "{p} {m} {field}: {month}");
                    for (s, t) in visible.iter().zip(&true_rows) {
                        let hidden = t[field].as_i64().unwrap();
                        if s["women"].is_null() && (1..5).contains(&hidden) {
                            assert_ne!(left, hidden, "{p} {m}: {} {field}", t["session"]);
                        }
                    }
                }
            }
            // Every hidden session has a small count the month would give.
            assert!(
                seen["sessions"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|s| s["women"].is_null()),
                "{p}: the demo hides some session"
            );
        }
    }
}

#[tokio::test]
async fn health_and_metrics_tell_no_position_to_those_who_see_less_than_the_log() {
    let app = TestApp::spawn_empty().await;
    // Anyone may ask whether the server is up; the answer says nothing of
    // the log (a position would move with every attendance).
    assert_eq!(app.healthz().await.ok_json(200), json!({"status": "ok"}));
    // The metrics count every event of every programme: for admins and
    // coordinators of every programme only.
    for token in [&app.tokens.admin, &app.tokens.coordinator] {
        let reply = app.metrics(token).await;
        reply.expect(200);
        assert!(
            reply.text().contains("passerelle_log_position 1"),
            "{}",
            reply.text()
        );
    }
    for token in [&app.tokens.mentor, &app.tokens.viewer, &app.tokens.brussels] {
        let p = app.metrics(token).await.problem(403);
        let detail = p["detail"].as_str().unwrap();
        assert!(
            detail.contains("admins and coordinators of every programme"),
            "{}: {detail}",
            token.name
        );
    }
}
