//! One tie at a time: isolated stakeholders, stalled outreach, dormant ties.

use super::*;

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
        let name = cx.node_names[i];
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
            cx.push(
                FindingKind::IsolatedStakeholder,
                severity,
                vec![id.clone()],
                bilingual(
                    "finding.isolated_stakeholder.explanation",
                    &[("name", name.into())],
                ),
                reg.into_iter().chain(contacts),
                bilingual(
                    "finding.isolated_stakeholder.suggestion",
                    &[("name", name.into())],
                ),
            );
        } else if degree == 1 {
            let (other, tie) = cx.net.neighbours(&id)[0];
            if tie.strength < cx.cfg.weak_strength {
                let other = cx.name(other);
                let s = tie.strength;
                let ev = tie.evidence.clone();
                cx.push(
                    FindingKind::IsolatedStakeholder,
                    Severity::Low,
                    vec![id.clone()],
                    bilingual(
                        "finding.isolated_stakeholder.weak.explanation",
                        &[
                            ("name", name.into()),
                            ("other", (&other).into()),
                            ("strength", format!("{s:.2}").into()),
                        ],
                    ),
                    reg.into_iter().chain(ev),
                    bilingual(
                        "finding.isolated_stakeholder.weak.suggestion",
                        &[("name", name.into()), ("other", (&other).into())],
                    ),
                );
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
        let overdue = last
            .follow_up_due
            .filter(|due| *due < today)
            .map(|due| (due, (today - due).num_days()));
        if !stalled && overdue.is_none() {
            continue;
        }
        let count = t.contacts.count;
        let (from, to) = (cx.end_name(t, &last.from), cx.end_name(t, &last.to));
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
                    ("n", count.to_string().into()),
                    ("since", first.date_naive().to_string().into()),
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
                    ("due", due.to_string().into()),
                    ("days", days.to_string().into()),
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
            (false, _) if last.outcome.is_positive() => Severity::Medium,
            _ => Severity::Low,
        };
        let suggestion = if stalled {
            bilingual("finding.stalled_outreach.suggestion", &ends)
        } else {
            bilingual("finding.stalled_outreach.overdue.suggestion", &ends)
        };
        let subjects = vec![net.nodes[t.a].clone(), net.nodes[t.b].clone()];
        cx.push(
            FindingKind::StalledOutreach,
            severity,
            subjects,
            explanation,
            contacts().map(|c| c.event),
            suggestion,
        );
    }
}

pub(super) fn dormant_ties(cx: &mut Ctx) {
    let (net, threshold) = (cx.net, cx.cfg.dormant_strength);
    let dormant = net.present_ties().filter(|t| {
        t.partnership.as_ref().is_some_and(|x| x.ended_at.is_none()) && t.strength < threshold
    });
    for t in dormant {
        let x = t.partnership.as_ref().expect("filtered on partnership");
        let (a, b) = (cx.node_names[t.a], cx.node_names[t.b]);
        let days = (cx.net.as_of - t.last_interaction).num_days();
        let last = day(t.last_interaction);
        let s = t.strength;
        cx.push(
            FindingKind::DormantTie,
            Severity::Medium,
            vec![x.id.clone()],
            bilingual(
                "finding.dormant_tie.explanation",
                &[
                    ("a", a.into()),
                    ("b", b.into()),
                    ("last", last.into()),
                    ("days", days.to_string().into()),
                    ("strength", format!("{s:.2}").into()),
                ],
            ),
            t.evidence.iter().copied(),
            bilingual(
                "finding.dormant_tie.suggestion",
                &[("a", a.into()), ("b", b.into())],
            ),
        );
    }
}
