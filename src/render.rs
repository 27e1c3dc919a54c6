//! Serialisation at the boundary: the read models of `passerelle-projections`
//! as JSON documents and as text for people. The CLI and the API print
//! these; the read models themselves stay plain Rust.

use std::fmt::Write as _;

use chrono::{DateTime, Utc};
use passerelle_projections::diff::Diff;
use passerelle_projections::gaps::{kind_name, Finding, GapReport, Severity};
use passerelle_projections::messages::{self, count, day, text};
use passerelle_projections::metrics::Estimate;
use passerelle_projections::participation::Participation;
use passerelle_projections::views::{Frame, Positions, View};
use serde::Serialize;

use crate::api::body;
use uuid::Uuid;

/// Which language a text is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Lang {
    /// English.
    En,
    /// French.
    Fr,
}

impl From<Lang> for messages::Lang {
    fn from(l: Lang) -> Self {
        match l {
            Lang::En => messages::Lang::En,
            Lang::Fr => messages::Lang::Fr,
        }
    }
}

/// A time as every answer writes it: RFC 3339, whole seconds, UTC.
pub fn time(t: chrono::DateTime<chrono::Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// The outreach contacts of a tie, as answered.
pub fn contact_summary(
    c: &passerelle_projections::network::ContactSummary,
) -> body::ContactSummary {
    body::ContactSummary {
        count: c.count,
        positive: c.positive,
        last: c.last.map(time),
        best_outcome: c.best,
    }
}

fn bilingual(b: &passerelle_projections::gaps::Bilingual) -> body::Bilingual {
    body::Bilingual {
        en: b.en.clone(),
        fr: b.fr.clone(),
    }
}

/// A finding with all its evidence, as `gaps_json` gives it.
#[derive(Serialize)]
pub struct ReportFinding {
    id: String,
    kind: &'static str,
    severity: &'static str,
    subjects: Vec<String>,
    explanation: body::Bilingual,
    evidence: Vec<Uuid>,
    suggestion: body::Bilingual,
    merged: Vec<String>,
    themes: Vec<String>,
    introduces: Vec<[String; 2]>,
    notes: Vec<body::Note>,
    practice: Vec<body::Practice>,
}

/// A review note as the API gives it.
pub fn note_json(n: &passerelle_projections::model::Note) -> body::Note {
    body::Note {
        id: n.id.clone(),
        about: n.about.clone(),
        text: n.text.clone(),
        recorded_by: n.recorded_by.clone(),
        occurred_at: time(n.occurred_at),
    }
}

/// The mentor practice beside finding `f`, from the programmes the reader
/// may read only.
fn practice_json(
    r: &GapReport,
    f: &Finding,
    may_read: &impl Fn(&str) -> bool,
) -> Vec<body::Practice> {
    r.practice
        .iter()
        .filter(|x| x.finding == f.id && may_read(&x.programme))
        .map(|x| body::Practice {
            programme: x.programme.clone(),
            text: bilingual(&x.text),
            evidence: x.evidence.clone(),
        })
        .collect()
}

/// The whole gap report, as the CLI prints it.
#[derive(Serialize)]
pub struct Report {
    programme: String,
    as_of: String,
    position: u64,
    findings: Vec<ReportFinding>,
}

/// `{"programme", "as_of", "position", "findings": [...]}`, every finding
/// with all its evidence.
pub fn gaps_json(r: &GapReport) -> Report {
    Report {
        programme: r.programme.clone(),
        as_of: time(r.as_of),
        position: r.position,
        findings: r
            .findings
            .iter()
            .map(|f| ReportFinding {
                id: f.id.clone(),
                kind: f.kind.as_str(),
                severity: f.severity.as_str(),
                subjects: f.subjects.clone(),
                explanation: bilingual(&f.explanation),
                evidence: f.evidence.clone(),
                suggestion: bilingual(&f.suggestion),
                merged: f.merged.clone(),
                themes: f.themes.clone(),
                introduces: f.introduces.clone(),
                notes: f.notes.iter().map(note_json).collect(),
                practice: practice_json(r, f, &|_| true),
            })
            .collect(),
    }
}

/// A page of the gap report: `findings` (a page of the report's), each
/// with its first `shown` evidence ids, `evidence_more` (how many others
/// there are) and `evidence_next` (`evidence_next(finding, last id shown)`,
/// a link to the others; `null` when there is none); `next`, the link to
/// the next page of findings.
#[allow(clippy::too_many_arguments)]
pub fn gaps_page_json(
    r: &GapReport,
    findings: &[&Finding],
    shown: usize,
    evidence_next: impl Fn(&Finding, &Uuid) -> String,
    may_read: impl Fn(&str) -> bool,
    next: Option<String>,
) -> body::GapPage {
    let findings = findings
        .iter()
        .map(|f| {
            let head = &f.evidence[..shown.min(f.evidence.len())];
            body::Finding {
                id: f.id.clone(),
                kind: f.kind.as_str(),
                severity: f.severity.as_str(),
                subjects: f.subjects.clone(),
                explanation: bilingual(&f.explanation),
                evidence: head.to_vec(),
                evidence_more: f.evidence.len() - head.len(),
                evidence_next: match head.last() {
                    Some(last) if head.len() < f.evidence.len() => Some(evidence_next(f, last)),
                    _ => None,
                },
                suggestion: bilingual(&f.suggestion),
                merged: f.merged.clone(),
                themes: f.themes.clone(),
                introduces: f.introduces.clone(),
                notes: f.notes.iter().map(note_json).collect(),
                practice: practice_json(r, f, &may_read),
            }
        })
        .collect();
    body::GapPage {
        programme: r.programme.clone(),
        as_of: time(r.as_of),
        position: r.position,
        counts: gap_counts(r),
        findings,
        next,
    }
}

/// How many findings `r` holds (the whole report, whatever page or filter
/// is shown), by severity and by kind; the kinds in the order of their
/// first finding in the report, which puts the most important group first.
pub fn gap_counts(r: &GapReport) -> body::GapCounts {
    fn add(c: &mut body::SeverityCounts, s: Severity) {
        match s {
            Severity::High => c.high += 1,
            Severity::Medium => c.medium += 1,
            Severity::Low => c.low += 1,
        }
    }
    let mut by_severity = body::SeverityCounts::default();
    let mut by_kind: Vec<body::KindCount> = Vec::new();
    for f in &r.findings {
        add(&mut by_severity, f.severity);
        let kind = f.kind.as_str();
        let i = match by_kind.iter().position(|k| k.kind == kind) {
            Some(i) => i,
            None => {
                by_kind.push(body::KindCount {
                    kind,
                    total: 0,
                    by_severity: body::SeverityCounts::default(),
                });
                by_kind.len() - 1
            }
        };
        by_kind[i].total += 1;
        add(&mut by_kind[i].by_severity, f.severity);
    }
    body::GapCounts {
        total: r.findings.len(),
        by_severity,
        by_kind,
    }
}

/// The gap report as text for a coordinator.
pub fn gaps_text(r: &GapReport, name: &str, lang: Lang) -> String {
    let mut out = String::new();
    let of = |s: Severity| r.findings.iter().filter(|f| f.severity == s).count();
    let (h, m, l) = (of(Severity::High), of(Severity::Medium), of(Severity::Low));
    let ml = messages::Lang::from(lang);
    let _ = writeln!(
        out,
        "{}",
        text(
            "report.title",
            ml,
            &[
                ("name", name.into()),
                ("programme", (&r.programme).into()),
                ("date", day(r.as_of)),
                ("position", r.position.to_string().into()),
            ],
        )
    );
    let _ = writeln!(
        out,
        "{}",
        text(
            "report.counts",
            ml,
            &[
                ("n", count(r.findings.len())),
                ("high", count(h)),
                ("medium", count(m)),
                ("low", count(l)),
            ],
        )
    );
    for f in &r.findings {
        let severity = text(&format!("severity.{}", f.severity.as_str()), ml, &[]);
        let kind = text(&format!("gapkind.{}", f.kind.as_str()), ml, &[]);
        let _ = writeln!(out, "\n[{severity}] {kind} — {}", f.id);
        let _ = writeln!(out, "  {}", f.explanation.get(ml));
        let _ = writeln!(out, "  → {}", f.suggestion.get(ml));
        for x in r.practice.iter().filter(|x| x.finding == f.id) {
            let _ = writeln!(
                out,
                "  {}",
                text("report.practice", ml, &[("text", x.text.get(ml).into())])
            );
        }
        for n in &f.notes {
            let _ = writeln!(
                out,
                "  {}",
                text(
                    "report.note",
                    ml,
                    &[
                        ("by", n.recorded_by.as_str().into()),
                        ("date", messages::day(n.occurred_at)),
                        ("text", n.text.as_str().into()),
                    ],
                )
            );
        }
        if !f.evidence.is_empty() {
            let shown: Vec<String> = f.evidence.iter().take(3).map(|e| e.to_string()).collect();
            let more = f.evidence.len().saturating_sub(3);
            let more = if more > 0 {
                format!(" (+{more})")
            } else {
                String::new()
            };
            let ids = format!("{}{more}", shown.join(", "));
            let _ = writeln!(
                out,
                "  {}",
                text("report.evidence", ml, &[("ids", ids.into())])
            );
        }
    }
    out
}

fn estimate(e: &Estimate) -> body::Estimate {
    match e {
        Estimate::Exact => body::Estimate::Exact,
        Estimate::Sampled { pivots, seed } => body::Estimate::Sampled {
            pivots: *pivots,
            seed: *seed,
        },
    }
}

fn finite(x: f64) -> Option<f64> {
    x.is_finite().then_some(x)
}

/// The double nearest the shortest decimal that reads back as `x`: written
/// as JSON, 0.3 in single precision is `0.3`, not the
/// `0.30000001192092896` its exact value as a double would print. A map's
/// ties are most of its body. The order of strengths is kept: each single
/// has its own decimal, inside its own rounding interval.
fn shortest(x: f32) -> f64 {
    x.to_string().parse().unwrap_or(f64::from(x))
}

/// The map of `programme` from `frame` (none before the programme's first
/// event: no stakeholder yet), as of `as_of`, reflecting log `position`,
/// with the time slider's `steps`.
pub fn map_json(
    programme: &str,
    as_of: DateTime<Utc>,
    position: u64,
    frame: Option<&Frame>,
    steps: &[DateTime<Utc>],
) -> body::MapFrame {
    let nodes = frame.map_or_else(Vec::new, |f| {
        f.nodes()
            .map(|n| body::MapNode {
                id: n.id.to_owned(),
                name: n.name.to_owned(),
                kind: kind_name(n.kind),
                community: n.community,
                x: finite(n.x),
                y: finite(n.y),
            })
            .collect()
    });
    body::MapFrame {
        programme: programme.to_owned(),
        as_of: time(as_of),
        position,
        settled: frame.is_none_or(|f| f.settled),
        steps: steps.iter().map(|t| time(*t)).collect(),
        nodes,
        ties: frame.map_or_else(Vec::new, |f| {
            f.ties().map(|(a, b, w)| (a, b, shortest(w))).collect()
        }),
    }
}

/// The `/network` body of a view with its layout.
pub fn network_json(v: &View<'_>, positions: &Positions) -> body::Network {
    let net = &v.network;
    let an = &v.analysis;
    let comp = &an.network.component_of;
    let nodes = net
        .nodes
        .iter()
        .enumerate()
        .map(|(i, id)| {
            let s = &v.programme.stakeholders[id];
            let m = &an.nodes[i];
            let (x, y) = positions.get(id).copied().unwrap_or((0.0, 0.0));
            body::NetworkNode {
                id: id.clone(),
                name: s.name.clone(),
                kind: kind_name(s.kind),
                themes: s.themes.clone(),
                territory: s.territory.clone(),
                degree: m.degree,
                weighted_degree: finite(an.weighted_degree[i]),
                betweenness: finite(m.betweenness),
                closeness: finite(m.closeness),
                eigenvector: finite(m.eigenvector),
                core_number: m.core_number,
                constraint: m.constraint.and_then(finite),
                effective_size: m.effective_size.and_then(finite),
                community: m.community,
                component: comp[i],
                x: finite(x),
                y: finite(y),
            }
        })
        .collect();
    let edges = net
        .present_ties()
        .map(|t| body::NetworkEdge {
            a: net.nodes[t.a].clone(),
            b: net.nodes[t.b].clone(),
            strength: finite(t.strength),
            base: finite(t.base),
            component: comp[t.a],
            partnership: t.partnership.as_ref().map(|p| body::EdgePartnership {
                id: p.id.clone(),
                kind: p.kind,
                themes: p.themes.clone(),
                formed_at: time(p.formed_at),
            }),
            contacts: contact_summary(&t.contacts),
            sessions: t.sessions.clone(),
            first_interaction: time(t.first_interaction),
            last_interaction: time(t.last_interaction),
            evidence: t.evidence.clone(),
        })
        .collect();
    let nm = &an.network;
    body::Network {
        programme: v.programme.id.clone(),
        as_of: time(net.as_of),
        position: net.position,
        settled: true,
        nodes,
        edges,
        metrics: body::NetworkMetrics {
            nodes: nm.nodes,
            edges: nm.edges,
            density: finite(nm.density),
            components: nm.components,
            communities: nm.communities,
            modularity: finite(nm.modularity),
            ei_by_kind: an.ei_by_kind.and_then(finite),
            ei_per_kind: an
                .ei_per_kind
                .iter()
                .map(|(k, v)| (kind_name(*k), finite(*v)))
                .collect(),
            articulation_points: nm
                .articulation_points
                .iter()
                .map(|&i| net.nodes[i].clone())
                .collect(),
            bridges: nm
                .bridges
                .iter()
                .map(|&(a, b)| [net.nodes[a].clone(), net.nodes[b].clone()])
                .collect(),
            betweenness: estimate(&nm.betweenness),
            closeness: estimate(&nm.closeness),
        },
    }
}

/// A diff between two views; `position` is the log position of the read
/// (the API's), left out when `None` (the CLI's).
pub fn diff_json(
    before: &View<'_>,
    after: &View<'_>,
    d: &Diff,
    position: Option<u64>,
) -> body::Diff {
    let point = |v: &View<'_>| body::DiffPoint {
        as_of: time(v.network.as_of),
        position: v.network.position,
    };
    body::Diff {
        programme: after.programme.id.clone(),
        position,
        from: point(before),
        to: point(after),
        stakeholders_added: d.stakeholders_added.clone(),
        stakeholders_removed: d.stakeholders_removed.clone(),
        ties_added: d.ties_added.clone(),
        ties_removed: d.ties_removed.clone(),
        findings_opened: d.findings_opened.clone(),
        findings_closed: d.findings_closed.clone(),
    }
}

