//! How beneficiaries take part: empty sessions, themes never co-created,
//! levels stuck low, shares of women and of returning participants.

use super::*;

/// Themes of an action plan that are not co-created with beneficiaries:
/// funding and political support are the city's business, and outreach
/// (aller-vers) is how the people concerned are reached, not a service to
/// design with them.
const NOT_CO_CREATED: [&str; 3] = ["funding", "political_support", "community_outreach"];

pub(super) fn participation(cx: &mut Ctx) {
    let mut sessions: Vec<_> = cx.p.sessions.values().collect();
    sessions.sort_by(|a, b| (a.occurred_at, &a.id).cmp(&(b.occurred_at, &b.id)));
    for s in &sessions {
        // A session that expected beneficiaries (it names their groups or
        // claims to involve them) and had none; a staff briefing is not one.
        let expected = !s.groups.is_empty() || s.level >= Level::Involve;
        if s.beneficiaries.total == 0 && expected {
            let title = s.title.clone();
            let date = day(s.occurred_at);
            cx.push(
                FindingKind::Participation,
                Severity::Medium,
                vec![s.id.clone()],
                bilingual(
                    "finding.participation.empty_session.explanation",
                    &[("title", title.into()), ("date", date)],
                ),
                [s.event()],
                bilingual("finding.participation.empty_session.suggestion", &[]),
            );
        }
    }
    // Themes of the action plan never co-created with beneficiaries.
    let co_created: BTreeSet<&str> = sessions
        .iter()
        .filter(|s| s.beneficiaries.total > 0)
        .flat_map(|s| s.themes.iter().map(String::as_str))
        .collect();
    let plan: BTreeMap<&str, Vec<Uuid>> =
        cx.p.needs
            .values()
            .filter(|n| n.status != NeedStatus::Withdrawn)
            .fold(BTreeMap::new(), |mut m, n| {
                m.entry(n.theme.as_str())
                    .or_insert_with(Vec::new)
                    .extend(&n.events);
                m
            });
    let missing: Vec<(&str, Vec<Uuid>)> = plan
        .into_iter()
        .filter(|(theme, _)| !co_created.contains(theme) && !NOT_CO_CREATED.contains(theme))
        .collect();
    if !missing.is_empty() {
        let slugs: Vec<String> = missing.iter().map(|(t, _)| t.to_string()).collect();
        let words = messages::themes(&slugs, "list.and");
        let evidence: Vec<Uuid> = missing
            .iter()
            .flat_map(|(_, e)| e.iter().copied())
            .collect();
        let f = cx.push(
            FindingKind::Participation,
            Severity::Low,
            vec!["themes".to_owned()],
            bilingual(
                "finding.participation.theme.explanation",
                &[("theme", words.clone())],
            ),
            evidence,
            bilingual(
                "finding.participation.theme.suggestion",
                &[("theme", words)],
            ),
        );
        f.themes = slugs;
    }
    let with_people: Vec<_> = sessions
        .iter()
        .filter(|s| s.beneficiaries.total > 0)
        .collect();
    let k = cx.cfg.stuck_sessions;
    if with_people.len() >= k {
        let last = &with_people[with_people.len() - k..];
        if last.iter().all(|s| s.level <= Level::Consult) {
            cx.push(
                FindingKind::Participation,
                Severity::Medium,
                vec!["levels".to_owned()],
                bilingual(
                    "finding.participation.levels.explanation",
                    &[
                        ("n", messages::count(k)),
                        ("inform", label("level", Level::Inform).into()),
                        ("consult", label("level", Level::Consult).into()),
                    ],
                ),
                last.iter().map(|s| s.event()),
                bilingual(
                    "finding.participation.levels.suggestion",
                    &[
                        ("involve", label("level", Level::Involve).into()),
                        ("collaborate", label("level", Level::Collaborate).into()),
                    ],
                ),
            );
        }
    }
}

