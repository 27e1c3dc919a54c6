//! The layout chain computed in one pass ([`views::layout_chain`]) and kept
//! between calls ([`LayoutCache`]) gives, bit for bit, what replaying a
//! snapshot of the whole log for every month gives — also after appends of
//! every kind: events that do not shape the network, events after the last
//! month end, events recorded late (an earlier occurred time than events
//! already in the log), and an event before the programme's start. A chain
//! asked for a time after the programme's last event stops its month ends
//! there.

use chrono::{DateTime, Utc};
use passerelle_projections::cancel::Cancel;
use passerelle_projections::engine::{AsOf, Engine};
use passerelle_projections::layout::{layout, LayoutConfig};
use passerelle_projections::model::is_hidden;
use passerelle_projections::network::Network;
use passerelle_projections::views::{self, month_ends, LayoutCache, Positions, Settings};
use serde_json::{json, Value};

#[path = "../src/testkit.rs"]
#[allow(dead_code)] // the unit tests' helpers; this file uses `stored_at`
mod testkit;

const DEMO: &str = include_str!("../../events/demo/demo.jsonl");

/// Quick layouts: the property does not depend on the iteration count.
fn settings() -> Settings {
    Settings {
        layout: LayoutConfig {
            iterations: 25,
            ..LayoutConfig::default()
        },
        ..Settings::default()
    }
}

fn append(engine: &mut Engine, wire: Value) {
    let position = engine.position() + 1;
    engine.apply(testkit::stored_at(position, &wire));
}

fn demo() -> Engine {
    let mut engine = Engine::new();
    for line in DEMO.lines().filter(|l| !l.trim().is_empty()) {
        append(&mut engine, serde_json::from_str(line).expect("json"));
    }
    engine
}

/// The chain as it was first written: a snapshot of the whole log as of
/// every month end before `time` and before the programme's last event,
/// then as of `time`, its network, and a layout warm-started from the last.
fn replayed(
    engine: &Engine,
    programme: &str,
    time: DateTime<Utc>,
    s: &Settings,
) -> Vec<(DateTime<Utc>, Positions)> {
    let Some(first) = engine
        .events(0..engine.len())
        .iter()
        .filter(|e| e.event.programme.as_str() == programme && !is_hidden(&e.event.event))
        .map(|e| e.event.occurred_at.datetime())
        .min()
    else {
        return Vec::new();
    };
    let mut times = month_ends(first, time.min(latest(engine, programme)));
    times.push(time);
    let mut out: Vec<(DateTime<Utc>, Positions)> = Vec::new();
    for t in times {
        let snap = engine.snapshot(AsOf::Time(t));
        let Some(p) = snap.model.programmes.get(programme) else {
            continue;
        };
        let network = Network::build(p, t, snap.position(), &s.network);
        let edges: Vec<(usize, usize, f64)> = network
            .present_ties()
            .map(|t| (t.a, t.b, t.strength.max(0.05)))
            .collect();
        let previous = out.last().map(|(_, pos)| pos);
        let pos = layout(&network.nodes, &edges, previous, &s.layout);
        out.push((t, network.nodes.iter().cloned().zip(pos).collect()));
    }
    out
}

/// A chain with positions as bits, keys sorted, for exact comparison.
/// Each layout's time and its (key, x bits, y bits), sorted by key.
type Bits = Vec<(DateTime<Utc>, Vec<(String, u64, u64)>)>;

fn bits(chain: &[(DateTime<Utc>, Positions)]) -> Bits {
    chain
        .iter()
        .map(|(t, p)| {
            let mut v: Vec<(String, u64, u64)> = p
                .iter()
                .map(|(k, &(x, y))| (k.clone(), x.to_bits(), y.to_bits()))
                .collect();
            v.sort();
            (*t, v)
        })
        .collect()
}

fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s)
        .expect("a time")
        .with_timezone(&Utc)
}

fn latest(engine: &Engine, programme: &str) -> DateTime<Utc> {
    engine.model().programmes[programme].latest.expect("events")
}

/// Every way of reading the chain agrees with the replay, at the
/// programme's latest event and at some earlier times.
fn check(engine: &Engine, cache: &LayoutCache, programme: &str, step: &str) {
    let s = settings();
    for time in [
        latest(engine, programme),
        at("2021-06-15T12:00:00Z"),
        at("2020-12-31T23:59:59Z"),
        at("2019-01-01T00:00:00Z"),
        at("9999-12-31T00:00:00Z"),
    ] {
        let expected = bits(&replayed(engine, programme, time, &s));
        let one_pass = bits(&views::layout_chain(engine, programme, time, &s));
        assert!(
            one_pass == expected,
            "{step}: one pass differs at {time} ({} vs {} layouts)",
            one_pass.len(),
            expected.len()
        );
        let cached = bits(&cache.layout_chain(engine, programme, time, &s));
        assert!(
            cached == expected,
            "{step}: the cache differs at {time} ({} vs {} layouts)",
            cached.len(),
            expected.len()
        );
        // A second call only reads the cache.
        assert!(bits(&cache.layout_chain(engine, programme, time, &s)) == expected);
    }
}

