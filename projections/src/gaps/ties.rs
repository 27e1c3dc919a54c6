//! One tie at a time: isolated stakeholders, stalled outreach, dormant ties.

use super::*;
use crate::network::can_go_dormant;

pub(super) fn isolated(cx: &mut Ctx) {
    // Contacts of the isolated nodes only, found in one pass.
    let isolated: FxHashSet<&str> = (0..cx.net.nodes.len())
        .filter(|&i| cx.net.topology.neighbours(i).is_empty())
        .map(|i| cx.net.nodes[i].as_str())
        .collect();
    let mut contacts_of: FxHashMap<&str, Vec<Uuid>> = FxHashMap::default();
    if !isolated.is_empty() {
        for c in &cx.p.contacts {
            for end in [c.from.as_str(), c.to.as_str()] {
                if isolated.contains(end) {
                    contacts_of.entry(end).or_default().push(c.event);
                }
            }
        }
    }
    for i in 0..cx.net.nodes.len() {
        let degree = cx.net.topology.neighbours(i).len();
        if degree > 1 {
            continue;
        }
        let id = cx.net.nodes[i].clone();
        let name = Arg::from(cx.node_noun(i));
        let reg: Vec<Uuid> =
            cx.p.stakeholders
                .get(&id)
                .map(|s| s.events.clone())
                .unwrap_or_default();
        if degree == 0 {
            let contacts: Vec<Uuid> = contacts_of.remove(id.as_str()).unwrap_or_default();
            let severity = if is_group(cx.kind(i)) {
                Severity::High
            } else {
                Severity::Medium
            };
            let kind = cx.kind(i);
            let f = cx.push(
                FindingKind::IsolatedStakeholder,
                severity,
                vec![id.clone()],
                bilingual(
                    "finding.isolated_stakeholder.explanation",
                    &[("name", name.clone())],
                ),
                reg.into_iter().chain(contacts),
                bilingual(
                    "finding.isolated_stakeholder.suggestion",
                    &[("name", name.clone())],
                ),
            );
            f.focus = vec![id.clone()];
            f.sectors = vec![kind];
        } else if degree == 1 {
            let (other, tie) = cx.net.neighbours(&id)[0];
            if tie.strength < cx.cfg.weak_strength {
                let other = Arg::from(cx.noun(other));
                let s = tie.strength;
                let ev = tie.evidence.clone();
                let kind = cx.kind(i);
                let f = cx.push(
                    FindingKind::IsolatedStakeholder,
                    Severity::Low,
                    vec![id.clone()],
                    bilingual(
                        "finding.isolated_stakeholder.weak.explanation",
                        &[
                            ("name", name.clone()),
                            ("other", other.clone()),
                            ("strength", messages::decimal(s, 2)),
                        ],
                    ),
                    reg.into_iter().chain(ev),
                    bilingual(
                        "finding.isolated_stakeholder.weak.suggestion",
                        &[("name", name.clone()), ("other", other.clone())],
                    ),
                );
                f.focus = vec![id.clone()];
                f.sectors = vec![kind];
            }
        }
    }
}