/// A diff as text.
pub fn diff_text(before: &View<'_>, after: &View<'_>, d: &Diff, lang: Lang) -> String {
    let ml = messages::Lang::from(lang);
    let mut out = String::new();
    let name = |v: &View<'_>, id: &str| {
        v.programme
            .stakeholders
            .get(id)
            .map_or_else(|| id.to_owned(), |s| s.name.clone())
    };
    let _ = writeln!(
        out,
        "{}",
        text(
            "diff.summary",
            ml,
            &[
                ("programme", (&after.programme.id).into()),
                ("from", day(before.network.as_of)),
                ("to", day(after.network.as_of)),
                ("before", count(before.network.nodes.len())),
                ("after", count(after.network.nodes.len())),
                ("ties_before", count(before.network.present_ties().count())),
                ("ties_after", count(after.network.present_ties().count())),
            ],
        )
    );
    let section = |out: &mut String, key: &str, items: Vec<String>| {
        let title = text(key, ml, &[("n", count(items.len()))]);
        let _ = writeln!(out, "\n{title}");
        for i in items {
            let _ = writeln!(out, "  {i}");
        }
    };
    section(
        &mut out,
        "diff.added",
        d.stakeholders_added
            .iter()
            .map(|s| name(after, s))
            .collect(),
    );
    section(
        &mut out,
        "diff.removed",
        d.stakeholders_removed
            .iter()
            .map(|s| name(before, s))
            .collect(),
    );
    section(
        &mut out,
        "diff.gained",
        d.ties_added
            .iter()
            .map(|(a, b)| format!("{} — {}", name(after, a), name(after, b)))
            .collect(),
    );
    section(
        &mut out,
        "diff.lost",
        d.ties_removed
            .iter()
            .map(|(a, b)| format!("{} — {}", name(before, a), name(before, b)))
            .collect(),
    );
    section(&mut out, "diff.opened", d.findings_opened.clone());
    section(&mut out, "diff.closed", d.findings_closed.clone());
    out
}

