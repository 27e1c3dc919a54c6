//! The workload generator: deterministic, exactly as long as asked, valid
//! when recorded through the `Ledger`, and shaped like a real network
//! (heavy-tailed degrees, time moving forward, programme first).

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, NaiveDate, Utc};
use passerelle::generate::{events_for_ties, generate, GenerateConfig, GenerateSummary};
use passerelle_events::{EventLog, Keyring, Ledger, MemoryStore, Submission};
use serde_json::Value;

const BATCH: usize = 1_000;

fn config(stakeholders: usize, events: usize, seed: u64) -> GenerateConfig {
    GenerateConfig {
        stakeholders,
        events,
        seed,
        ..GenerateConfig::default()
    }
}

fn run(cfg: &GenerateConfig) -> (Vec<u8>, GenerateSummary) {
    let mut out = Vec::new();
    let summary = generate(cfg, &mut out).expect("generate");
    (out, summary)
}

fn lines(bytes: &[u8]) -> Vec<Value> {
    std::str::from_utf8(bytes)
        .expect("utf-8")
        .lines()
        .map(|l| serde_json::from_str(l).expect("each line is JSON"))
        .collect()
}

/// Records every event through a ledger over a memory store, in batches,
/// and returns how many were appended.
async fn record_all(events: &[Value]) -> u64 {
    let ledger = Ledger::open(
        Keyring::with_new_key(MemoryStore::new())
            .await
            .expect("keys"),
    )
    .await
    .expect("ledger");
    for (b, chunk) in events.chunks(BATCH).enumerate() {
        let batch: Vec<Submission> = chunk
            .iter()
            .enumerate()
            .map(|(i, v)| {
                Submission::from_wire(v).unwrap_or_else(|e| {
                    panic!("line {} does not parse: {e}\n{v}", b * BATCH + i + 1)
                })
            })
            .collect();
        let recorded = ledger
            .record(batch, "generator")
            .await
            .unwrap_or_else(|e| panic!("batch from line {} refused: {e}", b * BATCH + 1));
        assert!(recorded.iter().all(|r| r.created), "ids are fresh");
    }
    ledger.store().head().await.expect("head")
}

/// Distinct tie partners per stakeholder: partnerships, positive contacts,
/// co-attendance at sessions.
fn degrees(events: &[Value]) -> BTreeMap<String, BTreeSet<String>> {
    let mut partners: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let strs = |v: &Value| -> Vec<String> {
        v.as_array()
            .map(|a| a.iter().map(|s| s.as_str().unwrap().to_owned()).collect())
            .unwrap_or_default()
    };
    for e in events {
        let d = &e["data"];
        let group: Vec<String> = match e["type"].as_str().unwrap() {
            "PartnershipFormed" => strs(&d["between"]),
            "OutreachContactLogged"
                if matches!(d["outcome"].as_str(), Some("interested" | "committed")) =>
            {
                vec![
                    d["from"].as_str().unwrap().to_owned(),
                    d["to"].as_str().unwrap().to_owned(),
                ]
            }
            "CoCreationSessionHeld" => {
                let mut all = strs(&d["facilitators"]);
                all.extend(strs(&d["stakeholders"]));
                all.extend(strs(&d["groups"]));
                all
            }
            _ => continue,
        };
        for a in &group {
            for b in &group {
                if a != b {
                    partners.entry(a.clone()).or_default().insert(b.clone());
                }
            }
        }
    }
    partners
}

#[test]
fn the_same_config_gives_the_same_bytes_and_another_seed_does_not() {
    let cfg = config(300, 5_000, 7);
    let (a, sa) = run(&cfg);
    let (b, sb) = run(&cfg);
    assert_eq!(a, b, "two runs of one config differ");
    assert_eq!(sa, sb);
    let (c, _) = run(&config(300, 5_000, 8));
    assert_ne!(a, c, "another seed gave the same log");
    let ids = |bytes: &[u8]| -> BTreeSet<String> {
        lines(bytes)
            .iter()
            .map(|v| v["id"].as_str().unwrap().to_owned())
            .collect()
    };
    assert!(ids(&a).is_disjoint(&ids(&c)), "seeds share event ids");
}