pub(super) fn stalled_outreach(cx: &mut Ctx) {
    let (p, net) = (cx.p, cx.net);
    let today = net.as_of.date_naive();
    // Ties come sorted by ids, each with its contacts.
    for (k, t) in net.ties.iter().enumerate() {
        if t.contacts.count == 0 {
            continue;
        }
        let contacts = || net.contacts_of(k).map(|n| &p.contacts[n]);
        let stalled =
            t.contacts.positive == 0 && !t.present && t.contacts.count >= cx.cfg.stalled_contacts;
        let Some(last) = contacts().max_by_key(|c| (c.occurred_at, c.event)) else {
            continue;
        };
        // Something the two did after the latest contact (a partnership, a
        // session, a milestone) was the follow-up.
        let moved_on = t.last_interaction > last.occurred_at;
        let overdue = last
            .follow_up_due
            .filter(|due| *due < today && !moved_on)
            .map(|due| (due, (today - due).num_days()));
        let active = t.partnership.as_ref().is_some_and(|x| x.ended_at.is_none());
        if !stalled && overdue.is_none() {
            let age = (net.as_of - last.occurred_at).num_days();
            let pending = last.outcome >= Outcome::Acknowledged
                && last.follow_up_due.is_none()
                && !moved_on
                && !active
                && (cx.cfg.next_step_days..=cx.cfg.next_step_max_days).contains(&age)
                && !cx.active_since(&last.to, last.occurred_at);
            if pending {
                no_next_step(cx, t, last, contacts().map(|c| c.event));
            }
            continue;
        }
        let count = t.contacts.count;
        let (from, to) = (cx.noun(&last.from), cx.noun(&last.to));
        let first = contacts()
            .map(|c| c.occurred_at)
            .min()
            .unwrap_or(last.occurred_at);
        let ends = [("from", Arg::from(from)), ("to", Arg::from(to))];
        let stalled_text = stalled.then(|| {
            bilingual(
                "finding.stalled_outreach.explanation",
                &[
                    ends[0].clone(),
                    ends[1].clone(),
                    ("n", messages::count(count)),
                    ("since", day(first)),
                    ("outcome", label("outcome", last.outcome).into()),
                ],
            )
        });
        let overdue_text = overdue.map(|(due, days)| {
            bilingual(
                "finding.stalled_outreach.overdue.explanation",
                &[
                    ends[0].clone(),
                    ends[1].clone(),
                    ("due", messages::date(due)),
                    ("days", messages::count(days.max(0) as usize)),
                ],
            )
        });
        let explanation = match (stalled_text, overdue_text) {
            (Some(a), Some(b)) => then(a, b),
            (Some(a), None) | (None, Some(a)) => a,
            (None, None) => unreachable!("stalled or overdue"),
        };
        let severity = match (stalled, overdue.is_some()) {
            (true, true) => Severity::High,
            (true, false) => Severity::Medium,
            (false, _) if overdue.is_some_and(|(_, d)| d > 365) => Severity::Low,
            (false, _) if last.outcome.is_positive() => Severity::Medium,
            _ => Severity::Low,
        };
        let target = last.to.as_str();
        let target_kind = p.stakeholders.get(target).map(|s| s.kind);
        let declines = contacts()
            .filter(|c| c.to == last.to && c.outcome == Outcome::Declined)
            .count();
        let warm = overdue.is_some_and(|(_, days)| days <= cx.cfg.warm_days);
        let suggestion = if declines > 0 && last.outcome == Outcome::Declined {
            another_provider(cx, target, target_kind, declines)
        } else if stalled {
            bilingual("finding.stalled_outreach.suggestion", &ends)
        } else if warm {
            bilingual("finding.stalled_outreach.overdue.suggestion", &ends)
        } else {
            bilingual("finding.stalled_outreach.cold.suggestion", &ends)
        };
        let subjects = vec![net.nodes[t.a].clone(), net.nodes[t.b].clone()];
        let f = cx.push(
            FindingKind::StalledOutreach,
            severity,
            subjects,
            explanation,
            contacts().map(|c| c.event),
            suggestion,
        );
        f.focus = vec![target.to_owned()];
        f.sectors = target_kind.into_iter().collect();
    }
}

/// After a refusal: the other stakeholders of the same sector the network
/// knows, to turn to instead.
pub(super) fn another_provider(
    cx: &Ctx,
    refused: &str,
    kind: Option<StakeholderKind>,
    declines: usize,
) -> Bilingual {
    let others: Vec<Noun> = kind
        .map(|k| {
            cx.p.active_stakeholders()
                .filter(|s| s.kind == k && s.id != refused)
                .take(3)
                .map(noun_of)
                .collect()
        })
        .unwrap_or_default();
    let name = cx.noun(refused);
    let sector = kind.map_or_else(
        || bilingual("finding.another_provider.any", &[]),
        kind_label,
    );
    let args = [
        ("name", Arg::from(name)),
        ("n", messages::count(declines)),
        ("sector", sector.into()),
        ("names", or(&others)),
    ];
    if others.is_empty() {
        bilingual("finding.another_provider.none.suggestion", &args)
    } else {
        bilingual("finding.another_provider.suggestion", &args)
    }
}

/// A positive or pending contact after which nothing was planned and
/// nothing happened.
fn no_next_step(cx: &mut Ctx, t: &Tie, last: &Contact, evidence: impl Iterator<Item = Uuid>) {
    let (from, to) = (cx.noun(&last.from), cx.noun(&last.to));
    let days = (cx.net.as_of - last.occurred_at).num_days();
    let severity = if last.outcome.is_positive() {
        Severity::Medium
    } else {
        Severity::Low
    };
    let ends = [("from", Arg::from(from)), ("to", Arg::from(to))];
    let target_kind = cx.p.stakeholders.get(&last.to).map(|s| s.kind);
    let subjects = vec![cx.net.nodes[t.a].clone(), cx.net.nodes[t.b].clone()];
    let f = cx.push(
        FindingKind::MissingNextStep,
        severity,
        subjects,
        bilingual(
            "finding.missing_next_step.explanation",
            &[
                ends[0].clone(),
                ends[1].clone(),
                ("outcome", label("outcome", last.outcome).into()),
                ("date", day(last.occurred_at)),
                ("days", messages::count(days.max(0) as usize)),
            ],
        ),
        evidence,
        bilingual("finding.missing_next_step.suggestion", &ends),
    );
    f.focus = vec![last.to.clone()];
    f.sectors = target_kind.into_iter().collect();
}

