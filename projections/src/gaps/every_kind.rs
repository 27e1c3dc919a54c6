//! One programme that shows every kind of finding, read in French: no
//! English theme slug, no ISO date, no decimal point inside a sentence, no
//! placeholder left unfilled.

use super::*;
use crate::engine::replay;
use crate::metrics::MetricsConfig;
use crate::network::NetworkConfig;
use crate::testkit::{ev, stored};
use passerelle_events::values::Theme;
use serde_json::{json, Value};

fn stakeholder(id: &str, name: &str, kind: &str, themes: &[&str], grammar: Value) -> Value {
    ev(
        "StakeholderRegistered",
        "2021-01-01",
        json!({"stakeholder": id, "name": name, "kind": kind, "themes": themes, "grammar": grammar}),
    )
}

fn partnership(id: &str, at: &str, a: &str, b: &str, kind: &str, themes: &[&str]) -> Value {
    ev(
        "PartnershipFormed",
        at,
        json!({"partnership": id, "between": [a, b], "kind": kind, "themes": themes}),
    )
}

fn contact(at: &str, to: &str, outcome: &str, due: Option<&str>) -> Value {
    let mut d = json!({"from": "ccas", "to": to, "channel": "email", "outcome": outcome});
    if let Some(due) = due {
        d["follow_up_due"] = json!(due);
    }
    ev("OutreachContactLogged", at, d)
}

#[allow(clippy::too_many_arguments)]
fn session(
    id: &str,
    at: &str,
    level: &str,
    stakeholders: &[&str],
    facilitators: &[&str],
    groups: &[&str],
    total: u32,
    women: u32,
) -> Value {
    ev(
        "CoCreationSessionHeld",
        at,
        json!({"session": id, "title": format!("Séance {id}"), "level": level,
               "themes": ["language"], "stakeholders": stakeholders,
               "facilitators": facilitators, "groups": groups,
               "beneficiaries": {"total": total, "women": women, "men": total - women,
                                 "first_time": total}}),
    )
}