/// Participation of `programme` as of `as_of` (`None`: a position or the
/// latest state), read at `position`; a count the audience may not see is
/// hidden already in `p`.
pub fn participation_json(
    p: &Participation,
    position: u64,
    programme: &str,
    as_of: Option<String>,
) -> body::Participation {
    body::Participation {
        position,
        programme: programme.to_owned(),
        as_of,
        sessions: p
            .sessions
            .iter()
            .map(|s| body::SessionParticipation {
                session: s.session.clone(),
                title: s.title.clone(),
                occurred_at: time(s.occurred_at),
                level: s.level,
                total: s.total,
                women: s.women,
                men: s.men,
                undisclosed: s.undisclosed,
                women_share: s.women_share,
                first_time: s.first_time,
                returning: s.returning,
                groups: s.groups.clone(),
                attended: s.attended,
                repeat: s.repeat,
            })
            .collect(),
        months: p
            .months
            .iter()
            .map(|m| body::MonthParticipation {
                month: m.month.clone(),
                sessions: m.sessions,
                withheld: m.withheld,
                total: m.total,
                women: m.women,
                women_share: m.women_share,
                first_time: m.first_time,
                returning: m.returning,
                highest_level: m.highest_level,
            })
            .collect(),
        trajectories: p
            .trajectories
            .iter()
            .map(|t| body::Trajectory {
                group: t.group.clone(),
                steps: t
                    .steps
                    .iter()
                    .map(|(at, s, l)| body::TrajectoryStep {
                        occurred_at: time(*at),
                        session: s.clone(),
                        level: *l,
                    })
                    .collect(),
            })
            .collect(),
        participants: p.participants,
        repeat_participants: p.repeat_participants,
    }
}
