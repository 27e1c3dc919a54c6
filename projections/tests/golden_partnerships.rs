//! Golden values through the whole pipeline: Zachary's karate club, Les
//! Misérables and the Florentine families, recorded as stakeholders and
//! partnerships, validated by the ledger, folded by the engine and analysed
//! by the network projection, give networkx's metrics (fixtures written by
//! `scripts/golden_metrics.py`).

use std::collections::BTreeSet;

use passerelle_events::{Keyring, Ledger, MemoryStore, Submission};
use passerelle_projections::engine::{AsOf, Engine};
use passerelle_projections::views::{view, Settings};
use serde_json::{json, Value};

const TOLERANCE: f64 = 1e-6;

fn fixture(name: &str) -> Value {
    let path = format!("{}/tests/fixtures/{name}.json", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(path).expect("fixture")).expect("json")
}

/// A stakeholder id for the fixture's node `i`.
fn slug(i: usize, name: &str) -> String {
    let s: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    let mut id = format!("n{i:03}-{s}");
    id.truncate(64);
    id.trim_end_matches('-').to_owned()
}

fn engine_for(fx: &Value) -> (Engine, Vec<String>) {
    let names: Vec<String> = fx["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| {
            n.as_str()
                .map(str::to_owned)
                .unwrap_or_else(|| n.to_string())
        })
        .collect();
    let ids: Vec<String> = names.iter().enumerate().map(|(i, n)| slug(i, n)).collect();
    let mut wire = vec![
        json!({"type": "ProgrammeDefined", "programme": "golden", "occurred_at": "2022-01-01",
        "data": {"programme": "golden", "name": "Golden graph"}}),
    ];
    for (id, name) in ids.iter().zip(&names) {
        wire.push(json!({"type": "StakeholderRegistered", "programme": "golden", "occurred_at": "2022-01-01",
            "data": {"stakeholder": id, "name": name, "kind": "association"}}));
    }
    for (k, e) in fx["edges"].as_array().unwrap().iter().enumerate() {
        let (a, b) = (
            e[0].as_u64().unwrap() as usize,
            e[1].as_u64().unwrap() as usize,
        );
        wire.push(json!({"type": "PartnershipFormed", "programme": "golden", "occurred_at": "2022-01-02",
            "data": {"partnership": format!("p{k}"), "between": [ids[a], ids[b]], "kind": "referral"}}));
    }
    let subs: Vec<Submission> = wire
        .iter()
        .map(|v| Submission::from_wire(v).unwrap())
        .collect();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let engine = rt.block_on(async {
        let ledger = Ledger::open(
            Keyring::with_new_key(MemoryStore::new())
                .await
                .expect("keys"),
        )
        .await
        .unwrap();
        ledger.record(subs, "golden").await.unwrap();
        Engine::load(ledger.store()).await.unwrap()
    });
    (engine, ids)
}

fn close(what: &str, ours: f64, theirs: &Value) {
    match theirs.as_f64() {
        Some(t) => assert!(
            (ours - t).abs() <= TOLERANCE,
            "{what}: ours {ours}, networkx {t}"
        ),
        None => panic!("{what}: networkx gives {theirs}, ours {ours}"),
    }
}

fn check(name: &str) {
    let fx = fixture(name);
    let (engine, ids) = engine_for(&fx);
    let v = view(&engine, "golden", AsOf::Latest, &Settings::default()).expect("view");
    let net = &v.network;
    assert_eq!(net.nodes.len(), ids.len(), "{name}: nodes");
    assert_eq!(
        net.present_ties().count(),
        fx["edges"].as_array().unwrap().len(),
        "{name}: ties"
    );
    let at = |i: usize| net.index_of(&ids[i]).expect("node");
    for (i, m) in fx["node_metrics"].as_array().unwrap().iter().enumerate() {
        let ours = &v.analysis.nodes[at(i)];
        let who = format!("{name}/{}", ids[i]);
        assert_eq!(
            ours.degree as u64,
            m["degree"].as_u64().unwrap(),
            "{who} degree"
        );
        assert_eq!(
            ours.core_number as u64,
            m["core_number"].as_u64().unwrap(),
            "{who} core"
        );
        close(
            &format!("{who} betweenness"),
            ours.betweenness,
            &m["betweenness"],
        );
        close(&format!("{who} closeness"), ours.closeness, &m["closeness"]);
        close(
            &format!("{who} eigenvector"),
            ours.eigenvector,
            &m["eigenvector"],
        );
        match (ours.constraint, m["constraint"].as_f64()) {
            (Some(c), Some(_)) => close(&format!("{who} constraint"), c, &m["constraint"]),
            (None, None) => {}
            (o, t) => panic!("{who} constraint: ours {o:?}, networkx {t:?}"),
        }
        match (ours.effective_size, m["effective_size"].as_f64()) {
            (Some(c), Some(_)) => close(&format!("{who} effective size"), c, &m["effective_size"]),
            (None, None) => {}
            (o, t) => panic!("{who} effective size: ours {o:?}, networkx {t:?}"),
        }
    }
    let theirs_ap: BTreeSet<String> = fx["articulation_points"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| ids[i.as_u64().unwrap() as usize].clone())
        .collect();
    let ours_ap: BTreeSet<String> = v
        .analysis
        .network
        .articulation_points
        .iter()
        .map(|&i| net.nodes[i].clone())
        .collect();
    assert_eq!(ours_ap, theirs_ap, "{name}: articulation points");
    let pair = |a: &str, b: &str| {
        if a < b {
            (a.to_owned(), b.to_owned())
        } else {
            (b.to_owned(), a.to_owned())
        }
    };
    let theirs_br: BTreeSet<(String, String)> = fx["bridges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            pair(
                &ids[e[0].as_u64().unwrap() as usize],
                &ids[e[1].as_u64().unwrap() as usize],
            )
        })
        .collect();
    let ours_br: BTreeSet<(String, String)> = v
        .analysis
        .network
        .bridges
        .iter()
        .map(|&(a, b)| pair(&net.nodes[a], &net.nodes[b]))
        .collect();
    assert_eq!(ours_br, theirs_br, "{name}: bridges");
    let nx = fx["louvain"]["modularity"].as_f64().unwrap();
    assert!(
        v.analysis.network.modularity >= nx - 0.02,
        "{name}: modularity {} vs networkx louvain {nx}",
        v.analysis.network.modularity
    );
    close(
        &format!("{name} density"),
        v.analysis.network.density,
        &fx["density"],
    );
}

#[test]
fn karate_club_as_partnerships_matches_networkx() {
    check("karate");
}

#[test]
fn les_miserables_as_partnerships_matches_networkx() {
    check("lesmis");
}

#[test]
fn florentine_families_as_partnerships_matches_networkx() {
    check("florentine");
}
