//! A per-programme summary: how many stakeholders, ties, sessions and needs,
//! as of the last event folded in. Used by `passerelle demo`.

use std::collections::{BTreeMap, HashMap};
use std::fmt;

use passerelle_events::event::Event;
use passerelle_events::StoredEvent;

/// Counts for one programme.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProgrammeSummary {
    /// The programme's name, once defined.
    pub name: String,
    /// Its role (mentor, mentee, peer), if given.
    pub role: Option<String>,
    /// Stakeholders registered and not archived.
    pub stakeholders: usize,
    /// Stakeholders archived.
    pub archived: usize,
    /// Outreach contacts logged.
    pub contacts: usize,
    /// Partnerships formed and not ended.
    pub partnerships: usize,
    /// Partnerships ended.
    pub ended: usize,
    /// Co-creation sessions held.
    pub sessions: usize,
    /// Beneficiaries counted across sessions.
    pub beneficiaries: u64,
    /// Women among them.
    pub women: u64,
    /// Needs declared and neither addressed nor withdrawn.
    pub needs_open: usize,
    /// Needs addressed.
    pub needs_addressed: usize,
    /// Needs withdrawn.
    pub needs_withdrawn: usize,
    /// Milestones marked.
    pub milestones: usize,
    /// Review notes added.
    pub notes: usize,
}

/// Summaries of every programme, and the log position they reflect.
#[derive(Debug, Clone, Default)]
pub struct Summary {
    /// Per programme id.
    pub programmes: BTreeMap<String, ProgrammeSummary>,
    /// The position of the last event folded in.
    pub position: u64,
    needs: HashMap<(String, String), NeedState>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum NeedState {
    Open,
    Addressed,
    Withdrawn,
}

impl Summary {
    /// Folds one stored event in.
    pub fn apply(&mut self, e: &StoredEvent) {
        self.position = e.position;
        let p = e.event.programme.as_str().to_owned();
        let s = self.programmes.entry(p.clone()).or_default();
        match &e.event.event {
            Event::ProgrammeDefined(d) => {
                s.name = d.name.as_str().to_owned();
                s.role = d.role.map(|r| format!("{r:?}").to_lowercase());
            }
            Event::StakeholderRegistered(_) => s.stakeholders += 1,
            Event::StakeholderArchived(_) => {
                s.stakeholders = s.stakeholders.saturating_sub(1);
                s.archived += 1;
            }
            Event::OutreachContactLogged(_) => s.contacts += 1,
            Event::PartnershipFormed(_) => s.partnerships += 1,
            Event::PartnershipEnded(_) => {
                s.partnerships = s.partnerships.saturating_sub(1);
                s.ended += 1;
            }
            Event::CoCreationSessionHeld(d) => {
                s.sessions += 1;
                s.beneficiaries += u64::from(d.beneficiaries.total);
                s.women += u64::from(d.beneficiaries.women);
            }
            Event::NeedDeclared(d) => {
                self.needs.insert((p, d.need.to_string()), NeedState::Open);
            }
            Event::NeedAddressed(d) => {
                self.needs
                    .insert((p, d.need.to_string()), NeedState::Addressed);
            }
            Event::NeedWithdrawn(d) => {
                self.needs
                    .insert((p, d.need.to_string()), NeedState::Withdrawn);
            }
            Event::MilestoneMarked(_) => s.milestones += 1,
            Event::ReviewNoteAdded(_) => s.notes += 1,
            _ => {}
        }
        if matches!(
            e.event.event,
            Event::NeedDeclared(_) | Event::NeedAddressed(_) | Event::NeedWithdrawn(_)
        ) {
            self.recount_needs();
        }
    }

    fn recount_needs(&mut self) {
        for s in self.programmes.values_mut() {
            s.needs_open = 0;
            s.needs_addressed = 0;
            s.needs_withdrawn = 0;
        }
        for ((p, _), state) in &self.needs {
            if let Some(s) = self.programmes.get_mut(p) {
                match state {
                    NeedState::Open => s.needs_open += 1,
                    NeedState::Addressed => s.needs_addressed += 1,
                    NeedState::Withdrawn => s.needs_withdrawn += 1,
                }
            }
        }
    }
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "log position {}", self.position)?;
        for (id, s) in &self.programmes {
            let role = s
                .role
                .as_deref()
                .map(|r| format!(", {r}"))
                .unwrap_or_default();
            writeln!(f, "\n{id} — {}{role}", s.name)?;
            writeln!(
                f,
                "  stakeholders  {} active, {} archived",
                s.stakeholders, s.archived
            )?;
            writeln!(f, "  outreach      {} contacts logged", s.contacts)?;
            writeln!(
                f,
                "  partnerships  {} active, {} ended",
                s.partnerships, s.ended
            )?;
            let share = if s.beneficiaries > 0 {
                format!(
                    " ({:.0}% women)",
                    100.0 * s.women as f64 / s.beneficiaries as f64
                )
            } else {
                String::new()
            };
            writeln!(
                f,
                "  sessions      {} co-creation sessions, {} beneficiary places{share}",
                s.sessions, s.beneficiaries
            )?;
            writeln!(
                f,
                "  needs         {} open, {} addressed, {} withdrawn",
                s.needs_open, s.needs_addressed, s.needs_withdrawn
            )?;
            writeln!(
                f,
                "  milestones    {}; review notes {}",
                s.milestones, s.notes
            )?;
        }
        Ok(())
    }
}