/// The findings on shares of beneficiaries over the window before the as-of
/// time (women's share, returning share), summed over the sessions
/// `audience` sees the counts of: every session, or the public ones.
pub(super) fn shares(cx: &mut Ctx, audience: Audience) {
    group_shares(cx, audience);
    group_returning(cx, audience);
    let as_of = cx.net.as_of;
    let window_start = as_of - chrono::Duration::days(cx.cfg.participation_window_days);
    let recent: Vec<&Session> =
        cx.p.sessions
            .values()
            .filter(|s| s.beneficiaries.total > 0)
            .filter(|s| audience == Audience::Full || s.is_public())
            .filter(|s| s.occurred_at > window_start && s.occurred_at <= as_of)
            .collect();
    let total: u64 = recent
        .iter()
        .map(|s| u64::from(s.beneficiaries.total))
        .sum();
    if total > 0 {
        let women: u64 = recent
            .iter()
            .map(|s| u64::from(s.beneficiaries.women))
            .sum();
        let share = women as f64 / total as f64;
        if share < cx.cfg.target_women_share {
            let (pct, target) = (share, cx.cfg.target_women_share);
            cx.push(
                FindingKind::Participation,
                Severity::Medium,
                vec!["women_share".to_owned()],
                bilingual(
                    "finding.participation.women_share.explanation",
                    &[
                        ("pct", messages::percent(pct)),
                        ("target", messages::percent(target)),
                    ],
                ),
                recent.iter().map(|s| s.event()),
                bilingual("finding.participation.women_share.suggestion", &[]),
            );
        }
        let first: u64 = recent
            .iter()
            .map(|s| u64::from(s.beneficiaries.first_time))
            .sum();
        let returning: u64 = recent
            .iter()
            .map(|s| u64::from(s.beneficiaries.returning))
            .sum();
        if first + returning > 0 {
            let share = returning as f64 / (first + returning) as f64;
            if share < cx.cfg.min_returning_share {
                let (pct, min) = (share, cx.cfg.min_returning_share);
                cx.push(
                    FindingKind::Participation,
                    Severity::Low,
                    vec!["returning".to_owned()],
                    bilingual(
                        "finding.participation.returning.explanation",
                        &[
                            ("pct", messages::percent(pct)),
                            ("min", messages::percent(min)),
                        ],
                    ),
                    recent.iter().map(|s| s.event()),
                    bilingual("finding.participation.returning.suggestion", &[]),
                );
            }
        }
    }
}

/// The sessions with beneficiaries held by the as-of time whose counts
/// `audience` sees: every one, or the public ones.
fn sessions_so_far<'a>(cx: &Ctx<'a>, audience: Audience) -> Vec<&'a Session> {
    let as_of = cx.net.as_of;
    cx.p.sessions
        .values()
        .filter(|s| s.beneficiaries.total > 0 && s.occurred_at <= as_of)
        .filter(|s| audience == Audience::Full || s.is_public())
        .collect()
}

/// The sessions naming each group, in the order of `sessions`, each once:
/// one pass over the sessions instead of one per group.
fn by_group<'a>(sessions: &[&'a Session]) -> FxHashMap<&'a str, Vec<&'a Session>> {
    let mut naming: FxHashMap<&str, Vec<&Session>> = FxHashMap::default();
    for &s in sessions {
        for g in &s.groups {
            let theirs = naming.entry(g.as_str()).or_default();
            if !theirs.last().is_some_and(|last| std::ptr::eq(*last, s)) {
                theirs.push(s);
            }
        }
    }
    naming
}

/// The programme's active beneficiary groups.
fn beneficiary_groups<'a>(cx: &Ctx<'a>) -> Vec<&'a Stakeholder> {
    cx.p.active_stakeholders()
        .filter(|s| s.kind == StakeholderKind::BeneficiaryGroup)
        .collect()
}

/// Per beneficiary group, the share of women and girls in its sessions
/// (those naming it) when it is below target while the overall share is
/// not: a group the overall figure hides. Every session so far counts, each
/// given in order, so a trend shows; mentors and viewers get it over the
/// public sessions only, like the other shares.
fn group_shares(cx: &mut Ctx, audience: Audience) {
    let recent = sessions_so_far(cx, audience);
    let total: u64 = recent
        .iter()
        .map(|s| u64::from(s.beneficiaries.total))
        .sum();
    let women: u64 = recent
        .iter()
        .map(|s| u64::from(s.beneficiaries.women))
        .sum();
    let target = cx.cfg.target_women_share;
    if total == 0 || (women as f64 / total as f64) < target {
        return;
    }
    let overall = women as f64 / total as f64;
    let mut naming = by_group(&recent);
    for g in beneficiary_groups(cx) {
        let mut theirs = naming.remove(g.id.as_str()).unwrap_or_default();
        theirs.sort_by(|a, b| (a.occurred_at, &a.id).cmp(&(b.occurred_at, &b.id)));
        let total: u64 = theirs
            .iter()
            .map(|s| u64::from(s.beneficiaries.total))
            .sum();
        let women: u64 = theirs
            .iter()
            .map(|s| u64::from(s.beneficiaries.women))
            .sum();
        if total == 0 || women as f64 / total as f64 >= target {
            continue;
        }
        let steps: Vec<Bilingual> = theirs
            .iter()
            .map(|s| {
                bilingual(
                    "finding.participation.group_share.step",
                    &[
                        ("women", messages::count(s.beneficiaries.women as usize)),
                        ("total", messages::count(s.beneficiaries.total as usize)),
                        ("date", day(s.occurred_at)),
                    ],
                )
            })
            .collect();
        let series = joined(&steps, "list.then");
        let pct = women as f64 / total as f64;
        let f = cx.push(
            FindingKind::Participation,
            Severity::Medium,
            vec!["women_share".to_owned(), g.id.clone()],
            bilingual(
                "finding.participation.group_share.explanation",
                &[
                    ("group", noun_of(g).into()),
                    ("series", series.into()),
                    ("pct", messages::percent(pct)),
                    ("target", messages::percent(target)),
                    ("overall", messages::percent(overall)),
                ],
            ),
            theirs.iter().map(|s| s.event()),
            bilingual(
                "finding.participation.group_share.suggestion",
                &[("group", noun_of(g).into())],
            ),
        );
        f.reach = 1;
    }
}

