//! The server's clock and the rules of a new event that need it: what
//! happened did not happen more than [`OCCURRED_AHEAD`] after the clock, and
//! a date planned ahead (a follow-up's due date) lies at most
//! [`PLANNED_AHEAD_YEARS`] after it (decision 011).
//!
//! These rules hold at the time an event is recorded: the
//! [`crate::ledger::Ledger`] checks them before it decides, for every event
//! but those an import carries over with their provenance. Nothing that
//! decodes, replays or verifies a stored event reads the clock, so a log
//! stays readable however its dates relate to today.

use std::fmt;
use std::sync::Arc;

use chrono::{DateTime, Months, SecondsFormat, TimeDelta, Utc};

use crate::envelope::NewEvent;
use crate::error::FieldError;

/// How far after the clock `occurred_at` may lie: one day, so that a date
/// written in a time zone ahead of UTC (up to UTC+14) is never refused.
pub const OCCURRED_AHEAD: TimeDelta = TimeDelta::days(1);

/// How many years after the clock's date a planned date may lie.
pub const PLANNED_AHEAD_YEARS: u32 = 5;

/// Where the ledger reads the time: the system clock, or a fixed time in
/// tests.
#[derive(Clone)]
pub struct Clock(Arc<dyn Fn() -> DateTime<Utc> + Send + Sync>);

impl Clock {
    /// The system clock.
    pub fn system() -> Self {
        Self(Arc::new(Utc::now))
    }

    /// A clock that always reads `t`.
    pub fn fixed(t: DateTime<Utc>) -> Self {
        Self(Arc::new(move || t))
    }

    /// The time now.
    pub fn now(&self) -> DateTime<Utc> {
        (self.0)()
    }
}

impl Default for Clock {
    fn default() -> Self {
        Self::system()
    }
}

impl fmt::Debug for Clock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Clock({})", self.now().to_rfc3339())
    }
}

/// The clock's rules broken by `event` when recorded at `now`, each naming
/// its field, the window and the server's time.
pub fn check(event: &NewEvent, now: DateTime<Utc>) -> Vec<FieldError> {
    let mut errors = Vec::new();
    let clock = now.to_rfc3339_opts(SecondsFormat::Secs, true);
    if event.occurred_at.datetime() > now + OCCURRED_AHEAD {
        errors.push(FieldError::new(
            "occurred_at",
            format!(
                "must lie between 1900-01-01 and one day after the server's clock ({clock}): it \
                 is when something happened (got {})",
                event.occurred_at
            ),
        ));
    }
    let today = now.date_naive();
    let last = today
        .checked_add_months(Months::new(12 * PLANNED_AHEAD_YEARS))
        .unwrap_or(today);
    for (path, day) in event.event.planned_dates() {
        if day.date() > last {
            errors.push(FieldError::new(
                path,
                format!(
                    "must lie between 1900-01-01 and {PLANNED_AHEAD_YEARS} years after the \
                     server's date ({today}), that is on or before {last} (got {})",
                    day.date()
                ),
            ));
        }
    }
    errors
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::Event;
    use crate::values::{OccurredAt, ProgrammeId};
    use serde_json::json;

    fn at(s: &str) -> DateTime<Utc> {
        OccurredAt::parse(s).expect("a time").datetime()
    }

    fn contact(occurred_at: &str, due: &str) -> NewEvent {
        let data = json!({"from": "a", "to": "b", "channel": "phone", "outcome": "interested",
                          "follow_up_due": due});
        NewEvent::new(
            ProgrammeId::parse("p").expect("an id"),
            OccurredAt::parse(occurred_at).expect("a time"),
            Event::from_parts("OutreachContactLogged", &data).expect("an event"),
        )
    }

    #[test]
    fn up_to_a_day_ahead_has_happened() {
        let now = at("2026-03-10T12:00:00Z");
        assert!(check(&contact("2026-03-11T12:00:00Z", "2026-04-01"), now).is_empty());
        let errors = check(&contact("2026-03-11T12:00:01Z", "2026-04-01"), now);
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].field, "occurred_at");
        assert!(
            errors[0].message.contains("2026-03-10T12:00:00Z"),
            "{}",
            errors[0].message
        );
    }

    #[test]
    fn a_follow_up_is_due_within_five_years() {
        let now = at("2026-03-10T12:00:00Z");
        assert!(check(&contact("2026-03-10", "2031-03-10"), now).is_empty());
        let errors = check(&contact("2026-03-10", "2031-03-11"), now);
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].field, "data.follow_up_due");
        assert!(
            errors[0].message.contains("2031-03-10"),
            "{}",
            errors[0].message
        );
    }

    #[test]
    fn a_fixed_clock_reads_its_time() {
        let t = at("2024-02-29T00:00:00Z");
        assert_eq!(Clock::fixed(t).now(), t);
    }
}
