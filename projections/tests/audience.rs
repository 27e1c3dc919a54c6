//! What mentors and viewers ([`Audience::Restricted`]) are shown: only the
//! counts of public sessions and sums of them, no attendance figure, share
//! findings over public sessions, positions that count visible events only —
//! and hidden events (attendance, erasure) change nothing of it.

use passerelle_projections::engine::{replay, AsOf, Engine, Units};
use passerelle_projections::gaps::{is_share, FindingKind, GapReport};
use passerelle_projections::model::Programme;
use passerelle_projections::model::{is_hidden, is_hidden_type, Audience, Count, HIDDEN_TYPES};
use passerelle_projections::participation::{participation, participation_for};
use passerelle_projections::views::{view, Settings};
use serde_json::{json, Value};

#[path = "../src/testkit.rs"]
#[allow(dead_code)] // the unit tests' helpers; this file uses `ev` and `stored`
mod testkit;

use testkit::{ev, stored_at};

/// Stores `wire` at positions 1, 2, … with ids made from the positions, so
/// that two logs sharing a prefix share its ids.
fn stored(wire: &[Value]) -> Vec<passerelle_events::StoredEvent> {
    wire.iter()
        .enumerate()
        .map(|(i, w)| {
            let mut w = w.clone();
            w["id"] = json!(uuid::Uuid::from_u128(i as u128 + 1).to_string());
            stored_at(i as u64 + 1, &w)
        })
        .collect()
}

fn engine(wire: &[Value]) -> Engine {
    let mut e = Engine::new();
    for s in stored(wire) {
        e.apply(s);
    }
    e
}

fn define() -> Vec<Value> {
    vec![
        ev(
            "ProgrammeDefined",
            "2021-01-01",
            json!({"programme": "p", "name": "P"}),
        ),
        ev(
            "StakeholderRegistered",
            "2021-01-01",
            json!({"stakeholder": "a", "name": "A", "kind": "association"}),
        ),
        ev(
            "StakeholderRegistered",
            "2021-01-01",
            json!({"stakeholder": "g", "name": "G", "kind": "beneficiary_group"}),
        ),
    ]
}

fn session(id: &str, at: &str, level: &str, counts: Value) -> Value {
    ev(
        "CoCreationSessionHeld",
        at,
        json!({"session": id, "title": id, "level": level, "stakeholders": ["a"],
               "groups": ["g"], "beneficiaries": counts}),
    )
}

fn attended(session: &str, at: &str, code: &str) -> Value {
    ev(
        "ParticipantAttended",
        at,
        json!({"session": session, "participant": code}),
    )
}

fn programme(wire: &[Value]) -> Programme {
    replay(stored(wire).iter()).programmes["p"].clone()
}

#[test]
fn a_session_is_public_when_every_count_is_zero_or_at_least_five() {
    let mut w = define();
    w.push(session("none", "2021-02-01", "inform", json!({"total": 0})));
    w.push(session(
        "big",
        "2021-02-02",
        "consult",
        json!({"total": 12, "women": 7, "men": 5, "first_time": 12}),
    ));
    w.push(session(
        "one-man",
        "2021-02-03",
        "consult",
        json!({"total": 12, "women": 7, "men": 4, "undisclosed": 1, "first_time": 12}),
    ));
    w.push(session(
        "few",
        "2021-02-04",
        "consult",
        json!({"total": 3, "women": 3, "first_time": 3}),
    ));
    w.push(session(
        "returning",
        "2021-02-05",
        "consult",
        json!({"total": 10, "women": 5, "men": 5, "first_time": 6, "returning": 4}),
    ));
    let p = programme(&w);
    let public: Vec<(&str, bool)> = p
        .sessions
        .values()
        .map(|s| (s.id.as_str(), s.is_public()))
        .collect();
    assert_eq!(
        public,
        [
            ("big", true),
            ("few", false),
            ("none", true),
            ("one-man", false),
            ("returning", false),
        ]
    );
}