/// The programme: a CCAS at the centre, providers it cannot reach, women's
/// and youth groups reached through the femmes-relais only.
fn programme() -> Vec<Value> {
    let fem = json!({"gender": "feminine"});
    let fem_pl = json!({"gender": "feminine", "number": "plural"});
    let masc = json!({});
    let mut w = vec![ev(
        "ProgrammeDefined",
        "2021-01-01",
        json!({"programme": "p", "name": "Ville de P", "role": "mentee"}),
    )];
    w.extend([
        stakeholder(
            "ccas",
            "CCAS",
            "city_service",
            &["social_support"],
            masc.clone(),
        ),
        stakeholder(
            "council",
            "Conseil municipal",
            "political",
            &[],
            masc.clone(),
        ),
        stakeholder(
            "assoc",
            "Association Alpha",
            "association",
            &["language"],
            fem.clone(),
        ),
        stakeholder(
            "school",
            "Lycée Beta",
            "education",
            &["language"],
            masc.clone(),
        ),
        stakeholder(
            "champ",
            "femmes-relais",
            "community_champion",
            &["community_outreach"],
            fem_pl.clone(),
        ),
        stakeholder(
            "women",
            "Femmes du quartier",
            "beneficiary_group",
            &[],
            fem_pl.clone(),
        ),
        stakeholder(
            "youth",
            "Jeunes du quartier",
            "beneficiary_group",
            &[],
            json!({"number": "plural"}),
        ),
        stakeholder(
            "interp",
            "Service d'interprétariat",
            "interpreting",
            &["interpreting"],
            masc.clone(),
        ),
        stakeholder(
            "nursery",
            "Crèche Gamma",
            "childcare",
            &["childcare"],
            fem.clone(),
        ),
        stakeholder(
            "employer",
            "Club d'entreprises",
            "employer",
            &["employment"],
            masc.clone(),
        ),
        stakeholder(
            "legal",
            "Point-justice",
            "legal_aid",
            &["rights"],
            masc.clone(),
        ),
        stakeholder(
            "housing",
            "Bailleur Delta",
            "association",
            &["housing"],
            masc.clone(),
        ),
        stakeholder("h1", "Maison de santé", "health", &["health"], fem.clone()),
        stakeholder("h2", "Centre de santé", "health", &["health"], masc.clone()),
        stakeholder(
            "media",
            "Radio locale",
            "media",
            &["community_outreach"],
            fem.clone(),
        ),
    ]);
    w.extend([
        partnership(
            "x-council",
            "2020-06-01",
            "ccas",
            "council",
            "institutional",
            &[],
        ),
        partnership(
            "x-assoc",
            "2021-01-02",
            "ccas",
            "assoc",
            "referral",
            &["language"],
        ),
        partnership(
            "x-school",
            "2021-01-02",
            "ccas",
            "school",
            "referral",
            &["language"],
        ),
        partnership(
            "x-legal",
            "2021-01-02",
            "ccas",
            "legal",
            "referral",
            &["rights"],
        ),
        partnership(
            "x-housing",
            "2021-01-02",
            "ccas",
            "housing",
            "informal",
            &["housing"],
        ),
        partnership(
            "x-champ",
            "2022-01-05",
            "assoc",
            "champ",
            "informal",
            &["community_outreach"],
        ),
        partnership(
            "x-health",
            "2022-01-05",
            "h1",
            "h2",
            "co_delivery",
            &["health"],
        ),
    ]);
    for (need, theme, priority) in [
        ("need-interp", "interpreting", "high"),
        ("need-nursery", "childcare", "high"),
        ("need-housing", "housing", "medium"),
        ("need-money", "funding", "medium"),
    ] {
        w.push(ev(
            "NeedDeclared",
            "2021-02-01",
            json!({"need": need, "action": "Maison des Femmes", "theme": theme, "priority": priority}),
        ));
    }
    w.extend([
        contact("2021-03-01", "interp", "no_response", None),
        contact("2021-04-01", "interp", "no_response", None),
        contact("2021-05-01", "interp", "no_response", Some("2021-06-01")),
        contact("2021-03-15", "nursery", "declined", None),
        contact("2021-09-15", "nursery", "declined", None),
        contact("2021-09-01", "media", "interested", None),
    ]);
    w.extend([
        session(
            "s1",
            "2022-01-10",
            "consult",
            &[],
            &["champ"],
            &["women"],
            10,
            9,
        ),
        session(
            "s2",
            "2022-02-10",
            "consult",
            &[],
            &["champ"],
            &["youth"],
            9,
            3,
        ),
        session(
            "s3",
            "2022-03-10",
            "inform",
            &[],
            &["champ"],
            &["youth"],
            12,
            5,
        ),
        session(
            "s4",
            "2022-04-10",
            "consult",
            &[],
            &["champ"],
            &["women"],
            20,
            19,
        ),
        session(
            "s5",
            "2022-05-10",
            "involve",
            &[],
            &["champ"],
            &["women"],
            0,
            0,
        ),
        session(
            "sa",
            "2022-05-20",
            "inform",
            &["ccas", "assoc"],
            &[],
            &[],
            0,
            0,
        ),
        session(
            "sb",
            "2022-05-21",
            "inform",
            &["ccas", "school"],
            &[],
            &[],
            0,
            0,
        ),
    ]);
    w.push(ev(
        "ReviewNoteAdded",
        "2022-02-01",
        json!({"note": "n1", "about": {"stakeholder": "ccas"}, "distrusted_by": ["women"],
               "text": "Les femmes disent que le CCAS, « c'est pour l'argent »."}),
    ));
    w.push(ev(
        "ReviewNoteAdded",
        "2022-02-02",
        json!({"note": "n2", "about": {"gap": "uncovered_need/need-interp"},
               "text": "Bruxelles passe par une convention avec un service d'interprétariat."}),
    ));
    w
}

fn report_of(merge: bool) -> GapReport {
    let model = replay(stored(&programme()).iter());
    let p = &model.programmes["p"];
    let t = passerelle_events::values::OccurredAt::parse("2022-06-30")
        .unwrap()
        .datetime();
    let net = Network::build(p, t, 0, &NetworkConfig::default());
    let an = net.analyse(&MetricsConfig::default());
    let cfg = GapConfig {
        merge,
        ..GapConfig::default()
    };
    report(p, &net, &an, &cfg)
}

/// What must not be in a French sentence.
fn english_traces(text: &str) -> Vec<String> {
    let mut found = Vec::new();
    let b = text.as_bytes();
    for i in 0..b.len() {
        let digit = |k: usize| b.get(k).is_some_and(u8::is_ascii_digit);
        // An ISO date: dddd-dd-dd.
        if (0..4).all(|k| digit(i + k))
            && b.get(i + 4) == Some(&b'-')
            && digit(i + 5)
            && digit(i + 6)
            && b.get(i + 7) == Some(&b'-')
        {
            found.push(format!("ISO date at {i}"));
        }
        // A decimal point between digits.
        if b[i] == b'.' && i > 0 && digit(i - 1) && digit(i + 1) {
            found.push(format!("decimal point at {i}"));
        }
    }
    for slug in Theme::REFERENCE {
        if slug.contains('_') && text.contains(slug) {
            found.push(format!("theme slug {slug}"));
        }
    }
    for kind in FindingKind::ALL {
        if text.contains(kind.as_str()) {
            found.push(format!("kind slug {}", kind.as_str()));
        }
    }
    if text.contains('{') || text.contains('}') || text.contains('|') {
        found.push("placeholder left".to_owned());
    }
    found
}

