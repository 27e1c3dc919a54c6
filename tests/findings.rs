//! Properties of the gap report on generated networks:
//! - no suggestion proposes to bring together two stakeholders that already
//!   share a present tie;
//! - no need counts as covered without a commitment to it (a stakeholder
//!   that took it on, or an active partnership of a delivering kind on its
//!   theme that serves its groups) — checked here independently of the
//!   report's own rule;
//! - merging findings never drops evidence, subjects or findings.

use std::collections::BTreeSet;

use passerelle_events::event::PartnershipKind;
use passerelle_projections::engine::{AsOf, Engine};
use passerelle_projections::gaps::{FindingKind, GapReport};
use passerelle_projections::model::{NeedStatus, Programme};
use passerelle_projections::views::{view, Settings, View};
use proptest::prelude::*;

#[path = "support/generated.rs"]
mod generated;
use generated::recorded_log;

fn engine_of(seed: u64, stakeholders: usize, events: usize) -> Engine {
    let mut e = Engine::new();
    for x in recorded_log(seed, stakeholders, events, 0.1) {
        e.apply(x);
    }
    e
}

fn the_view(engine: &Engine, merge: bool) -> View<'_> {
    let mut settings = Settings::default();
    settings.gaps.merge = merge;
    view(engine, "gen", AsOf::Latest, &settings).expect("view")
}

/// Whether need `n` has a commitment, by the rule of issue 13, written
/// again here from the model.
fn has_commitment(p: &Programme, need: &str) -> bool {
    let n = &p.needs[need];
    let active = |id: &String| p.stakeholders.get(id).is_some_and(|s| !s.archived);
    if n.addressed_by.iter().any(active) {
        return true;
    }
    p.partnerships.values().any(|x| {
        let delivering = matches!(
            x.kind,
            PartnershipKind::Referral
                | PartnershipKind::CoDelivery
                | PartnershipKind::Funding
                | PartnershipKind::FormalAgreement
        );
        let for_them = x.groups.is_empty()
            || (!n.groups.is_empty() && n.groups.iter().all(|g| x.groups.contains(g)));
        x.ended_at.is_none()
            && delivering
            && x.themes.contains(&n.theme)
            && for_them
            && x.between.iter().all(active)
    })
}

fn all_evidence(r: &GapReport) -> BTreeSet<uuid::Uuid> {
    r.findings
        .iter()
        .flat_map(|f| f.evidence.iter().copied())
        .collect()
}

fn all_ids(r: &GapReport) -> BTreeSet<String> {
    r.findings
        .iter()
        .flat_map(|f| std::iter::once(f.id.clone()).chain(f.merged.iter().cloned()))
        .collect()
}

fn all_subjects(r: &GapReport) -> BTreeSet<String> {
    r.findings
        .iter()
        .flat_map(|f| f.subjects.iter().cloned())
        .collect()
}

/// A network where the single point of failure was itself the service the
/// second path was proposed through.
#[test]
fn the_second_path_never_goes_through_the_cut_it_avoids() {
    let engine = engine_of(11450156179772053692, 31, 549);
    let v = the_view(&engine, true);
    for f in &v.gaps.findings {
        for [a, b] in &f.introduces {
            let tied = v.network.tie(a, b).is_some_and(|t| t.present);
            assert!(!tied, "{} proposes {a} and {b}, already tied", f.id);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, .. ProptestConfig::default() })]

    #[test]
    fn no_suggestion_introduces_two_stakeholders_already_tied(
        seed in any::<u64>(), stakeholders in 10usize..80, events in 200usize..1200,
    ) {
        let engine = engine_of(seed, stakeholders, events);
        let v = the_view(&engine, true);
        for f in &v.gaps.findings {
            for [a, b] in &f.introduces {
                let tied = v.network.tie(a, b).is_some_and(|t| t.present);
                prop_assert!(!tied, "{} proposes {a} and {b}, already tied", f.id);
            }
            if f.kind == FindingKind::SuggestedIntroduction {
                prop_assert_eq!(f.introduces.len(), 1, "{}", &f.id);
            }
        }
    }

    #[test]
    fn no_need_is_covered_without_a_commitment(
        seed in any::<u64>(), stakeholders in 10usize..80, events in 200usize..1200,
    ) {
        let engine = engine_of(seed, stakeholders, events);
        let v = the_view(&engine, false);
        let p = &v.programme;
        let uncovered: BTreeSet<&str> = v
            .gaps
            .of_kind(FindingKind::UncoveredNeed)
            .map(|f| f.subjects[0].as_str())
            .collect();
        for (id, n) in &p.needs {
            if n.status == NeedStatus::Withdrawn {
                continue;
            }
            prop_assert_eq!(
                uncovered.contains(id.as_str()),
                !has_commitment(p, id),
                "need {} (theme {})", id, &n.theme
            );
        }
    }

    #[test]
    fn merging_never_drops_evidence(
        seed in any::<u64>(), stakeholders in 10usize..80, events in 200usize..1200,
    ) {
        let engine = engine_of(seed, stakeholders, events);
        let apart = the_view(&engine, false).gaps;
        let merged = the_view(&engine, true).gaps;
        prop_assert_eq!(all_evidence(&apart), all_evidence(&merged));
        prop_assert_eq!(all_ids(&apart), all_ids(&merged));
        prop_assert_eq!(all_subjects(&apart), all_subjects(&merged));
        prop_assert!(merged.findings.len() <= apart.findings.len());
        let ids: Vec<&str> = merged.findings.iter().map(|f| f.id.as_str()).collect();
        let unique: BTreeSet<&str> = ids.iter().copied().collect();
        prop_assert_eq!(ids.len(), unique.len());
    }
}

/// The properties above are not vacuous: over a few generated networks of
/// a city's size, there are needs covered and uncovered, findings merged
/// and pairs proposed.
#[test]
fn the_generated_networks_exercise_every_property() {
    let (mut uncovered, mut covered, mut merged, mut pairs) = (0, 0, 0, 0);
    for seed in 1..=6 {
        let engine = engine_of(seed, 60, 1500);
        let v = the_view(&engine, true);
        let open = v
            .programme
            .needs
            .values()
            .filter(|n| n.status != NeedStatus::Withdrawn)
            .count();
        let u = v.gaps.of_kind(FindingKind::UncoveredNeed).count()
            + v.gaps
                .findings
                .iter()
                .flat_map(|f| &f.merged)
                .filter(|m| m.starts_with("uncovered_need/"))
                .count();
        uncovered += u;
        covered += open - u;
        merged += v
            .gaps
            .findings
            .iter()
            .filter(|f| !f.merged.is_empty())
            .count();
        pairs += v
            .gaps
            .findings
            .iter()
            .map(|f| f.introduces.len())
            .sum::<usize>();
    }
    assert!(
        uncovered > 0 && covered > 0 && merged > 0 && pairs > 0,
        "uncovered {uncovered}, covered {covered}, merged {merged}, pairs {pairs}"
    );
}
