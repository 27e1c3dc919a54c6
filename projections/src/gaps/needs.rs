//! Uncovered needs: a declared need nobody has committed to.

use super::*;

/// Per node, whether it is party to an active partnership with a present tie.
pub(super) fn active_partners(net: &Network) -> Vec<bool> {
    let mut partner = vec![false; net.nodes.len()];
    for t in net.present_ties() {
        if t.partnership.as_ref().is_some_and(|x| x.ended_at.is_none()) {
            partner[t.a] = true;
            partner[t.b] = true;
        }
    }
    partner
}

/// A contact with the node index of each end (`None` for a stakeholder
/// outside the network).
pub(super) type LooseContact<'a> = (&'a Contact, [Option<usize>; 2]);

pub(super) fn uncovered_needs(cx: &mut Ctx) {
    let partners = active_partners(cx.net);
    let needs: Vec<_> =
        cx.p.needs
            .values()
            .filter(|n| n.status == NeedStatus::Open)
            .collect();
    // Active stakeholders come in id order: the node order.
    let active: Vec<&Stakeholder> = cx.p.active_stakeholders().collect();
    // The contacts that are not part of a tie (with an archived stakeholder,
    // say), with the node index of each end; found once if some need is
    // uncovered.
    let mut loose: Option<Vec<LooseContact>> = None;
    for n in needs {
        let covered = (0..active.len()).any(|i| partners[i] && active[i].themes.contains(&n.theme));
        if covered {
            continue;
        }
        let candidate: Vec<bool> = active.iter().map(|s| s.themes.contains(&n.theme)).collect();
        let candidates: Vec<&str> = (0..active.len())
            .filter(|&i| candidate[i])
            .map(|i| active[i].id.as_str())
            .collect();
        let (p, net) = (cx.p, cx.net);
        let loose = loose.get_or_insert_with(|| {
            let mut tied = vec![false; p.contacts.len()];
            for k in 0..net.ties.len() {
                for n in net.contacts_of(k) {
                    tied[n] = true;
                }
            }
            p.contacts
                .iter()
                .zip(tied)
                .filter(|(_, tied)| !tied)
                .map(|(c, _)| (c, [net.index_of(&c.from), net.index_of(&c.to)]))
                .collect()
        });
        let mut tried: Vec<&Contact> = Vec::new();
        for (k, t) in net.ties.iter().enumerate() {
            if candidate[t.a] || candidate[t.b] {
                tried.extend(net.contacts_of(k).map(|n| &p.contacts[n]));
            }
        }
        tried.extend(
            loose
                .iter()
                .filter(|(_, ends)| ends.iter().flatten().any(|&i| candidate[i]))
                .map(|(c, _)| *c),
        );
        let severity = match n.priority {
            Some(Priority::High) => Severity::High,
            Some(Priority::Low) => Severity::Low,
            _ => Severity::Medium,
        };
        let theme = theme_words(&n.theme);
        let what = n
            .description
            .as_deref()
            .unwrap_or(&theme)
            .trim_end_matches('.')
            .to_owned();
        let cand_names = cx.names(&candidates.iter().map(|s| s.to_string()).collect::<Vec<_>>());
        let mut explanation = bilingual(
            "finding.uncovered_need.explanation",
            &[
                ("action", n.action.as_str().into()),
                ("what", what.into()),
                ("theme", (&theme).into()),
            ],
        );
        if !tried.is_empty() {
            let best = tried
                .iter()
                .map(|c| c.outcome)
                .max()
                .unwrap_or(Outcome::NoResponse);
            let more = bilingual(
                "finding.uncovered_need.tried",
                &[
                    ("n", tried.len().to_string().into()),
                    ("names", and(&cand_names)),
                    ("outcome", label("outcome", best).into()),
                ],
            );
            explanation = then(explanation, more);
        }
        let suggestion = if cand_names.is_empty() {
            bilingual(
                "finding.uncovered_need.nobody.suggestion",
                &[("theme", (&theme).into())],
            )
        } else {
            bilingual(
                "finding.uncovered_need.suggestion",
                &[("names", or(&cand_names)), ("theme", (&theme).into())],
            )
        };
        let evidence: Vec<Uuid> = n
            .events
            .iter()
            .copied()
            .chain(tried.iter().map(|c| c.event))
            .collect();
        cx.push(
            FindingKind::UncoveredNeed,
            severity,
            vec![n.id.clone()],
            explanation,
            evidence,
            suggestion,
        );
    }
}
