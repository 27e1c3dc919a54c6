//! Serialisation at the boundary: the read models of `passerelle-projections`
//! as JSON documents and as text for people. The CLI and the API print
//! these; the read models themselves stay plain Rust.

use std::fmt::Write as _;

use passerelle_projections::diff::Diff;
use passerelle_projections::gaps::{kind_name, Finding, GapReport, Severity};
use passerelle_projections::messages::{self, text, Arg};
use passerelle_projections::metrics::Estimate;
use passerelle_projections::participation::Participation;
use passerelle_projections::views::{Positions, View};
use serde_json::{json, Value};
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

impl Lang {
    /// A day as people write it in this language.
    fn day(self, t: chrono::DateTime<chrono::Utc>) -> String {
        match self {
            Lang::En => t.format("%Y-%m-%d").to_string(),
            Lang::Fr => t.format("%d/%m/%Y").to_string(),
        }
    }
}

fn time(t: chrono::DateTime<chrono::Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

fn finding_json(f: &Finding, evidence: &[Uuid]) -> Value {
    json!({
        "id": f.id,
        "kind": f.kind.as_str(),
        "severity": f.severity.as_str(),
        "subjects": f.subjects,
        "explanation": {"en": f.explanation.en, "fr": f.explanation.fr},
        "evidence": evidence,
        "suggestion": {"en": f.suggestion.en, "fr": f.suggestion.fr},
    })
}

/// `{"programme", "as_of", "position", "findings": [...]}`, every finding
/// with all its evidence.
pub fn gaps_json(r: &GapReport) -> Value {
    json!({
        "programme": r.programme,
        "as_of": time(r.as_of),
        "position": r.position,
        "findings": r.findings.iter().map(|f| finding_json(f, &f.evidence)).collect::<Vec<_>>(),
    })
}

/// As [`gaps_json`], with `findings` (a page of the report's) only, each
/// with its first `shown` evidence ids, `evidence_more` (how many others
/// there are) and `evidence_next` (`evidence_next(finding, last id shown)`,
/// a link to the others; `null` when there is none).
pub fn gaps_page_json(
    r: &GapReport,
    findings: &[&Finding],
    shown: usize,
    evidence_next: impl Fn(&Finding, &Uuid) -> String,
) -> Value {
    let findings: Vec<Value> = findings
        .iter()
        .map(|f| {
            let head = &f.evidence[..shown.min(f.evidence.len())];
            let mut v = finding_json(f, head);
            v["evidence_more"] = json!(f.evidence.len() - head.len());
            v["evidence_next"] = match head.last() {
                Some(last) if head.len() < f.evidence.len() => json!(evidence_next(f, last)),
                _ => Value::Null,
            };
            v
        })
        .collect();
    json!({
        "programme": r.programme,
        "as_of": time(r.as_of),
        "position": r.position,
        "findings": findings,
    })
}

/// The gap report as text for a coordinator.
pub fn gaps_text(r: &GapReport, name: &str, lang: Lang) -> String {
    let mut out = String::new();
    let count = |s: Severity| r.findings.iter().filter(|f| f.severity == s).count();
    let (h, m, l) = (
        count(Severity::High),
        count(Severity::Medium),
        count(Severity::Low),
    );
    let ml = messages::Lang::from(lang);
    let n = |x: usize| Arg::from(x.to_string());
    let _ = writeln!(
        out,
        "{}",
        text(
            "report.title",
            ml,
            &[
                ("name", name.into()),
                ("programme", (&r.programme).into()),
                ("date", lang.day(r.as_of).into()),
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
                ("n", n(r.findings.len())),
                ("high", n(h)),
                ("medium", n(m)),
                ("low", n(l)),
            ],
        )
    );
    for f in &r.findings {
        let severity = text(&format!("severity.{}", f.severity.as_str()), ml, &[]);
        let _ = writeln!(out, "\n[{severity}] {} — {}", f.kind.as_str(), f.id);
        let _ = writeln!(out, "  {}", f.explanation.get(ml));
        let _ = writeln!(out, "  → {}", f.suggestion.get(ml));
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

fn estimate(e: &Estimate) -> Value {
    match e {
        Estimate::Exact => json!("exact"),
        Estimate::Sampled { pivots, seed } => json!({"sampled": {"pivots": pivots, "seed": seed}}),
    }
}

fn finite(x: f64) -> Value {
    if x.is_finite() {
        json!(x)
    } else {
        Value::Null
    }
}

/// The network with node metrics and positions, edges with strength and
/// component, and network-wide metrics.
pub fn network_json(v: &View<'_>, positions: &Positions) -> Value {
    let net = &v.network;
    let an = &v.analysis;
    let comp = &an.network.component_of;
    let nodes: Vec<Value> = net
        .nodes
        .iter()
        .enumerate()
        .map(|(i, id)| {
            let s = &v.programme.stakeholders[id];
            let m = &an.nodes[i];
            let (x, y) = positions.get(id).copied().unwrap_or((0.0, 0.0));
            json!({
                "id": id,
                "name": s.name,
                "kind": kind_name(s.kind),
                "themes": s.themes,
                "territory": s.territory,
                "degree": m.degree,
                "weighted_degree": finite(an.weighted_degree[i]),
                "betweenness": finite(m.betweenness),
                "closeness": finite(m.closeness),
                "eigenvector": finite(m.eigenvector),
                "core_number": m.core_number,
                "constraint": m.constraint.map(finite),
                "effective_size": m.effective_size.map(finite),
                "community": m.community,
                "component": comp[i],
                "x": finite(x),
                "y": finite(y),
            })
        })
        .collect();
    let edges: Vec<Value> = net
        .present_ties()
        .map(|t| {
            let i = t.a;
            json!({
                "a": net.nodes[t.a],
                "b": net.nodes[t.b],
                "strength": finite(t.strength),
                "base": finite(t.base),
                "component": comp[i],
                "partnership": t.partnership.as_ref().map(|p| json!({
                    "id": p.id,
                    "kind": serde_json::to_value(p.kind).unwrap_or(Value::Null),
                    "themes": p.themes,
                    "formed_at": time(p.formed_at),
                })),
                "contacts": {
                    "count": t.contacts.count,
                    "positive": t.contacts.positive,
                    "last": t.contacts.last.map(time),
                    "best_outcome": t.contacts.best.map(|o| serde_json::to_value(o).unwrap_or(Value::Null)),
                },
                "sessions": t.sessions,
                "first_interaction": time(t.first_interaction),
                "last_interaction": time(t.last_interaction),
                "evidence": t.evidence,
            })
        })
        .collect();
    let nm = &an.network;
    let ei_per_kind: serde_json::Map<String, Value> = an
        .ei_per_kind
        .iter()
        .map(|(k, v)| (kind_name(*k), finite(*v)))
        .collect();
    json!({
        "programme": v.programme.id,
        "as_of": time(net.as_of),
        "position": net.position,
        "nodes": nodes,
        "edges": edges,
        "metrics": {
            "nodes": nm.nodes,
            "edges": nm.edges,
            "density": finite(nm.density),
            "components": nm.components,
            "communities": nm.communities,
            "modularity": finite(nm.modularity),
            "ei_by_kind": an.ei_by_kind.map(finite),
            "ei_per_kind": ei_per_kind,
            "articulation_points": nm.articulation_points.iter().map(|&i| &net.nodes[i]).collect::<Vec<_>>(),
            "bridges": nm.bridges.iter().map(|&(a, b)| [&net.nodes[a], &net.nodes[b]]).collect::<Vec<_>>(),
            "betweenness": estimate(&nm.betweenness),
            "closeness": estimate(&nm.closeness),
        },
    })
}

/// A diff between two views.
pub fn diff_json(before: &View<'_>, after: &View<'_>, d: &Diff) -> Value {
    json!({
        "programme": after.programme.id,
        "from": {"as_of": time(before.network.as_of), "position": before.network.position},
        "to": {"as_of": time(after.network.as_of), "position": after.network.position},
        "stakeholders_added": d.stakeholders_added,
        "stakeholders_removed": d.stakeholders_removed,
        "ties_added": d.ties_added,
        "ties_removed": d.ties_removed,
        "findings_opened": d.findings_opened,
        "findings_closed": d.findings_closed,
    })
}

/// A diff as text.
pub fn diff_text(before: &View<'_>, after: &View<'_>, d: &Diff, lang: Lang) -> String {
    let ml = messages::Lang::from(lang);
    let count = |x: usize| Arg::from(x.to_string());
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
                ("from", lang.day(before.network.as_of).into()),
                ("to", lang.day(after.network.as_of).into()),
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

/// Participation as JSON; a figure the audience may not see is `null`.
pub fn participation_json(p: &Participation) -> Value {
    let level = |l: passerelle_events::event::Level| serde_json::to_value(l).unwrap_or(Value::Null);
    json!({
        "sessions": p.sessions.iter().map(|s| json!({
            "session": s.session, "title": s.title, "occurred_at": time(s.occurred_at),
            "level": level(s.level), "total": s.total, "women": s.women, "men": s.men,
            "undisclosed": s.undisclosed, "women_share": s.women_share,
            "first_time": s.first_time, "returning": s.returning, "groups": s.groups,
            "attended": s.attended, "repeat": s.repeat,
        })).collect::<Vec<_>>(),
        "months": p.months.iter().map(|m| json!({
            "month": m.month, "sessions": m.sessions, "withheld": m.withheld,
            "total": m.total, "women": m.women,
            "women_share": m.women_share, "first_time": m.first_time, "returning": m.returning,
            "highest_level": m.highest_level.map(level),
        })).collect::<Vec<_>>(),
        "trajectories": p.trajectories.iter().map(|t| json!({
            "group": t.group,
            "steps": t.steps.iter().map(|(at, s, l)| json!({"occurred_at": time(*at), "session": s, "level": level(*l)})).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
        "participants": p.participants,
        "repeat_participants": p.repeat_participants,
    })
}