/// Per beneficiary group with at least three sessions so far, the share of
/// returning participants when it is below the minimum while the overall
/// share is not: a group whose people do not come back, hidden in the
/// overall figure. Mentors and viewers: public sessions only.
fn group_returning(cx: &mut Ctx, audience: Audience) {
    let sessions = sessions_so_far(cx, audience);
    let share = |of: &[&Session]| {
        let first: u64 = of
            .iter()
            .map(|s| u64::from(s.beneficiaries.first_time))
            .sum();
        let back: u64 = of
            .iter()
            .map(|s| u64::from(s.beneficiaries.returning))
            .sum();
        (first + back > 0).then(|| back as f64 / (first + back) as f64)
    };
    let min = cx.cfg.min_returning_share;
    let Some(overall) = share(&sessions).filter(|s| *s >= min) else {
        return;
    };
    let mut naming = by_group(&sessions);
    for g in beneficiary_groups(cx) {
        let theirs = naming.remove(g.id.as_str()).unwrap_or_default();
        if theirs.len() < 3 {
            continue;
        }
        let Some(mine) = share(&theirs).filter(|s| *s < min) else {
            continue;
        };
        let f = cx.push(
            FindingKind::Participation,
            Severity::Low,
            vec!["returning".to_owned(), g.id.clone()],
            bilingual(
                "finding.participation.group_returning.explanation",
                &[
                    ("group", noun_of(g).into()),
                    ("n", messages::count(theirs.len())),
                    ("pct", messages::percent(mine)),
                    ("min", messages::percent(min)),
                    ("overall", messages::percent(overall)),
                ],
            ),
            theirs.iter().map(|s| s.event()),
            bilingual(
                "finding.participation.group_returning.suggestion",
                &[("group", noun_of(g).into())],
            ),
        );
        f.reach = 1;
    }
}

/// One stakeholder facilitating a large share of the sessions with
/// beneficiaries: a burn-out and safeguarding risk, worst for volunteers
/// and community champions. Its one-to-one links with beneficiary groups
/// are told with it.
pub(super) fn workload(cx: &mut Ctx) {
    let as_of = cx.net.as_of;
    let sessions: Vec<&Session> =
        cx.p.sessions
            .values()
            .filter(|s| s.occurred_at <= as_of)
            .collect();
    if sessions.len() < cx.cfg.workload_sessions {
        return;
    }
    let mut led: BTreeMap<&str, Vec<&Session>> = BTreeMap::new();
    for s in &sessions {
        for f in &s.facilitators {
            led.entry(f.as_str()).or_default().push(s);
        }
    }
    let groups: Vec<usize> = (0..cx.net.nodes.len())
        .filter(|&i| cx.kind(i) == StakeholderKind::BeneficiaryGroup)
        .collect();
    for (id, theirs) in led {
        let share = theirs.len() as f64 / sessions.len() as f64;
        if share < cx.cfg.workload_share || theirs.len() < 2 {
            continue;
        }
        let Some(st) = cx.p.stakeholders.get(id) else {
            continue;
        };
        let volunteer = matches!(
            st.kind,
            StakeholderKind::CommunityChampion | StakeholderKind::VolunteerGroup
        );
        let name = Arg::from(noun_of(st));
        let mut explanation = bilingual(
            "finding.workload_concentration.explanation",
            &[
                ("name", name.clone()),
                ("n", messages::count(theirs.len())),
                ("total", messages::count(sessions.len())),
            ],
        );
        // Beneficiary groups whose ties to services all go through it.
        if let Some(i) = cx.net.index_of(id) {
            let through: Vec<Noun> = groups
                .iter()
                .filter(|&&g| {
                    let nb = cx.net.topology.neighbours(g);
                    !nb.is_empty()
                        && nb.iter().all(|&x| x == i || !is_service(cx.kind(x)))
                        && nb.contains(&i)
                })
                .map(|&g| cx.node_noun(g))
                .collect();
            if !through.is_empty() {
                explanation = then(
                    explanation,
                    bilingual(
                        "finding.workload_concentration.links",
                        &[("name", name.clone()), ("groups", and(&through))],
                    ),
                );
            }
        }
        let severity = if volunteer {
            Severity::High
        } else {
            Severity::Medium
        };
        let key = if volunteer {
            "finding.workload_concentration.volunteer.suggestion"
        } else {
            "finding.workload_concentration.suggestion"
        };
        let f = cx.push(
            FindingKind::WorkloadConcentration,
            severity,
            vec![id.to_owned()],
            explanation,
            theirs.iter().map(|s| s.event()),
            bilingual(key, &[("name", name)]),
        );
        f.sectors = vec![st.kind];
    }
}