#[test]
fn it_writes_exactly_the_events_asked_for() {
    for (stakeholders, events) in [
        (0, 0),
        (0, 1),
        (0, 40),
        (1, 40),
        (10, 1),
        (10, 5),
        (10, 11),
        (500, 100),
        (50, 3_000),
    ] {
        let (out, summary) = run(&config(stakeholders, events, 1));
        let n = lines(&out).len();
        assert_eq!(n, events, "{stakeholders} stakeholders, {events} events");
        assert_eq!(summary.events, events as u64);
        assert_eq!(summary.per_type.values().sum::<u64>(), events as u64);
        let registered = stakeholders.min(events.saturating_sub(1));
        assert_eq!(summary.stakeholders_registered, registered);
        assert_eq!(
            summary
                .per_type
                .get("StakeholderRegistered")
                .copied()
                .unwrap_or(0),
            registered as u64
        );
    }
}

#[test]
fn too_few_events_register_as_many_stakeholders_as_fit_and_say_so() {
    let (_, summary) = run(&config(500, 100, 1));
    assert_eq!(summary.stakeholders_registered, 99);
    assert!(!summary.all_registered());
    let text = summary.to_string();
    assert!(text.contains("99 registered of 500 requested"), "{text}");
    assert!(text.contains("raise --events"), "{text}");
    let (_, summary) = run(&config(50, 3_000, 1));
    assert!(summary.all_registered());
}

#[tokio::test]
async fn every_event_is_accepted_by_the_ledger() {
    let (out, summary) = run(&config(500, 20_000, 42));
    let events = lines(&out);
    assert_eq!(record_all(&events).await, 20_000);
    // Every kind of event the brief asks for occurs.
    for t in [
        "ProgrammeDefined",
        "StakeholderRegistered",
        "StakeholderProfileChanged",
        "StakeholderArchived",
        "OutreachContactLogged",
        "PartnershipFormed",
        "PartnershipRevised",
        "PartnershipEnded",
        "CoCreationSessionHeld",
        "ParticipantAttended",
        "NeedDeclared",
        "NeedAddressed",
        "NeedWithdrawn",
        "MilestoneMarked",
        "ReviewNoteAdded",
    ] {
        assert!(summary.per_type.get(t).copied().unwrap_or(0) > 0, "no {t}");
    }
}

#[tokio::test]
async fn small_and_degenerate_configs_are_accepted_by_the_ledger_too() {
    for (stakeholders, events, seed) in [
        (0, 200, 1),
        (1, 200, 2),
        (3, 2_000, 3),
        (500, 100, 4),
        (40, 5_000, 5),
    ] {
        let (out, _) = run(&config(stakeholders, events, seed));
        assert_eq!(record_all(&lines(&out)).await, events as u64);
    }
}

#[test]
fn programme_first_and_time_never_goes_back() {
    let cfg = GenerateConfig {
        programme: "bench-city".into(),
        start: NaiveDate::from_ymd_opt(2020, 3, 2).unwrap(),
        ..config(1_000, 30_000, 3)
    };
    let (out, summary) = run(&cfg);
    let events = lines(&out);
    assert_eq!(events[0]["type"], "ProgrammeDefined");
    assert_eq!(events[0]["data"]["programme"], "bench-city");
    assert!(events[1..].iter().all(|e| e["type"] != "ProgrammeDefined"));
    assert!(events.iter().all(|e| e["programme"] == "bench-city"));
    let times: Vec<DateTime<Utc>> = events
        .iter()
        .map(|e| {
            DateTime::parse_from_rfc3339(e["occurred_at"].as_str().unwrap())
                .expect("RFC 3339")
                .with_timezone(&Utc)
        })
        .collect();
    assert!(
        times.windows(2).all(|w| w[0] <= w[1]),
        "occurred_at went back"
    );
    let first = times[0].date_naive();
    let last = times[times.len() - 1].date_naive();
    assert_eq!(first, cfg.start);
    assert!(
        (last - first).num_days() > 3 * 365 - 10,
        "spans about three years"
    );
    assert_eq!(
        summary.last_occurred_at.as_deref(),
        events.last().unwrap()["occurred_at"].as_str()
    );
}

