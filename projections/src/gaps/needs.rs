//! Uncovered needs: a declared need nobody has committed to.

use super::*;

/// Whether a partnership of this kind delivers a service (and so commits
/// its partners to the needs on its themes): referral, co-delivery,
/// funding and formal agreements do; informal, information-sharing and
/// institutional links do not.
pub fn delivers(kind: PartnershipKind) -> bool {
    matches!(
        kind,
        PartnershipKind::Referral
            | PartnershipKind::CoDelivery
            | PartnershipKind::Funding
            | PartnershipKind::FormalAgreement
    )
}

/// The sector that provides a theme's service, where one does.
pub fn sector_of(theme: &str) -> Option<StakeholderKind> {
    Some(match theme {
        "interpreting" => StakeholderKind::Interpreting,
        "childcare" => StakeholderKind::Childcare,
        "rights" => StakeholderKind::LegalAid,
        "health" => StakeholderKind::Health,
        "employment" => StakeholderKind::Employer,
        "language" | "education" => StakeholderKind::Education,
        "funding" => StakeholderKind::Funder,
        _ => return None,
    })
}

/// Whether a partnership limited to `partnership_groups` (none: everyone)
/// serves everyone a need for `need_groups` (none: the action's whole
/// public) is for.
pub fn serves(partnership_groups: &[String], need_groups: &[String]) -> bool {
    partnership_groups.is_empty()
        || (!need_groups.is_empty() && need_groups.iter().all(|g| partnership_groups.contains(g)))
}

/// The stakeholders committed to need `n`: the active stakeholders that
/// took it on, and the partners of an active partnership of a delivering
/// kind on its theme that serves its groups. A theme tag alone commits
/// nobody.
pub fn committed<'p>(p: &'p Programme, n: &Need) -> Vec<&'p str> {
    Commitments::new(p).of(n)
}

/// The active partnerships of a delivering kind between active
/// stakeholders, by theme: what [`committed`] looks needs up in, made once
/// per report.
struct Commitments<'p> {
    p: &'p Programme,
    by_theme: FxHashMap<&'p str, Vec<&'p Partnership>>,
}

impl<'p> Commitments<'p> {
    fn new(p: &'p Programme) -> Self {
        let active = |id: &str| p.stakeholders.get(id).is_some_and(|s| !s.archived);
        let mut by_theme: FxHashMap<&str, Vec<&Partnership>> = FxHashMap::default();
        for x in p.partnerships.values() {
            if x.ended_at.is_none() && delivers(x.kind) && x.between.iter().all(|s| active(s)) {
                for t in &x.themes {
                    by_theme.entry(t.as_str()).or_default().push(x);
                }
            }
        }
        Self { p, by_theme }
    }

    /// The stakeholders committed to `n`, with repeats, in no set order;
    /// made as they are asked for.
    fn each<'n>(&'n self, n: &'n Need) -> impl Iterator<Item = &'p str> + 'n {
        let p = self.p;
        let took_it_on = n
            .addressed_by
            .iter()
            .filter_map(move |s| p.stakeholders.get_key_value(s.as_str()))
            .filter(|(_, s)| !s.archived)
            .map(|(k, _)| k.as_str());
        let partners = self
            .by_theme
            .get(n.theme.as_str())
            .into_iter()
            .flatten()
            .filter(|x| serves(&x.groups, &n.groups))
            .flat_map(|x| x.between.iter().map(String::as_str));
        took_it_on.chain(partners)
    }

    /// Whether anyone is committed to `n`, without listing them: a need on
    /// a common theme has thousands of committed partners in a region's
    /// programme.
    fn any(&self, n: &Need) -> bool {
        self.each(n).next().is_some()
    }

    fn of(&self, n: &Need) -> Vec<&'p str> {
        let mut out: Vec<&str> = self.each(n).collect();
        out.sort_unstable();
        out.dedup();
        out
    }
}

/// A contact with the node index of each end (`None` for a stakeholder
/// outside the network).
pub(super) type LooseContact<'a> = (&'a Contact, [Option<usize>; 2]);

