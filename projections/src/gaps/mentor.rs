//! The mentor's practice beside the mentee's gap: for a finding about a
//! theme or a sector, what a mentor programme's network does there ("the
//! City of Brussels covers interpreting through a formal agreement between
//! BAPA and a social interpreting service since …").
//!
//! It reads another programme's data, so it is kept apart from the
//! findings ([`GapReport::practice`]) and the API gives it only to readers
//! of both programmes.

use super::*;
use crate::network::formality;

/// The sectors whose stakeholders provide one kind of service.
const SPECIALIST: [StakeholderKind; 7] = [
    StakeholderKind::Education,
    StakeholderKind::Health,
    StakeholderKind::LegalAid,
    StakeholderKind::Childcare,
    StakeholderKind::Interpreting,
    StakeholderKind::Funder,
    StakeholderKind::Employer,
];

/// What a mentor programme does on the theme or sector of a finding.
#[derive(Debug, Clone, PartialEq)]
pub struct Practice {
    /// The finding it is beside.
    pub finding: String,
    /// The mentor programme's id.
    pub programme: String,
    /// What it does, in plain language.
    pub text: Bilingual,
    /// The mentor programme's events that show it.
    pub evidence: Vec<Uuid>,
}

/// The programmes whose practice a programme's report shows: every other
/// programme of the log with the mentor role.
pub fn mentors<'m>(
    programmes: impl IntoIterator<Item = &'m Programme>,
    mentee: &str,
) -> Vec<&'m Programme> {
    programmes
        .into_iter()
        .filter(|p| p.id != mentee && p.role == Some(passerelle_events::event::Role::Mentor))
        .collect()
}

/// The practice of each mentor programme beside each finding about a theme
/// or a sector: its most formal active partnership on one of the finding's
/// themes or with a stakeholder of one of its sectors, the oldest first
/// among equals; otherwise a stakeholder of that sector it works with.
pub fn mentor_practice(findings: &[Finding], mentors: &[&Programme]) -> Vec<Practice> {
    let mut out = Vec::new();
    for m in mentors {
        for f in findings {
            if let Some(text) = practice(f, m) {
                out.push(text);
            }
        }
    }
    out
}

fn practice(f: &Finding, m: &Programme) -> Option<Practice> {
    // Beside what the mentee lacks or cannot reach: a provider, a sector.
    // An introduction or a quiet tie is about the mentee's own links.
    let about_provision = matches!(
        f.kind,
        FindingKind::UncoveredNeed
            | FindingKind::MissingSector
            | FindingKind::StalledOutreach
            | FindingKind::IsolatedStakeholder
            | FindingKind::MissingNextStep
    );
    if !about_provision {
        return None;
    }
    let mut sectors: Vec<StakeholderKind> = f.sectors.clone();
    sectors.extend(f.themes.iter().filter_map(|t| sector_of(t)));
    // Only a specialist sector says what a mentor's partnership answers:
    // "an association" or "a city service" matches anything.
    sectors.retain(|k| SPECIALIST.contains(k));
    if f.themes.is_empty() && sectors.is_empty() {
        return None;
    }
    let live = |id: &str| m.stakeholders.get(id).filter(|s| !s.archived);
    let of_sector = |id: &str| live(id).is_some_and(|s| sectors.contains(&s.kind));
    let best = m
        .partnerships
        .values()
        .filter(|x| x.ended_at.is_none() && x.between.iter().all(|s| live(s).is_some()))
        .filter_map(|x| {
            let theme = x.themes.iter().find(|t| f.themes.contains(t));
            let sector = x.between.iter().any(|s| of_sector(s));
            (theme.is_some() || sector).then_some((x, theme))
        })
        .max_by(|(a, ta), (b, tb)| {
            (ta.is_some(), formality(a.kind))
                .partial_cmp(&(tb.is_some(), formality(b.kind)))
                .unwrap_or(std::cmp::Ordering::Equal)
                .then(b.formed_at.cmp(&a.formed_at))
                .then(b.id.cmp(&a.id))
        });
    let name = |id: &str| live(id).map_or_else(|| Noun::proper(id), noun_of);
    let programme: Arg = if m.name.is_empty() {
        m.id.as_str().into()
    } else {
        m.name.as_str().into()
    };
    if let Some((x, theme)) = best {
        let (key, topic): (&str, (&str, Arg)) = match theme {
            Some(t) => ("finding.mentor.partnership", ("topic", theme_words(t))),
            None => {
                let k = x
                    .between
                    .iter()
                    .filter_map(|s| live(s))
                    .map(|s| s.kind)
                    .find(|k| sectors.contains(k))
                    .expect("matched on a sector");
                (
                    "finding.mentor.partnership.sector",
                    ("sector", kind_label(k).into()),
                )
            }
        };
        return Some(Practice {
            finding: f.id.clone(),
            programme: m.id.clone(),
            text: bilingual(
                key,
                &[
                    ("programme", programme),
                    topic,
                    ("kind", label("pkind", x.kind).into()),
                    ("a", name(&x.between[0]).into()),
                    ("b", name(&x.between[1]).into()),
                    ("since", day(x.formed_at)),
                ],
            ),
            evidence: x.events.clone(),
        });
    }
    let s = m
        .active_stakeholders()
        .find(|s| sectors.contains(&s.kind))?;
    Some(Practice {
        finding: f.id.clone(),
        programme: m.id.clone(),
        text: bilingual(
            "finding.mentor.stakeholder",
            &[
                ("programme", programme),
                ("name", noun_of(s).into()),
                ("sector", kind_label(s.kind).into()),
            ],
        ),
        evidence: s.events.clone(),
    })
}