#[test]
fn every_kind_shows_in_the_programme() {
    let apart = report_of(false);
    let kinds: BTreeSet<FindingKind> = apart.findings.iter().map(|f| f.kind).collect();
    let missing: Vec<&str> = FindingKind::ALL
        .iter()
        .filter(|k| !kinds.contains(k))
        .map(|k| k.as_str())
        .collect();
    assert!(
        missing.is_empty(),
        "kinds not shown: {missing:?}\n{:#?}",
        apart.findings.iter().map(|f| &f.id).collect::<Vec<_>>()
    );
}

#[test]
fn every_finding_reads_in_french() {
    for merge in [false, true] {
        let r = report_of(merge);
        for f in r.findings.iter().chain(&r.public_shares) {
            for (what, text) in [
                ("explanation", &f.explanation.fr),
                ("suggestion", &f.suggestion.fr),
            ] {
                let traces = english_traces(text);
                assert!(traces.is_empty(), "{} {what}: {traces:?}\n{text}", f.id);
            }
        }
    }
}

#[test]
fn a_merged_finding_keeps_its_notes_and_the_distrusted_service_is_avoided() {
    let r = report_of(true);
    let interp = r
        .findings
        .iter()
        .find(|f| f.id == "uncovered_need/need-interp")
        .expect("the interpreting need is uncovered");
    assert!(
        interp
            .merged
            .iter()
            .any(|m| m.starts_with("stalled_outreach/")),
        "{:?}",
        interp.merged
    );
    assert!(interp.notes.iter().any(|n| n.id == "n2"));
    let spof = r
        .findings
        .iter()
        .find(|f| f.kind == FindingKind::SinglePointOfFailure && f.subjects[0] == "champ")
        .expect("the femmes-relais alone link the groups");
    // The women said the CCAS is "only for money": the second path avoids it.
    assert!(
        spof.introduces
            .iter()
            .all(|[a, b]| a != "ccas" && b != "ccas"),
        "{:?}",
        spof.introduces
    );
    assert!(
        spof.suggestion.en.contains("Association Alpha")
            || spof.suggestion.en.contains("Lycée Beta"),
        "{}",
        spof.suggestion.en
    );
}

/// Two informal partners on housing since 1 January 2021, with `more`
/// events; their dormant-tie findings as of 1 September 2021 (243 days: the
/// tie has lost more than half its strength unless something refreshed it).
fn dormant_with(more: &[Value]) -> Vec<String> {
    let mut w = vec![
        ev(
            "ProgrammeDefined",
            "2021-01-01",
            json!({"programme": "p", "name": "P"}),
        ),
        stakeholder("a", "Alpha", "association", &["housing"], json!({})),
        stakeholder("b", "Beta", "city_service", &["housing"], json!({})),
        stakeholder("c", "Gamma", "association", &["housing"], json!({})),
        partnership("x-ab", "2021-01-01", "a", "b", "informal", &["housing"]),
        partnership("x-bc", "2021-01-01", "b", "c", "informal", &["housing"]),
    ];
    w.extend(more.iter().cloned());
    let model = replay(stored(&w).iter());
    let p = &model.programmes["p"];
    let t = passerelle_events::values::OccurredAt::parse("2021-09-01")
        .unwrap()
        .datetime();
    let net = Network::build(p, t, 0, &NetworkConfig::default());
    let an = net.analyse(&MetricsConfig::default());
    let cfg = GapConfig {
        merge: false,
        ..GapConfig::default()
    };
    report(p, &net, &an, &cfg)
        .of_kind(FindingKind::DormantTie)
        .flat_map(|f| f.subjects.iter().filter(|s| s.starts_with("x-")).cloned())
        .collect()
}

