//! How beneficiaries take part: empty sessions, themes never co-created,
//! levels stuck low, shares of women and of returning participants.

use super::*;

pub(super) fn participation(cx: &mut Ctx) {
    let mut sessions: Vec<_> = cx.p.sessions.values().collect();
    sessions.sort_by(|a, b| (a.occurred_at, &a.id).cmp(&(b.occurred_at, &b.id)));
    for s in &sessions {
        if s.beneficiaries.total == 0 {
            let title = s.title.clone();
            let date = day(s.occurred_at);
            cx.push(
                FindingKind::Participation,
                Severity::Medium,
                vec![s.id.clone()],
                bilingual(
                    "finding.participation.empty_session.explanation",
                    &[("title", title.into()), ("date", date.into())],
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
    for (theme, evidence) in plan {
        if co_created.contains(theme) {
            continue;
        }
        let words = theme_words(theme);
        cx.push(
            FindingKind::Participation,
            Severity::Low,
            vec![format!("theme:{theme}")],
            bilingual(
                "finding.participation.theme.explanation",
                &[("theme", (&words).into())],
            ),
            evidence,
            bilingual(
                "finding.participation.theme.suggestion",
                &[("theme", (&words).into())],
            ),
        );
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
                        ("n", k.to_string().into()),
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
            let (pct, target) = (share * 100.0, cx.cfg.target_women_share * 100.0);
            cx.push(
                FindingKind::Participation,
                Severity::Medium,
                vec!["women_share".to_owned()],
                bilingual(
                    "finding.participation.women_share.explanation",
                    &[
                        ("pct", format!("{pct:.0}").into()),
                        ("target", format!("{target:.0}").into()),
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
                let (pct, min) = (share * 100.0, cx.cfg.min_returning_share * 100.0);
                cx.push(
                    FindingKind::Participation,
                    Severity::Low,
                    vec!["returning".to_owned()],
                    bilingual(
                        "finding.participation.returning.explanation",
                        &[
                            ("pct", format!("{pct:.0}").into()),
                            ("min", format!("{min:.0}").into()),
                        ],
                    ),
                    recent.iter().map(|s| s.event()),
                    bilingual("finding.participation.returning.suggestion", &[]),
                );
            }
        }
    }
}