pub(super) fn dormant_ties(cx: &mut Ctx) {
    let (net, ratio) = (cx.net, cx.cfg.dormant_ratio);
    let dormant: Vec<&Tie> = net
        .present_ties()
        .filter(|t| {
            t.partnership
                .as_ref()
                .is_some_and(|x| x.ended_at.is_none() && can_go_dormant(x.kind))
                && t.strength < ratio * t.base
        })
        .collect();
    // A stakeholder with several quiet partnerships is one problem: its
    // partnerships need a review. Each dormant tie goes to the end with
    // more of them.
    let mut count = vec![0usize; net.nodes.len()];
    for t in &dormant {
        count[t.a] += 1;
        count[t.b] += 1;
    }
    let mut by_hub: BTreeMap<usize, Vec<&Tie>> = BTreeMap::new();
    for t in dormant {
        let hub = if count[t.b] > count[t.a] { t.b } else { t.a };
        by_hub.entry(hub).or_default().push(t);
    }
    for (hub, ties) in by_hub {
        if count[hub] >= 2 && ties.len() >= 2 {
            dormant_hub(cx, hub, &ties);
        } else {
            for t in ties {
                dormant_tie(cx, t);
            }
        }
    }
}

/// The end of `t` other than `i`.
fn other_end(t: &Tie, i: usize) -> usize {
    if t.a == i {
        t.b
    } else {
        t.a
    }
}

/// The ends of `ties` (other than `hub`) whose only tie it is.
fn leaves(cx: &Ctx, hub: Option<usize>, ties: &[&Tie]) -> Vec<String> {
    ties.iter()
        .flat_map(|t| [t.a, t.b])
        .filter(|&i| Some(i) != hub && cx.net.topology.neighbours(i).len() == 1)
        .map(|i| cx.net.nodes[i].clone())
        .collect()
}

fn dormant_tie(cx: &mut Ctx, t: &Tie) {
    let x = t.partnership.as_ref().expect("filtered on partnership");
    let (a, b) = (Arg::from(cx.node_noun(t.a)), Arg::from(cx.node_noun(t.b)));
    let days = (cx.net.as_of - t.last_interaction).num_days();
    let last = day(t.last_interaction);
    let s = t.strength;
    let focus = leaves(cx, None, &[t]);
    let f = cx.push(
        FindingKind::DormantTie,
        Severity::Medium,
        vec![x.id.clone()],
        bilingual(
            "finding.dormant_tie.explanation",
            &[
                ("a", a.clone()),
                ("b", b.clone()),
                ("last", last),
                ("days", messages::count(days.max(0) as usize)),
                ("strength", messages::decimal(s, 2)),
            ],
        ),
        t.evidence.iter().copied(),
        bilingual(
            "finding.dormant_tie.suggestion",
            &[("a", a.clone()), ("b", b)],
        ),
    );
    f.focus = focus;
    f.themes = x.themes.clone();
}

fn dormant_hub(cx: &mut Ctx, hub: usize, ties: &[&Tie]) {
    let name = Arg::from(cx.node_noun(hub));
    let mut ties = ties.to_vec();
    ties.sort_by_key(|t| t.last_interaction);
    let partners: Vec<Bilingual> = ties
        .iter()
        .map(|t| {
            let other = cx.node_noun(other_end(t, hub));
            bilingual(
                "finding.dormant_tie.hub.item",
                &[("name", other.into()), ("last", day(t.last_interaction))],
            )
        })
        .collect();
    let list = joined(&partners, "list.and");
    let mut subjects = vec![cx.net.nodes[hub].clone()];
    subjects.extend(
        ties.iter()
            .filter_map(|t| t.partnership.as_ref().map(|x| x.id.clone())),
    );
    let focus = leaves(cx, Some(hub), &ties);
    let themes: Vec<String> = ties
        .iter()
        .filter_map(|t| t.partnership.as_ref())
        .flat_map(|x| x.themes.iter().cloned())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let evidence: Vec<Uuid> = ties
        .iter()
        .flat_map(|t| t.evidence.iter().copied())
        .collect();
    let n = ties.len();
    let f = cx.push(
        FindingKind::DormantTie,
        Severity::Medium,
        subjects,
        bilingual(
            "finding.dormant_tie.hub.explanation",
            &[
                ("name", name.clone()),
                ("n", messages::count(n)),
                ("partners", list.into()),
            ],
        ),
        evidence,
        bilingual(
            "finding.dormant_tie.hub.suggestion",
            &[("name", name.clone())],
        ),
    );
    f.focus = focus;
    f.themes = themes;
    f.reach = n + 1;
}
