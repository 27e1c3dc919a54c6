//! Participation: how far beneficiaries take part — per session and per
//! month (beneficiaries, women's share, first-time and returning, IAP2
//! level), each beneficiary group's trajectory across levels, and repeat
//! attendance from pseudonymous participant codes. Counts only; codes never
//! leave this module.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Datelike, Utc};
use passerelle_events::event::Level;

use crate::model::Programme;

/// One session's participation.
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
    /// Beneficiaries.
    pub total: u32,
    /// Women.
    pub women: u32,
    /// Men.
    pub men: u32,
    /// Gender not given.
    pub undisclosed: u32,
    /// Women / total (None without beneficiaries).
    pub women_share: Option<f64>,
    /// First-time participants.
    pub first_time: u32,
    /// Returning participants.
    pub returning: u32,
    /// Beneficiary groups taking part.
    pub groups: Vec<String>,
    /// Participant codes recorded for this session.
    pub attended: usize,
    /// Of which seen at an earlier session.
    pub repeat: usize,
}

/// One month's participation.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct MonthParticipation {
    /// `YYYY-MM`.
    pub month: String,
    /// Sessions held.
    pub sessions: usize,
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
    /// The highest IAP2 level reached that month.
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
    pub participants: usize,
    /// Codes seen at two sessions or more.
    pub repeat_participants: usize,
}

fn share(part: u64, total: u64) -> Option<f64> {
    (total > 0).then(|| part as f64 / total as f64)
}

/// Computes participation for programme `p`.
pub fn participation(p: &Programme) -> Participation {
    let mut sessions: Vec<_> = p.sessions.values().collect();
    sessions.sort_by(|a, b| (a.occurred_at, &a.id).cmp(&(b.occurred_at, &b.id)));
    let mut seen: HashMap<&str, usize> = HashMap::new();
    let mut rows = Vec::with_capacity(sessions.len());
    let mut months: BTreeMap<String, MonthParticipation> = BTreeMap::new();
    let mut groups: BTreeMap<String, Vec<(DateTime<Utc>, String, Level)>> = BTreeMap::new();
    for s in sessions {
        let b = s.beneficiaries;
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
        rows.push(SessionParticipation {
            session: s.id.clone(),
            title: s.title.clone(),
            occurred_at: s.occurred_at,
            level: s.level,
            total: b.total,
            women: b.women,
            men: b.men,
            undisclosed: b.undisclosed,
            women_share: share(b.women.into(), b.total.into()),
            first_time: b.first_time,
            returning: b.returning,
            groups: s.groups.clone(),
            attended: codes.len(),
            repeat,
        });
        let key = format!("{:04}-{:02}", s.occurred_at.year(), s.occurred_at.month());
        let m = months
            .entry(key.clone())
            .or_insert_with(|| MonthParticipation {
                month: key,
                ..MonthParticipation::default()
            });
        m.sessions += 1;
        m.total += u64::from(b.total);
        m.women += u64::from(b.women);
        m.first_time += u64::from(b.first_time);
        m.returning += u64::from(b.returning);
        m.highest_level = m.highest_level.max(Some(s.level));
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
        participants: seen.len(),
        repeat_participants: seen.values().filter(|n| **n >= 2).count(),
    }
}