#[test]
fn what_two_partners_do_together_keeps_their_tie_from_going_dormant() {
    // Quiet since January: both partnerships are dormant.
    assert_eq!(dormant_with(&[]), ["x-ab", "x-bc"]);
    let need = ev(
        "NeedDeclared",
        "2021-07-01",
        json!({"need": "n", "action": "Maison des Femmes", "theme": "housing"}),
    );
    let refreshers = [
        (
            "a session both take part in",
            vec![ev(
                "CoCreationSessionHeld",
                "2021-08-01",
                json!({"session": "s", "title": "Logement", "level": "consult",
                       "stakeholders": ["a"], "facilitators": ["b"],
                       "beneficiaries": {"total": 0}}),
            )],
        ),
        (
            "a milestone naming both",
            vec![ev(
                "MilestoneMarked",
                "2021-08-01",
                json!({"milestone": "m", "label": "Ouverture", "kind": "workshop",
                       "stakeholders": ["a", "b"]}),
            )],
        ),
        (
            "a need one addresses on the partnership's theme",
            vec![
                need.clone(),
                ev(
                    "NeedAddressed",
                    "2021-08-01",
                    json!({"need": "n", "by": ["a"]}),
                ),
            ],
        ),
    ];
    for (what, events) in refreshers {
        assert_eq!(dormant_with(&events), ["x-bc"], "{what}");
    }
    // A milestone naming only one of them refreshes nothing.
    let one = ev(
        "MilestoneMarked",
        "2021-08-01",
        json!({"milestone": "m", "label": "Ouverture", "kind": "workshop", "stakeholders": ["a"]}),
    );
    assert_eq!(dormant_with(&[one]), ["x-ab", "x-bc"]);
}

#[test]
fn an_institutional_link_never_goes_dormant_and_a_formal_one_later() {
    let kinds = |kind: &str| {
        let mut w = vec![
            ev(
                "ProgrammeDefined",
                "2021-01-01",
                json!({"programme": "p", "name": "P"}),
            ),
            stakeholder("a", "Alpha", "political", &[], json!({})),
            stakeholder("b", "Beta", "city_service", &[], json!({})),
            partnership("x", "2021-01-01", "a", "b", kind, &[]),
        ];
        w.push(stakeholder("c", "Gamma", "association", &[], json!({})));
        let model = replay(stored(&w).iter());
        let p = &model.programmes["p"];
        // The first day each is reported dormant, within five years.
        (1..=60)
            .map(|m| {
                chrono::NaiveDate::from_ymd_opt(2021 + (m - 1) / 12, 1 + (m - 1) as u32 % 12, 1)
                    .unwrap()
            })
            .find(|d| {
                let t = d.and_hms_opt(0, 0, 0).unwrap().and_utc();
                let net = Network::build(p, t, 0, &NetworkConfig::default());
                let an = net.analyse(&MetricsConfig::default());
                report(p, &net, &an, &GapConfig::default())
                    .of_kind(FindingKind::DormantTie)
                    .next()
                    .is_some()
            })
    };
    let informal = kinds("informal").expect("an informal partnership goes quiet");
    let referral = kinds("referral").expect("a referral partnership goes quiet");
    let formal = kinds("formal_agreement").expect("a formal agreement goes quiet");
    assert!(
        informal < referral && referral < formal,
        "{informal} {referral} {formal}"
    );
    assert_eq!(kinds("institutional"), None);
}

#[test]
fn a_group_whose_people_do_not_come_back_is_told_apart_from_the_overall_share() {
    let mut w = vec![
        ev(
            "ProgrammeDefined",
            "2021-01-01",
            json!({"programme": "p", "name": "P"}),
        ),
        stakeholder(
            "champ",
            "femmes-relais",
            "community_champion",
            &[],
            json!({}),
        ),
        stakeholder("women", "Femmes", "beneficiary_group", &[], json!({})),
        stakeholder("youth", "Jeunes", "beneficiary_group", &[], json!({})),
    ];
    let held = |id: &str, at: &str, group: &str, first: u32, back: u32| {
        ev(
            "CoCreationSessionHeld",
            at,
            json!({"session": id, "title": id, "level": "involve", "facilitators": ["champ"],
                   "groups": [group], "beneficiaries": {"total": first + back,
                   "women": first + back, "first_time": first, "returning": back}}),
        )
    };
    w.extend([
        held("w1", "2021-02-01", "women", 10, 10),
        held("w2", "2021-03-01", "women", 5, 15),
        held("y1", "2021-02-15", "youth", 10, 0),
        held("y2", "2021-03-15", "youth", 10, 0),
        held("y3", "2021-04-15", "youth", 9, 1),
    ]);
    let model = replay(stored(&w).iter());
    let p = &model.programmes["p"];
    let t = passerelle_events::values::OccurredAt::parse("2021-05-01")
        .unwrap()
        .datetime();
    let net = Network::build(p, t, 0, &NetworkConfig::default());
    let an = net.analyse(&MetricsConfig::default());
    let r = report(p, &net, &an, &GapConfig::default());
    let ids: Vec<&str> = r.findings.iter().map(|f| f.id.as_str()).collect();
    // Overall 26 of 69 places went to returning people (38 %); the youth 1 of 30.
    assert!(ids.contains(&"participation/returning+youth"), "{ids:?}");
    assert!(!ids.contains(&"participation/returning+women"), "{ids:?}");
    assert!(!ids.contains(&"participation/returning"), "{ids:?}");
}