#[test]
fn a_month_row_sums_only_public_sessions_for_restricted_readers() {
    let mut w = define();
    // March: one public session, one with a single undisclosed person.
    w.push(session(
        "public",
        "2021-03-02",
        "consult",
        json!({"total": 10, "women": 5, "men": 5, "first_time": 10}),
    ));
    w.push(session(
        "small",
        "2021-03-20",
        "collaborate",
        json!({"total": 9, "women": 6, "men": 2, "undisclosed": 1, "first_time": 9}),
    ));
    // April: only a session with small counts.
    w.push(session(
        "alone",
        "2021-04-02",
        "inform",
        json!({"total": 3, "women": 2, "men": 1, "first_time": 3}),
    ));
    for code in ["x1", "x2", "x3"] {
        w.push(attended("small", "2021-03-20", code));
    }
    w.push(attended("public", "2021-03-02", "x1"));
    let p = programme(&w);

    let full = participation(&p);
    assert_eq!(full, participation_for(&p, Audience::Full));
    let march = &full.months[0];
    assert_eq!(
        (march.sessions, march.withheld, march.total, march.women),
        (2, 0, 19, 11)
    );
    assert_eq!(full.participants, Count::Shown(3));
    assert_eq!(full.repeat_participants, Count::Shown(1));

    let r = participation_for(&p, Audience::Restricted);
    let march = &r.months[0];
    assert_eq!(march.month, "2021-03");
    assert_eq!(
        (march.sessions, march.withheld, march.total, march.women),
        (2, 1, 10, 5),
        "only the public session is summed"
    );
    assert_eq!((march.first_time, march.returning), (10, 0));
    assert_eq!(march.women_share, Some(0.5));
    assert_eq!(
        march.highest_level,
        Some(passerelle_events::event::Level::Collaborate),
        "the highest level is over every session"
    );
    let april = &r.months[1];
    assert_eq!(
        (april.sessions, april.withheld, april.total, april.women),
        (1, 1, 0, 0)
    );
    assert_eq!(april.women_share, None);

    // A month's sums are the sums of the public rows shown: nothing more.
    for m in &r.months {
        let rows = r
            .sessions
            .iter()
            .filter(|s| s.public && s.occurred_at.format("%Y-%m").to_string() == m.month);
        let total: u64 = rows
            .clone()
            .map(|s| u64::from(s.total.shown().unwrap()))
            .sum();
        let women: u64 = rows.map(|s| u64::from(s.women.shown().unwrap())).sum();
        assert_eq!((m.total, m.women), (total, women), "{}", m.month);
    }

    let small = r.sessions.iter().find(|s| s.session == "small").unwrap();
    assert!(!small.public);
    assert_eq!(small.total, Count::Shown(9), "a total of at least 5 stays");
    assert_eq!(
        (small.women, small.men, small.undisclosed, small.first_time),
        (Count::Hidden, Count::Hidden, Count::Hidden, Count::Hidden)
    );
    assert_eq!(small.women_share, None);
    let alone = r.sessions.iter().find(|s| s.session == "alone").unwrap();
    assert_eq!(alone.total, Count::Hidden, "a total of 3 is hidden");
    // Attendance figures are never shown, not even for a public session.
    assert!(r
        .sessions
        .iter()
        .all(|s| s.attended == Count::Hidden && s.repeat == Count::Hidden));
    assert_eq!(
        (r.participants, r.repeat_participants),
        (Count::Hidden, Count::Hidden)
    );
    let public = r.sessions.iter().find(|s| s.session == "public").unwrap();
    assert_eq!(
        (public.total, public.women),
        (Count::Shown(10), Count::Shown(5))
    );
}

/// A log with hidden events at `hidden` (1-based) among `n` events.
fn engine_with_hidden(n: u64, hidden: &[u64]) -> Engine {
    let mut wire = define();
    wire.push(session(
        "s",
        "2021-02-01",
        "consult",
        json!({"total": 10, "women": 5, "men": 5}),
    ));
    let base = wire.len() as u64;
    assert!(hidden.iter().all(|&h| h > base && h <= n));
    for position in base + 1..=n {
        let w = if hidden.contains(&position) {
            attended("s", "2021-02-01", &format!("c{position}"))
        } else {
            ev(
                "MilestoneMarked",
                "2021-02-02",
                json!({"milestone": format!("m{position}"), "label": "M", "kind": "other"}),
            )
        };
        wire.push(w);
    }
    engine(&wire)
}

#[test]
fn visible_positions_count_visible_events_and_map_back_to_them() {
    for hidden in [
        vec![],
        vec![5],
        vec![5, 6, 7],
        vec![6, 9, 10, 14],
        vec![12, 13, 14, 15],
        (5..=15).collect::<Vec<u64>>(),
    ] {
        let engine = engine_with_hidden(15, &hidden);
        let visible_count = 15 - hidden.len() as u64;
        assert_eq!(engine.hidden(), hidden.len() as u64);
        // Forwards: each position minus the hidden events at or before it.
        for p in 0..=20 {
            let expected = p - hidden.iter().filter(|&&h| h <= p).count() as u64;
            assert_eq!(engine.visible_position(p), expected, "{hidden:?} at {p}");
        }
        // Backwards: the n-th visible event, which is visible and is the n-th.
        assert_eq!(engine.position_of_visible(0), Some(0));
        for n in 1..=visible_count {
            let p = engine
                .position_of_visible(n)
                .unwrap_or_else(|| panic!("{hidden:?}: no visible event {n}"));
            assert!(!hidden.contains(&p), "{hidden:?}: {n} → hidden {p}");
            assert_eq!(engine.visible_position(p), n, "{hidden:?}: {n} → {p}");
            let is_hidden_there = is_hidden(&engine.event(p as usize - 1).event.event);
            assert!(!is_hidden_there);
        }
        assert_eq!(engine.position_of_visible(visible_count + 1), None);
        assert_eq!(engine.position_of_visible(u64::MAX), None);
    }
}