#[test]
fn registrations_come_first_mostly() {
    let (out, _) = run(&config(1_000, 20_000, 9));
    let events = lines(&out);
    let positions: Vec<usize> = events
        .iter()
        .enumerate()
        .filter(|(_, e)| e["type"] == "StakeholderRegistered")
        .map(|(i, _)| i)
        .collect();
    assert_eq!(positions.len(), 1_000);
    // 80 % up front, the rest within the first half of the activity.
    assert_eq!(positions[799], 800);
    assert!(*positions.last().unwrap() < 11_000);
}

#[test]
fn the_tie_degree_distribution_is_heavy_tailed() {
    let (out, summary) = run(&config(5_000, 40_000, 11));
    let events = lines(&out);
    let partners = degrees(&events);
    let pairs: usize = partners.values().map(BTreeSet::len).sum::<usize>() / 2;
    assert_eq!(
        pairs as u64, summary.tied_pairs,
        "summary counts the same ties"
    );
    let mut degree: Vec<usize> = partners.values().map(BTreeSet::len).collect();
    degree.resize(5_000, 0); // stakeholders without a tie
    degree.sort_unstable();
    let median = degree[degree.len() / 2];
    let max = degree[degree.len() - 1];
    let top: usize = degree[degree.len() - 50..].iter().sum();
    let all: usize = degree.iter().sum();
    assert!(max >= 20 * median, "max {max}, median {median}");
    assert!(
        top * 100 >= all * 10,
        "the top 1 % hold {top} of {all} tie ends"
    );
}

#[test]
fn proportions_are_realistic() {
    let (_, summary) = run(&config(10_000, 100_000, 5));
    let share = |t: &str| summary.per_type.get(t).copied().unwrap_or(0) as f64 / 100_000.0;
    let within = |t: &str, lo: f64, hi: f64| {
        let s = share(t);
        assert!(lo <= s && s <= hi, "{t}: {s:.3} not in {lo}..{hi}");
    };
    within("OutreachContactLogged", 0.40, 0.52);
    within("PartnershipFormed", 0.10, 0.15);
    within("CoCreationSessionHeld", 0.025, 0.04);
    within("ParticipantAttended", 0.13, 0.18);
    let needs = share("NeedDeclared") + share("NeedAddressed") + share("NeedWithdrawn");
    assert!((0.015..0.03).contains(&needs), "needs {needs}");
    within("StakeholderProfileChanged", 0.015, 0.03);
    let revisions = share("PartnershipRevised") + share("PartnershipEnded");
    assert!((0.015..0.03).contains(&revisions), "revisions {revisions}");
    within("ReviewNoteAdded", 0.007, 0.015);
    within("StakeholderArchived", 0.0005, 0.005);
    let milestones = summary.per_type["MilestoneMarked"];
    assert!((10..=60).contains(&milestones), "{milestones} milestones");
}

#[test]
fn events_for_ties_hits_the_target() {
    let cfg = config(2_000, 0, 3);
    let events = events_for_ties(&cfg, 10_000).expect("calibrates");
    let (_, summary) = run(&GenerateConfig { events, ..cfg });
    let got = summary.tied_pairs as f64;
    assert!((got / 10_000.0 - 1.0).abs() < 0.01, "{got} ties");
}

#[test]
fn a_programme_id_that_is_not_a_slug_is_refused() {
    let cfg = GenerateConfig {
        programme: "Not A Slug".into(),
        ..config(10, 10, 0)
    };
    let err = generate(&cfg, &mut Vec::new()).unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
    assert!(err.to_string().contains("programme"), "{err}");
}
