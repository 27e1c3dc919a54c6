//! Participation: how far beneficiaries take part — per session and per
//! month (beneficiaries, women's share, first-time and returning, IAP2
//! level), each beneficiary group's trajectory across levels, and repeat
//! attendance from pseudonymous participant codes. Counts only; codes never
//! leave this module.
//!
//! For mentors and viewers ([`Audience::Restricted`]) it leaves out every
//! figure from which a count of 1 to 4 beneficiaries could be worked out:
//! the counts of sessions that are not [public](Session::is_public) (a
//! total of at least 5 stays), every attendance figure (attendance grows one
//! event at a time, so reads as of successive positions would show it), and
//! from each month's sums the sessions that are not public — a month's sums
//! are then sums of the public sessions' rows, which those roles see anyway.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Datelike, Utc};
use passerelle_events::event::Level;

use crate::model::{Audience, Count, Programme, Session};

/// One session's participation. A figure is `None` when the audience may
/// not see it.
#[derive(Debug, Clone, PartialEq)]
pub struct SessionParticipation {
    /// Session id.
    pub session: String,
    /// Title.
    pub title: String,
    /// When.
    pub occurred_at: DateTime<Utc>,
    /// IAP2 level.
    pub level: Level,
    /// Whether the session is public ([`Session::is_public`]).
    pub public: bool,
    /// Beneficiaries.
    pub total: Count,
    /// Women.
    pub women: Count,
    /// Men.
    pub men: Count,
    /// Gender not given.
    pub undisclosed: Count,
    /// Women / total (None without beneficiaries).
    pub women_share: Option<f64>,
    /// First-time participants.
    pub first_time: Count,
    /// Returning participants.
    pub returning: Count,
    /// Beneficiary groups taking part.
    pub groups: Vec<String>,
    /// Participant codes recorded for this session.
    pub attended: Count,
    /// Of which seen at an earlier session.
    pub repeat: Count,
}

/// One month's participation: the sums of the sessions the audience may
/// see the counts of (for [`Audience::Restricted`], the public ones).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct MonthParticipation {
    /// `YYYY-MM`.
    pub month: String,
    /// Sessions held.
    pub sessions: usize,
    /// Of which left out of the sums (not public, for a restricted audience).
    pub withheld: usize,
    /// Beneficiary places.
    pub total: u64,
    /// Women.
    pub women: u64,
    /// Women / total.
    pub women_share: Option<f64>,
    /// First-time places.
    pub first_time: u64,
    /// Returning places.
    pub returning: u64,
    /// The highest IAP2 level reached that month (over every session).
    pub highest_level: Option<Level>,
}

/// A beneficiary group's sessions, in order, with their levels.
#[derive(Debug, Clone, PartialEq)]
pub struct Trajectory {
    /// Group id.
    pub group: String,
    /// (when, session, level) in time order.
    pub steps: Vec<(DateTime<Utc>, String, Level)>,
}

/// The participation read model of a programme.
#[derive(Debug, Clone, PartialEq)]
pub struct Participation {
    /// Per session, in time order.
    pub sessions: Vec<SessionParticipation>,
    /// Per month, in order.
    pub months: Vec<MonthParticipation>,
    /// Per beneficiary group.
    pub trajectories: Vec<Trajectory>,
    /// Distinct participant codes recorded.
    pub participants: Count,
    /// Codes seen at two sessions or more.
    pub repeat_participants: Count,
}

fn share(part: u64, total: u64) -> Option<f64> {
    (total > 0).then(|| part as f64 / total as f64)
}

/// Computes participation for programme `p`, every figure included
/// ([`Audience::Full`]).
pub fn participation(p: &Programme) -> Participation {
    participation_for(p, Audience::Full)
}

/// Computes participation for programme `p` as `audience` may see it.
pub fn participation_for(p: &Programme, audience: Audience) -> Participation {
    let full = audience == Audience::Full;
    let mut sessions: Vec<&Session> = p.sessions.values().collect();
    sessions.sort_by(|a, b| (a.occurred_at, &a.id).cmp(&(b.occurred_at, &b.id)));
    let mut seen: HashMap<&str, usize> = HashMap::new();
    let mut rows = Vec::with_capacity(sessions.len());
    let mut months: BTreeMap<String, MonthParticipation> = BTreeMap::new();
    let mut groups: BTreeMap<String, Vec<(DateTime<Utc>, String, Level)>> = BTreeMap::new();
    for s in sessions {
        let b = s.beneficiaries;
        let public = s.is_public();
        let mut repeat = 0;
        let mut codes: Vec<&str> = s.participants.iter().map(String::as_str).collect();
        codes.sort_unstable();
        codes.dedup();
        for c in &codes {
            let n = seen.entry(c).or_default();
            if *n > 0 {
                repeat += 1;
            }
            *n += 1;
        }
        let shown = s.counts_for(audience);
        let counted = !shown.suppressed;
        rows.push(SessionParticipation {
            session: s.id.clone(),
            title: s.title.clone(),
            occurred_at: s.occurred_at,
            level: s.level,
            public,
            total: shown.total,
            women: shown.women,
            men: shown.men,
            undisclosed: shown.undisclosed,
            women_share: if counted {
                share(b.women.into(), b.total.into())
            } else {
                None
            },
            first_time: shown.first_time,
            returning: shown.returning,
            groups: s.groups.clone(),
            attended: Count::when_len(full, codes.len()),
            repeat: Count::when_len(full, repeat),
        });
        let key = format!("{:04}-{:02}", s.occurred_at.year(), s.occurred_at.month());
        let m = months
            .entry(key.clone())
            .or_insert_with(|| MonthParticipation {
                month: key,
                ..MonthParticipation::default()
            });
        m.sessions += 1;
        m.highest_level = m.highest_level.max(Some(s.level));
        if counted {
            m.total += u64::from(b.total);
            m.women += u64::from(b.women);
            m.first_time += u64::from(b.first_time);
            m.returning += u64::from(b.returning);
        } else {
            m.withheld += 1;
        }
        for g in &s.groups {
            groups
                .entry(g.clone())
                .or_default()
                .push((s.occurred_at, s.id.clone(), s.level));
        }
    }
    let months = months
        .into_values()
        .map(|mut m| {
            m.women_share = share(m.women, m.total);
            m
        })
        .collect();
    Participation {
        sessions: rows,
        months,
        trajectories: groups
            .into_iter()
            .map(|(group, steps)| Trajectory { group, steps })
            .collect(),
        participants: Count::when_len(full, seen.len()),
        repeat_participants: Count::when_len(full, seen.values().filter(|n| **n >= 2).count()),
    }
}