#[test]
fn a_scoped_reader_counts_its_programme_events_only_and_maps_back_to_them() {
    // Programme p (a session and an attendance) interleaved with q's events.
    let mut wire = define();
    wire.push(session(
        "s",
        "2021-02-01",
        "consult",
        json!({"total": 10, "women": 5, "men": 5}),
    ));
    let mut q = |t: &str, data: Value| {
        let mut e = ev(t, "2021-02-01", data);
        e["programme"] = json!("q");
        wire.push(e);
    };
    q("ProgrammeDefined", json!({"programme": "q", "name": "Q"}));
    q(
        "StakeholderRegistered",
        json!({"stakeholder": "b", "name": "B", "kind": "association"}),
    );
    wire.push(attended("s", "2021-02-01", "c1"));
    let mut e = ev(
        "MilestoneMarked",
        "2021-02-02",
        json!({"milestone": "m", "label": "M", "kind": "other"}),
    );
    e["programme"] = json!("q");
    wire.push(e);
    let engine = engine(&wire);
    // p: 1, 2, 3, 4 (session), 7 (attendance, hidden); q: 5, 6, 8.
    let p_all = [1, 2, 3, 4, 7];
    let p_visible = [1, 2, 3, 4];
    let q_all = [5, 6, 8];
    for (programme, audience, positions) in [
        ("p", Audience::Full, &p_all[..]),
        ("p", Audience::Restricted, &p_visible[..]),
        ("q", Audience::Full, &q_all[..]),
        ("q", Audience::Restricted, &q_all[..]),
    ] {
        let units = Units {
            audience,
            programme: Some(programme),
        };
        for at in 0..=10 {
            let expected = positions.iter().filter(|&&x| x <= at).count() as u64;
            assert_eq!(
                engine.told(at, units),
                expected,
                "{programme} {audience:?} at {at}"
            );
        }
        assert_eq!(engine.position_of_told(0, units), Some(0));
        for (i, &x) in positions.iter().enumerate() {
            assert_eq!(engine.position_of_told(i as u64 + 1, units), Some(x));
        }
        assert_eq!(
            engine.position_of_told(positions.len() as u64 + 1, units),
            None
        );
        assert_eq!(engine.position_of_told(u64::MAX, units), None);
    }
    assert_eq!(engine.told(7, Units::LOG), 7);
    assert_eq!(engine.position_of_told(8, Units::LOG), Some(8));
    assert_eq!(engine.position_of_told(9, Units::LOG), None);
    let unknown = Units {
        audience: Audience::Full,
        programme: Some("nowhere"),
    };
    assert_eq!(
        (engine.told(8, unknown), engine.position_of_told(1, unknown)),
        (0, None)
    );
}

#[test]
fn hidden_types_are_the_attendance_and_the_erasure() {
    let w = attended("s", "2021-02-01", "c1");
    let e = stored_at(1, &w);
    assert!(is_hidden(&e.event.event));
    assert!(is_hidden_type(e.event.event.type_name()));
    for t in HIDDEN_TYPES {
        assert!(
            passerelle_events::Event::TYPES.contains(&t),
            "{t} is an event type"
        );
    }
    for t in passerelle_events::Event::TYPES {
        assert_eq!(
            is_hidden_type(t),
            matches!(*t, "ParticipantAttended" | "PersonalDataErased"),
            "{t}"
        );
    }
}

#[test]
fn an_attendance_moves_neither_the_reference_date_nor_any_restricted_view() {
    let mut w = define();
    w.push(session(
        "s",
        "2021-02-01",
        "consult",
        json!({"total": 9, "women": 4, "men": 5}),
    ));
    w.push(ev(
        "PartnershipFormed",
        "2021-02-02",
        json!({"partnership": "ag", "between": ["a", "g"], "kind": "referral"}),
    ));
    let without = w.clone();
    // An attendance recorded with a later date than anything else.
    w.push(attended("s", "2022-06-30", "late"));
    let (a, b) = (programme(&without), programme(&w));
    assert_eq!(a.latest, b.latest);
    assert_eq!((b.events, b.hidden), (a.events + 1, 1));
    assert_eq!(
        a.events_for(Audience::Restricted),
        b.events_for(Audience::Restricted)
    );

    let (ea, eb) = (engine(&without), engine(&w));
    let settings = Settings::default();
    for as_of in [
        AsOf::Latest,
        AsOf::Time(b.latest.unwrap()),
        AsOf::Position(ea.position()),
    ] {
        let va = view(&ea, "p", as_of, &settings).unwrap();
        let vb = view(&eb, "p", as_of, &settings).unwrap();
        assert_eq!(va.network.as_of, vb.network.as_of, "{as_of:?}");
        assert_eq!(
            restricted_findings(&va.gaps),
            restricted_findings(&vb.gaps),
            "{as_of:?}"
        );
        assert_eq!(
            participation_for(&va.programme, Audience::Restricted),
            participation_for(&vb.programme, Audience::Restricted),
            "{as_of:?}"
        );
    }
}