fn event(t: &str, occurred_at: &str, data: Value) -> Value {
    json!({"type": t, "programme": "sjdlr", "occurred_at": occurred_at, "data": data})
}

#[test]
fn the_cached_chain_equals_the_replayed_chain_after_every_kind_of_append() {
    let mut engine = demo();
    let cache = LayoutCache::new();
    check(&engine, &cache, "brussels", "demo");
    check(&engine, &cache, "sjdlr", "demo");

    // Events that do not shape the network, recorded late (as the HTTP
    // benchmark appends them).
    for i in 0..3 {
        append(
            &mut engine,
            event(
                "MilestoneMarked",
                "2022-03-01",
                json!({"milestone": format!("late-{i}"), "label": "late", "kind": "other"}),
            ),
        );
    }
    check(&engine, &cache, "sjdlr", "milestones recorded late");

    // A contact after the last month end: only the chain's end changes.
    append(
        &mut engine,
        event(
            "OutreachContactLogged",
            "2022-07-04T18:00:00Z",
            json!({"from": "sj-ccas", "to": "sj-housing", "channel": "meeting", "outcome": "committed"}),
        ),
    );
    check(&engine, &cache, "sjdlr", "a contact at the end");

    // A stakeholder and a contact recorded late: every month end from
    // March 2021 on changes.
    append(
        &mut engine,
        event(
            "StakeholderRegistered",
            "2021-03-10",
            json!({"stakeholder": "sj-late", "name": "Recorded late", "kind": "association", "themes": ["housing"]}),
        ),
    );
    append(
        &mut engine,
        event(
            "OutreachContactLogged",
            "2021-05-02",
            json!({"from": "sj-late", "to": "sj-ccas", "channel": "phone", "outcome": "interested"}),
        ),
    );
    check(
        &engine,
        &cache,
        "sjdlr",
        "a stakeholder and a contact recorded late",
    );

    // A partnership revised twice, then a revision recorded late between
    // the two: folding by month would apply the two revisions out of log
    // order (and keep the wrong kind); the chain must fold in log order.
    append(
        &mut engine,
        event(
            "PartnershipFormed",
            "2021-02-03",
            json!({"partnership": "pt-late", "between": ["sj-ccas", "sj-late"], "kind": "informal"}),
        ),
    );
    append(
        &mut engine,
        event(
            "PartnershipRevised",
            "2021-08-10",
            json!({"partnership": "pt-late", "kind": "informal"}),
        ),
    );
    check(&engine, &cache, "sjdlr", "a partnership");
    append(
        &mut engine,
        event(
            "PartnershipRevised",
            "2021-04-12",
            json!({"partnership": "pt-late", "kind": "formal_agreement"}),
        ),
    );
    check(&engine, &cache, "sjdlr", "a revision recorded late");

    // An archival, then an event before the programme's first: the chain
    // starts months earlier.
    append(
        &mut engine,
        event(
            "StakeholderArchived",
            "2022-01-20",
            json!({"stakeholder": "sj-late", "reason": "gone"}),
        ),
    );
    append(
        &mut engine,
        event(
            "MilestoneMarked",
            "2020-08-03",
            json!({"milestone": "early", "label": "early", "kind": "other"}),
        ),
    );
    check(&engine, &cache, "sjdlr", "an archival and an earlier start");
    check(&engine, &cache, "brussels", "after appends to sjdlr");
}

#[test]
fn a_cache_given_another_engine_starts_again() {
    let s = settings();
    let engine = demo();
    let cache = LayoutCache::new();
    let time = latest(&engine, "sjdlr");
    let full = cache.layout_chain(&engine, "sjdlr", time, &s);
    assert!(!full.is_empty());
    // A shorter log: the first 40 events only.
    let mut short = Engine::new();
    for e in engine.events(0..40) {
        short.apply(e);
    }
    let t = latest(&short, "sjdlr");
    assert!(
        bits(&cache.layout_chain(&short, "sjdlr", t, &s))
            == bits(&replayed(&short, "sjdlr", t, &s))
    );
}