pub(super) fn uncovered_needs(cx: &mut Ctx) {
    let needs: Vec<_> =
        cx.p.needs
            .values()
            .filter(|n| n.status != NeedStatus::Withdrawn)
            .collect();
    let commitments = Commitments::new(cx.p);
    // Active stakeholders come in id order: the node order.
    let active: Vec<&Stakeholder> = cx.p.active_stakeholders().collect();
    // The contacts that are not part of a tie (with an archived stakeholder,
    // say), with the node index of each end; found once if some need is
    // uncovered.
    let mut loose: Option<Vec<LooseContact>> = None;
    for n in needs {
        if commitments.any(n) {
            continue;
        }
        let sector = sector_of(&n.theme);
        let candidate: Vec<bool> = active
            .iter()
            .map(|s| s.themes.contains(&n.theme) || Some(s.kind) == sector)
            .collect();
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
        // The candidates whose latest answer was a refusal.
        let mut latest: BTreeMap<&str, &Contact> = BTreeMap::new();
        for c in &tried {
            let e = latest.entry(c.to.as_str()).or_insert(c);
            if (c.occurred_at, c.event) > (e.occurred_at, e.event) {
                *e = c;
            }
        }
        let is_candidate: FxHashSet<&str> = candidates.iter().copied().collect();
        let refused: BTreeSet<&str> = latest
            .iter()
            .filter(|(to, c)| c.outcome == Outcome::Declined && is_candidate.contains(*to))
            .map(|(to, _)| *to)
            .collect();
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
        let what: Arg = match n.description.as_deref() {
            Some(d) => d.trim_end_matches('.').into(),
            None => theme.clone(),
        };
        // At most three names in a suggestion: those already contacted first.
        const NAMED: usize = 3;
        let in_touch: FxHashSet<&str> = tried
            .iter()
            .flat_map(|c| [c.to.as_str(), c.from.as_str()])
            .collect();
        let contacted: Vec<String> = candidates
            .iter()
            .filter(|s| in_touch.contains(*s))
            .map(|s| s.to_string())
            .collect();
        let mut open: Vec<String> = contacted
            .iter()
            .filter(|s| !refused.contains(s.as_str()))
            .cloned()
            .collect();
        open.extend(
            candidates
                .iter()
                .filter(|s| !in_touch.contains(*s) && !refused.contains(*s))
                .map(|s| s.to_string()),
        );
        open.truncate(NAMED);
        let refused_ids: Vec<String> = refused.iter().take(NAMED).map(|s| s.to_string()).collect();
        let open_names = cx.nouns(&open);
        let refused_names = cx.nouns(&refused_ids);
        let mut explanation = bilingual(
            "finding.uncovered_need.explanation",
            &[
                ("action", n.action.as_str().into()),
                ("what", what),
                ("theme", theme.clone()),
            ],
        );
        if !tried.is_empty() {
            let best = tried
                .iter()
                .map(|c| c.outcome)
                .max()
                .unwrap_or(Outcome::NoResponse);
            // At most three names, the latest contacted first.
            let more = if contacted.len() > NAMED {
                let mut recent: Vec<&Contact> = tried.clone();
                recent.sort_by_key(|c| std::cmp::Reverse((c.occurred_at, c.event)));
                let mut named: Vec<String> = Vec::new();
                for c in recent {
                    if named.len() == NAMED {
                        break;
                    }
                    if is_candidate.contains(c.to.as_str()) && !named.contains(&c.to) {
                        named.push(c.to.clone());
                    }
                }
                bilingual(
                    "finding.uncovered_need.tried.many",
                    &[
                        ("n", messages::count(tried.len())),
                        ("count", messages::count(contacted.len())),
                        ("names", and(&cx.nouns(&named))),
                        ("outcome", label("outcome", best).into()),
                    ],
                )
            } else {
                bilingual(
                    "finding.uncovered_need.tried",
                    &[
                        ("n", messages::count(tried.len())),
                        ("names", and(&cx.nouns(&contacted))),
                        ("outcome", label("outcome", best).into()),
                    ],
                )
            };
            explanation = then(explanation, more);
        }
        let suggestion = match (open_names.is_empty(), refused_names.is_empty()) {
            (true, true) => bilingual(
                "finding.uncovered_need.nobody.suggestion",
                &[("theme", theme.clone())],
            ),
            (true, false) => bilingual(
                "finding.uncovered_need.refused.suggestion",
                &[("refused", and(&refused_names)), ("theme", theme.clone())],
            ),
            (false, true) => bilingual(
                "finding.uncovered_need.suggestion",
                &[("names", or(&open_names)), ("theme", theme.clone())],
            ),
            (false, false) => bilingual(
                "finding.uncovered_need.instead.suggestion",
                &[
                    ("refused", and(&refused_names)),
                    ("names", or(&open_names)),
                    ("theme", theme.clone()),
                ],
            ),
        };
        // The providers tried and still outside the network are what the
        // problem is centred on: their stalled outreach and isolation are
        // told here.
        let tried_ids: BTreeSet<String> = tried
            .iter()
            .map(|c| &c.to)
            .filter(|s| is_candidate.contains(s.as_str()))
            .filter(|s| {
                net.index_of(s)
                    .is_none_or(|i| net.topology.neighbours(i).len() <= 1)
            })
            .cloned()
            .collect();
        let evidence: Vec<Uuid> = n
            .events
            .iter()
            .copied()
            .chain(tried.iter().map(|c| c.event))
            .collect();
        let f = cx.push(
            FindingKind::UncoveredNeed,
            severity,
            vec![n.id.clone()],
            explanation,
            evidence,
            suggestion,
        );
        f.focus = tried_ids.into_iter().collect();
        f.themes = vec![n.theme.clone()];
        f.sectors = sector.into_iter().collect();
    }
}