fn restricted_findings(r: &GapReport) -> Vec<(String, String, Vec<uuid::Uuid>)> {
    r.for_audience(Audience::Restricted)
        .findings
        .iter()
        .map(|f| (f.id.clone(), f.explanation.en.clone(), f.evidence.clone()))
        .collect()
}

fn report(wire: &[Value], as_of: &str) -> GapReport {
    let t = passerelle_events::values::OccurredAt::parse(as_of)
        .unwrap()
        .datetime();
    view(&engine(wire), "p", AsOf::Time(t), &Settings::default())
        .unwrap()
        .gaps
}

#[test]
fn restricted_shares_are_over_public_sessions_and_evidence_lists_no_attendance() {
    let mut w = define();
    // Public: women are 6 of 10. Not public: 1 woman of 9 (and 8 men).
    w.push(session(
        "public",
        "2021-03-01",
        "involve",
        json!({"total": 10, "women": 6, "men": 0, "undisclosed": 0, "first_time": 5, "returning": 5}),
    ));
    w.push(session(
        "small",
        "2021-04-01",
        "involve",
        json!({"total": 9, "women": 1, "men": 8, "first_time": 9}),
    ));
    w.push(session(
        "empty",
        "2021-04-02",
        "inform",
        json!({"total": 0}),
    ));
    for (i, s) in ["public", "small", "small", "empty"].iter().enumerate() {
        w.push(attended(s, "2021-04-03", &format!("c{i}")));
    }
    let r = report(&w, "2021-05-01");
    let women = |r: &GapReport| {
        r.findings
            .iter()
            .find(|f| f.id == "participation/women_share")
            .map(|f| f.explanation.en.clone())
    };
    // Every session: 7 women of 19 is below half.
    let full = women(&r).expect("a low women's share over every session");
    assert!(full.contains("37%"), "{full}");
    // Public sessions only: 6 of 10.
    let restricted = r.for_audience(Audience::Restricted);
    assert_eq!(women(&restricted), None, "{:#?}", restricted.findings);
    assert!(restricted
        .findings
        .iter()
        .all(|f| !is_share(f) || r.public_shares.contains(f)));
    assert_eq!(
        r.findings.iter().filter(|f| !is_share(f)).count(),
        restricted.findings.iter().filter(|f| !is_share(f)).count()
    );
    // Evidence names sessions by their own event, never by an attendance.
    let attendance: Vec<uuid::Uuid> = {
        let model = replay(stored(&w).iter());
        model.programmes["p"]
            .sessions
            .values()
            .flat_map(|s| s.events[1..].to_vec())
            .collect()
    };
    assert_eq!(attendance.len(), 4);
    for f in r.findings.iter().chain(&r.public_shares) {
        assert!(
            f.evidence.iter().all(|e| !attendance.contains(e)),
            "{} lists an attendance",
            f.id
        );
    }
    let empty = r
        .of_kind(FindingKind::Participation)
        .find(|f| f.id == "participation/empty")
        .expect("a session without beneficiaries");
    assert_eq!(empty.evidence.len(), 1);
}

#[test]
fn a_programme_without_events_yet_is_measured_at_a_time_of_the_log_not_the_clock() {
    let mut w = define();
    w.push(
        json!({"type": "ProgrammeDefined", "programme": "q", "occurred_at": "2021-05-01",
                  "data": {"programme": "q", "name": "Q"}}),
    );
    let e = engine(&w);
    let settings = Settings::default();
    let as_of = |programme: &str, position: u64| {
        view(&e, programme, AsOf::Position(position), &settings)
            .unwrap()
            .network
            .as_of
    };
    // Before q's first event: the latest time the log knew then.
    assert_eq!(as_of("q", 3).to_rfc3339(), "2021-01-01T00:00:00+00:00");
    assert_eq!(as_of("q", 4).to_rfc3339(), "2021-05-01T00:00:00+00:00");
    // Before any event: a fixed time, the same on every call.
    assert_eq!(as_of("p", 0), chrono::DateTime::UNIX_EPOCH);
}