/// A map frame computes at most one layout: before the months ahead of its
/// time are kept it is laid out from the latest month kept, and says it is
/// not settled; once the background steps (`advance`) have kept them, it is
/// the chain's layout, bit for bit, with the network's present ties
/// (strongest first) and communities.
#[test]
fn a_frame_is_settled_once_the_months_before_it_are_kept() {
    let engine = demo();
    let s = settings();
    let programme = "sjdlr";
    let time = at("2021-06-30T23:59:59Z");
    let expected = bits(&replayed(&engine, programme, time, &s));
    assert!(expected.len() > 2, "the demo has months before {time}");

    let cache = LayoutCache::new();
    let never = Cancel::never();
    let early = cache
        .frame_within(&engine, programme, time, &s, &never)
        .expect("not cancelled")
        .expect("the programme has started");
    assert!(!early.settled, "no month was kept yet");
    assert_eq!(early.time, time);

    // The background steps, one frame each, until the last event.
    let mut steps = 0;
    while cache
        .advance(&engine, programme, &s, &never)
        .expect("not cancelled")
    {
        steps += 1;
        assert!(steps <= 1000, "advance ends");
    }
    let months = month_ends(
        engine
            .events(0..engine.len())
            .iter()
            .filter(|e| e.event.programme.as_str() == programme && !is_hidden(&e.event.event))
            .map(|e| e.event.occurred_at.datetime())
            .min()
            .expect("events"),
        latest(&engine, programme),
    );
    // Every month end, then the frame at the last event.
    assert_eq!(steps, months.len() + 1);
    let steps_told = cache.steps(&engine, programme, &s);
    assert_eq!(steps_told.len(), months.len() + 1);
    assert_eq!(steps_told.last(), Some(&latest(&engine, programme)));

    let frame = cache
        .frame_within(&engine, programme, time, &s, &never)
        .expect("not cancelled")
        .expect("the programme has started");
    assert!(frame.settled);
    let got = bits(&[(frame.time, frame.positions())]);
    assert!(
        got[..] == expected[expected.len() - 1..],
        "the settled frame is the chain's layout"
    );

    // Its ties are the network's present ties, strongest first; its
    // communities those of the metrics.
    let snap = engine.snapshot(AsOf::Time(time));
    let network = Network::build(
        &snap.model.programmes[programme],
        time,
        snap.position(),
        &s.network,
    );
    let ids: Vec<&str> = frame.nodes().map(|n| n.id).collect();
    assert_eq!(
        ids,
        network.nodes.iter().map(String::as_str).collect::<Vec<_>>()
    );
    // Strongest first by the exact strengths (equal ones by indexes), each
    // given in single precision.
    let mut exact: Vec<(u32, u32, f64)> = network
        .present_ties()
        .map(|t| (t.a as u32, t.b as u32, t.strength))
        .collect();
    exact.sort_by(|x, y| y.2.total_cmp(&x.2).then((x.0, x.1).cmp(&(y.0, y.1))));
    let expected: Vec<(u32, u32, u32)> = exact
        .iter()
        .map(|&(a, b, w)| (a, b, (w as f32).to_bits()))
        .collect();
    let framed: Vec<(u32, u32, u32)> = frame.ties().map(|(a, b, w)| (a, b, w.to_bits())).collect();
    assert!(!framed.is_empty());
    assert_eq!(framed, expected);
    let analysis = network.analyse(&s.metrics);
    let communities: Vec<usize> = frame.nodes().map(|n| n.community).collect();
    assert_eq!(
        communities,
        analysis
            .nodes
            .iter()
            .map(|m| m.community)
            .collect::<Vec<_>>()
    );

    // Kept: asking again computes nothing new and gives the same frame.
    let again = cache
        .frame_within(&engine, programme, time, &s, &never)
        .expect("not cancelled")
        .expect("the programme has started");
    assert!(std::sync::Arc::ptr_eq(&again, &frame));
    // Before the programme's first event there is no frame.
    assert!(cache
        .frame_within(&engine, programme, at("1999-01-01T00:00:00Z"), &s, &never)
        .expect("not cancelled")
        .is_none());
}

/// The slider's steps start at the programme's first event that mentors and
/// viewers may see: an attendance recorded with an earlier date (hidden from
/// them) does not add a month to them.
#[test]
fn a_hidden_event_does_not_move_the_steps() {
    let mut engine = demo();
    let s = settings();
    let cache = LayoutCache::new();
    let before = cache.steps(&engine, "sjdlr", &s);
    append(
        &mut engine,
        event(
            "ParticipantAttended",
            "2015-01-10",
            json!({"session": "ses-listening-salmoneries", "participant": "sj-p001"}),
        ),
    );
    assert_eq!(cache.steps(&engine, "sjdlr", &s), before);
    assert_eq!(LayoutCache::new().steps(&engine, "sjdlr", &s), before);
}
