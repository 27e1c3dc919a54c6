//! The programme model: one fold over stored events that every read model is
//! computed from — the directory (stakeholders, partnerships, sessions, needs,
//! milestones, notes) and the raw material of the network (contacts per pair,
//! co-attendance at sessions).
//!
//! The fold is order-robust: events may arrive in log order with occurred
//! times out of order (a contact recorded late), so "last" always means the
//! greatest occurred time, never the last event applied. It keeps plain Rust
//! values; serialisation belongs to the callers.
//!
//! It also says what mentors and viewers may see (PRODUCT.md §7: no count of
//! beneficiaries from 1 to 4, through any read or combination of reads):
//! which sessions are [public](Session::is_public), and which events are
//! [hidden](is_hidden) — events whose only trace for those roles is that
//! they exist, so that they must leave none at all.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use passerelle_events::event::{
    About, Beneficiaries, Channel, Event, Grammar, Level, MilestoneKind, Outcome, PartnershipKind,
    Priority, Role, StakeholderKind,
};
use passerelle_events::values::{Slug, Theme};
use passerelle_events::StoredEvent;
use uuid::Uuid;

/// A stakeholder's current profile.
#[derive(Debug, Clone, PartialEq)]
pub struct Stakeholder {
    /// Id (slug).
    pub id: String,
    /// Name.
    pub name: String,
    /// Kind.
    pub kind: StakeholderKind,
    /// Themes.
    pub themes: Vec<String>,
    /// Territory.
    pub territory: Option<String>,
    /// Contact person, e-mail, phone (personal data, sealed as stored), with
    /// the id of the event that set them: the associated data that opens them.
    pub contact: Option<(Uuid, passerelle_events::event::Contact)>,
    /// How French sentences refer to its name (the default until given).
    pub grammar: Grammar,
    /// Whether archived.
    pub archived: bool,
    /// When registered.
    pub registered_at: DateTime<Utc>,
    /// Registration, profile changes and archival.
    pub events: Vec<Uuid>,
}

/// A partnership between two stakeholders.
#[derive(Debug, Clone, PartialEq)]
pub struct Partnership {
    /// Id.
    pub id: String,
    /// The two stakeholders, sorted.
    pub between: [String; 2],
    /// Current kind.
    pub kind: PartnershipKind,
    /// Current themes.
    pub themes: Vec<String>,
    /// The beneficiary groups it is limited to (empty: it serves everyone).
    pub groups: Vec<String>,
    /// When formed.
    pub formed_at: DateTime<Utc>,
    /// Latest formation or revision.
    pub revised_at: DateTime<Utc>,
    /// When ended, if it has.
    pub ended_at: Option<DateTime<Utc>>,
    /// Formation, revisions, end.
    pub events: Vec<Uuid>,
}

/// One outreach contact.
#[derive(Debug, Clone, PartialEq)]
pub struct Contact {
    /// Event id.
    pub event: Uuid,
    /// Who reached out.
    pub from: String,
    /// To whom.
    pub to: String,
    /// How.
    pub channel: Channel,
    /// Why.
    pub purpose: Option<String>,
    /// What came of it.
    pub outcome: Outcome,
    /// When.
    pub occurred_at: DateTime<Utc>,
    /// When to follow up.
    pub follow_up_due: Option<chrono::NaiveDate>,
}

/// The smallest count of beneficiaries shown to roles without need
/// (PRODUCT.md §7): counts from 1 to `SMALLEST_SHOWN - 1` are not.
pub const SMALLEST_SHOWN: u32 = 5;

/// A count of people that an audience may or may not see: decided where the
/// value is made, from the audience, so no later step has to hide it.
/// Serialises as the number, or `null` when hidden.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Count {
    /// The count, which this audience may see.
    Shown(u32),
    /// Hidden from this audience (a count from 1 to 4, or a figure one
    /// could be worked out from).
    Hidden,
}

impl Count {
    /// `n` when `shown`, else hidden.
    pub fn when(shown: bool, n: u32) -> Self {
        if shown {
            Count::Shown(n)
        } else {
            Count::Hidden
        }
    }

    /// As [`Count::when`], for a length or a tally (saturating at `u32::MAX`).
    pub fn when_len(shown: bool, n: usize) -> Self {
        Count::when(shown, u32::try_from(n).unwrap_or(u32::MAX))
    }

    /// The count, if shown.
    pub fn shown(self) -> Option<u32> {
        match self {
            Count::Shown(n) => Some(n),
            Count::Hidden => None,
        }
    }
}

impl serde::Serialize for Count {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Count::Shown(n) => s.serialize_u32(*n),
            Count::Hidden => s.serialize_none(),
        }
    }
}

/// A session's counts as an audience may see them ([`Session::counts_for`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ShownCounts {
    /// Beneficiaries.
    pub total: Count,
    /// Women.
    pub women: Count,
    /// Men.
    pub men: Count,
    /// Gender not given.
    pub undisclosed: Count,
    /// First-time participants.
    pub first_time: Count,
    /// Returning participants.
    pub returning: Count,
    /// Whether counts are hidden (the session is not public and the
    /// audience is restricted).
    pub suppressed: bool,
}

/// Who a read model is computed for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Audience {
    /// Admins and coordinators: every figure.
    Full,
    /// Mentors and viewers, roles without need (PRODUCT.md §7): no figure
    /// from which a count of 1 to 4 beneficiaries could be worked out, alone
    /// or with other answers — only the counts of public sessions and sums
    /// of them, no attendance figure, and log positions that count the
    /// events they can see only.
    Restricted,
}

/// Whether an event is hidden from mentors and viewers: an attendance (one
/// event per participant, so counting them gives the attendance) or an
/// erasure (of a participant, right after attending). Such an event must
/// change nothing those roles can see — not even the log positions they are
/// told, which count visible events only
/// ([`crate::engine::Engine::visible_position`]).
pub fn is_hidden(event: &Event) -> bool {
    is_hidden_type(event.type_name())
}

/// The type names ([`Event::type_name`]) of the hidden events ([`is_hidden`]).
pub const HIDDEN_TYPES: [&str; 2] = ["ParticipantAttended", "PersonalDataErased"];

/// Whether events of this type are hidden ([`is_hidden`]), for a stored
/// event not decoded.
pub fn is_hidden_type(type_name: &str) -> bool {
    HIDDEN_TYPES.contains(&type_name)
}

/// A co-creation session.
#[derive(Debug, Clone, PartialEq)]
pub struct Session {
    /// Id.
    pub id: String,
    /// Title.
    pub title: String,
    /// Themes.
    pub themes: Vec<String>,
    /// IAP2 level.
    pub level: Level,
    /// Stakeholders present.
    pub stakeholders: Vec<String>,
    /// Facilitators.
    pub facilitators: Vec<String>,
    /// Beneficiary groups taking part.
    pub groups: Vec<String>,
    /// Counts.
    pub beneficiaries: Beneficiaries,
    /// Outputs.
    pub outputs: Vec<String>,
    /// When held.
    pub occurred_at: DateTime<Utc>,
    /// One pseudonym per attendance, in attendance order: the participant's
    /// data key id (one per participant; never the code itself).
    pub participants: Vec<String>,
    /// The session event and its attendance events.
    pub events: Vec<Uuid>,
}

impl Session {
    /// Whether every count of the session (total, women, men, undisclosed,
    /// first-time, returning) is 0 or at least 5: the sessions whose counts
    /// mentors and viewers see, and the only ones sums shown to them add up.
    pub fn is_public(&self) -> bool {
        let b = &self.beneficiaries;
        [
            b.total,
            b.women,
            b.men,
            b.undisclosed,
            b.first_time,
            b.returning,
        ]
        .iter()
        .all(|&n| n == 0 || n >= SMALLEST_SHOWN)
    }

    /// The session's counts as `audience` may see them: every count of a
    /// public session; of another, for mentors and viewers, only a total of
    /// at least [`SMALLEST_SHOWN`] (never a part: with the total, the parts
    /// shown would give the others away).
    pub fn counts_for(&self, audience: Audience) -> ShownCounts {
        let b = &self.beneficiaries;
        let all = audience == Audience::Full || self.is_public();
        let part = |n: u32| Count::when(all, n);
        ShownCounts {
            total: Count::when(all || b.total >= SMALLEST_SHOWN, b.total),
            women: part(b.women),
            men: part(b.men),
            undisclosed: part(b.undisclosed),
            first_time: part(b.first_time),
            returning: part(b.returning),
            suppressed: !all,
        }
    }

    /// The session's own event (attendance events come after it).
    pub fn event(&self) -> Uuid {
        self.events[0]
    }

    /// Every stakeholder taking part (stakeholders, facilitators, groups), sorted, once each.
    pub fn attendees(&self) -> BTreeSet<&str> {
        self.stakeholders
            .iter()
            .chain(&self.facilitators)
            .chain(&self.groups)
            .map(String::as_str)
            .collect()
    }
}

/// Where a need stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum NeedStatus {
    /// No stakeholder has taken it on.
    Open,
    /// Taken on.
    Addressed,
    /// Dropped.
    Withdrawn,
}

impl NeedStatus {
    /// Every status.
    pub const ALL: [NeedStatus; 3] = [
        NeedStatus::Open,
        NeedStatus::Addressed,
        NeedStatus::Withdrawn,
    ];

    /// `open`, `addressed` or `withdrawn`.
    pub fn as_str(self) -> &'static str {
        match self {
            NeedStatus::Open => "open",
            NeedStatus::Addressed => "addressed",
            NeedStatus::Withdrawn => "withdrawn",
        }
    }
}

/// A need of the action plan.
#[derive(Debug, Clone, PartialEq)]
pub struct Need {
    /// Id.
    pub id: String,
    /// The action it belongs to.
    pub action: String,
    /// Theme.
    pub theme: String,
    /// Description.
    pub description: Option<String>,
    /// Priority.
    pub priority: Option<Priority>,
    /// The beneficiary groups it is for (empty: the action's public as a
    /// whole).
    pub groups: Vec<String>,
    /// Status.
    pub status: NeedStatus,
    /// Stakeholders who took it on.
    pub addressed_by: Vec<String>,
    /// Every stakeholder named by each `NeedAddressed`, in log order (a
    /// stakeholder named twice appears twice).
    pub addressed: Vec<Addressed>,
    /// When declared.
    pub declared_at: DateTime<Utc>,
    /// Declaration, addressing, withdrawal.
    pub events: Vec<Uuid>,
}

/// One stakeholder taking a need on: one per stakeholder a `NeedAddressed`
/// names.
#[derive(Debug, Clone, PartialEq)]
pub struct Addressed {
    /// The stakeholder.
    pub by: String,
    /// When.
    pub at: DateTime<Utc>,
    /// The `NeedAddressed` event.
    pub event: Uuid,
}

/// A dated marker.
#[derive(Debug, Clone, PartialEq)]
pub struct Milestone {
    /// Id.
    pub id: String,
    /// Label.
    pub label: String,
    /// Kind.
    pub kind: MilestoneKind,
    /// The stakeholders named in it or taking part.
    pub stakeholders: Vec<String>,
    /// When.
    pub occurred_at: DateTime<Utc>,
    /// Its event.
    pub event: Uuid,
}

/// A review note.
#[derive(Debug, Clone, PartialEq)]
pub struct Note {
    /// Id.
    pub id: String,
    /// What it is about.
    pub about: About,
    /// Text.
    pub text: String,
    /// Who wrote it.
    pub recorded_by: String,
    /// When.
    pub occurred_at: DateTime<Utc>,
    /// Its event.
    pub event: Uuid,
}

/// Where a distrust was said ([`Distrust::source`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DistrustSource {
    /// A review note, by its id.
    Note(String),
    /// A co-creation session, by its id.
    Session(String),
}

/// Beneficiary groups said they do not trust or will not use a service.
#[derive(Debug, Clone, PartialEq)]
pub struct Distrust {
    /// The stakeholder not trusted.
    pub service: String,
    /// The beneficiary groups who said so: a note's `distrusted_by`, or the
    /// session's groups (possibly none).
    pub groups: Vec<String>,
    /// When it was said.
    pub occurred_at: DateTime<Utc>,
    /// The note or session event that says it.
    pub event: Uuid,
    /// The note or session it was said in.
    pub source: DistrustSource,
}

/// One programme's model.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Programme {
    /// Id.
    pub id: String,
    /// Name, once defined.
    pub name: String,
    /// Role in the scheme.
    pub role: Option<Role>,
    /// Country code.
    pub country: Option<String>,
    /// Stakeholders by id.
    pub stakeholders: BTreeMap<String, Stakeholder>,
    /// Partnerships by id.
    pub partnerships: BTreeMap<String, Partnership>,
    /// Outreach contacts, in log order.
    pub contacts: Vec<Contact>,
    /// Sessions by id.
    pub sessions: BTreeMap<String, Session>,
    /// Needs by id.
    pub needs: BTreeMap<String, Need>,
    /// Milestones by id.
    pub milestones: BTreeMap<String, Milestone>,
    /// Review notes, in log order.
    pub notes: Vec<Note>,
    /// Distrust said in review notes and sessions, in log order (one entry
    /// per service).
    pub distrust: Vec<Distrust>,
    /// The greatest occurred time of the programme's events, hidden ones
    /// ([`is_hidden`]) left out: the date its network is measured at.
    pub latest: Option<DateTime<Utc>>,
    /// Event count.
    pub events: u64,
    /// Of which hidden from mentors and viewers ([`is_hidden`]).
    pub hidden: u64,
}

impl Programme {
    /// The programme's events that `audience` may know of.
    pub fn events_for(&self, audience: Audience) -> u64 {
        match audience {
            Audience::Full => self.events,
            Audience::Restricted => self.events - self.hidden,
        }
    }

    /// Active (not archived) stakeholders.
    pub fn active_stakeholders(&self) -> impl Iterator<Item = &Stakeholder> {
        self.stakeholders.values().filter(|s| !s.archived)
    }

    /// Milestones in occurred order (ties by id).
    pub fn milestones_in_order(&self) -> Vec<&Milestone> {
        let mut m: Vec<&Milestone> = self.milestones.values().collect();
        m.sort_by(|a, b| a.occurred_at.cmp(&b.occurred_at).then(a.id.cmp(&b.id)));
        m
    }
}

/// Every programme's model, and the log position it reflects.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Model {
    /// Programmes by id.
    pub programmes: BTreeMap<String, Programme>,
    /// The position of the last event read (folded or filtered out).
    pub position: u64,
}

fn slugs(v: &[Slug]) -> Vec<String> {
    v.iter().map(Slug::to_string).collect()
}

fn themes(v: &[Theme]) -> Vec<String> {
    v.iter().map(|t| t.as_str().to_owned()).collect()
}

impl Model {
    /// Gives back the room the lists grew into beyond what they hold (a
    /// list grows by doubling): for after a large fold.
    pub fn shrink_to_fit(&mut self) {
        for p in self.programmes.values_mut() {
            p.contacts.shrink_to_fit();
            p.notes.shrink_to_fit();
            p.distrust.shrink_to_fit();
            for s in p.stakeholders.values_mut() {
                s.events.shrink_to_fit();
            }
            for x in p.partnerships.values_mut() {
                x.events.shrink_to_fit();
            }
            for s in p.sessions.values_mut() {
                s.participants.shrink_to_fit();
                s.events.shrink_to_fit();
            }
            for n in p.needs.values_mut() {
                n.addressed.shrink_to_fit();
                n.events.shrink_to_fit();
            }
        }
    }

    /// Folds one stored event in.
    pub fn apply(&mut self, e: &StoredEvent) {
        self.position = self.position.max(e.position);
        let at = e.event.occurred_at.datetime();
        let id = e.event.id;
        let pid = e.event.programme.as_str();
        if !self.programmes.contains_key(pid) {
            self.programmes.insert(
                pid.to_owned(),
                Programme {
                    id: pid.to_owned(),
                    ..Programme::default()
                },
            );
        }
        let p = self.programmes.get_mut(pid).expect("inserted above");
        p.events += 1;
        // An erasure happens now, not in the programme's story, and an
        // attendance is hidden from mentors and viewers: neither may move
        // the date every tie's strength and dormancy are measured at.
        if is_hidden(&e.event.event) {
            p.hidden += 1;
        } else {
            p.latest = Some(p.latest.map_or(at, |l| l.max(at)));
        }
        match &e.event.event {
            Event::ProgrammeDefined(d) => {
                p.name = d.name.as_str().to_owned();
                p.role = d.role;
                p.country = d.country.as_ref().map(|c| c.as_str().to_owned());
            }
            Event::StakeholderRegistered(d) => {
                p.stakeholders.insert(
                    d.stakeholder.to_string(),
                    Stakeholder {
                        id: d.stakeholder.to_string(),
                        name: d.name.as_str().to_owned(),
                        kind: d.kind,
                        themes: themes(&d.themes),
                        territory: d.territory.as_ref().map(|t| t.as_str().to_owned()),
                        contact: d.contact.clone().map(|c| (id, c)),
                        grammar: d.grammar.unwrap_or_default(),
                        archived: false,
                        registered_at: at,
                        events: vec![id],
                    },
                );
            }
            Event::StakeholderProfileChanged(d) => {
                if let Some(s) = p.stakeholders.get_mut(d.stakeholder.as_str()) {
                    if let Some(n) = &d.name {
                        s.name = n.as_str().to_owned();
                    }
                    if let Some(k) = d.kind {
                        s.kind = k;
                    }
                    if let Some(t) = &d.themes {
                        s.themes = themes(t);
                    }
                    if let Some(t) = &d.territory {
                        s.territory = Some(t.as_str().to_owned());
                    }
                    if let Some(c) = &d.contact {
                        s.contact = Some((id, c.clone()));
                    }
                    if let Some(g) = d.grammar {
                        s.grammar = g;
                    }
                    s.events.push(id);
                }
            }
            Event::StakeholderArchived(d) => {
                if let Some(s) = p.stakeholders.get_mut(d.stakeholder.as_str()) {
                    s.archived = true;
                    s.events.push(id);
                }
            }
            Event::OutreachContactLogged(d) => p.contacts.push(Contact {
                event: id,
                from: d.from.to_string(),
                to: d.to.to_string(),
                channel: d.channel,
                purpose: d.purpose.as_ref().map(|x| x.as_str().to_owned()),
                outcome: d.outcome,
                occurred_at: at,
                follow_up_due: d.follow_up_due.map(|x| x.date()),
            }),
            Event::PartnershipFormed(d) => {
                let mut between = [d.between[0].to_string(), d.between[1].to_string()];
                between.sort();
                p.partnerships.insert(
                    d.partnership.to_string(),
                    Partnership {
                        id: d.partnership.to_string(),
                        between,
                        kind: d.kind,
                        themes: themes(&d.themes),
                        groups: slugs(&d.groups),
                        formed_at: at,
                        revised_at: at,
                        ended_at: None,
                        events: vec![id],
                    },
                );
            }
            Event::PartnershipRevised(d) => {
                if let Some(x) = p.partnerships.get_mut(d.partnership.as_str()) {
                    if let Some(k) = d.kind {
                        x.kind = k;
                    }
                    if let Some(t) = &d.themes {
                        x.themes = themes(t);
                    }
                    if let Some(g) = &d.groups {
                        x.groups = slugs(g);
                    }
                    x.revised_at = x.revised_at.max(at);
                    x.events.push(id);
                }
            }
            Event::PartnershipEnded(d) => {
                if let Some(x) = p.partnerships.get_mut(d.partnership.as_str()) {
                    x.ended_at = Some(at);
                    x.events.push(id);
                }
            }
            Event::CoCreationSessionHeld(d) => {
                let participants = p
                    .sessions
                    .get(d.session.as_str())
                    .map(|s| s.participants.clone())
                    .unwrap_or_default();
                p.sessions.insert(
                    d.session.to_string(),
                    Session {
                        id: d.session.to_string(),
                        title: d.title.as_str().to_owned(),
                        themes: themes(&d.themes),
                        level: d.level,
                        stakeholders: slugs(&d.stakeholders),
                        facilitators: slugs(&d.facilitators),
                        groups: slugs(&d.groups),
                        beneficiaries: d.beneficiaries,
                        outputs: d.outputs.iter().map(|o| o.as_str().to_owned()).collect(),
                        occurred_at: at,
                        participants,
                        events: vec![id],
                    },
                );
                p.distrust.extend(d.distrusted.iter().map(|s| Distrust {
                    service: s.to_string(),
                    groups: slugs(&d.groups),
                    occurred_at: at,
                    event: id,
                    source: DistrustSource::Session(d.session.to_string()),
                }));
            }
            Event::ParticipantAttended(d) => {
                if let Some(s) = p.sessions.get_mut(d.session.as_str()) {
                    s.participants.push(d.participant.pseudonym().to_owned());
                    s.events.push(id);
                }
            }
            Event::NeedDeclared(d) => {
                p.needs.insert(
                    d.need.to_string(),
                    Need {
                        id: d.need.to_string(),
                        action: d.action.as_str().to_owned(),
                        theme: d.theme.as_str().to_owned(),
                        description: d.description.as_ref().map(|x| x.as_str().to_owned()),
                        priority: d.priority,
                        groups: slugs(&d.groups),
                        status: NeedStatus::Open,
                        addressed_by: Vec::new(),
                        addressed: Vec::new(),
                        declared_at: at,
                        events: vec![id],
                    },
                );
            }
            Event::NeedAddressed(d) => {
                if let Some(n) = p.needs.get_mut(d.need.as_str()) {
                    n.status = NeedStatus::Addressed;
                    for s in &d.by {
                        if !n.addressed_by.iter().any(|b| b == s.as_str()) {
                            n.addressed_by.push(s.to_string());
                        }
                        n.addressed.push(Addressed {
                            by: s.to_string(),
                            at,
                            event: id,
                        });
                    }
                    n.events.push(id);
                }
            }
            Event::NeedWithdrawn(d) => {
                if let Some(n) = p.needs.get_mut(d.need.as_str()) {
                    n.status = NeedStatus::Withdrawn;
                    n.events.push(id);
                }
            }
            Event::MilestoneMarked(d) => {
                p.milestones.insert(
                    d.milestone.to_string(),
                    Milestone {
                        id: d.milestone.to_string(),
                        label: d.label.as_str().to_owned(),
                        kind: d.kind,
                        stakeholders: slugs(&d.stakeholders),
                        occurred_at: at,
                        event: id,
                    },
                );
            }
            Event::ReviewNoteAdded(d) => {
                if let (About::Stakeholder(s), false) = (&d.about, d.distrusted_by.is_empty()) {
                    p.distrust.push(Distrust {
                        service: s.to_string(),
                        groups: slugs(&d.distrusted_by),
                        occurred_at: at,
                        event: id,
                        source: DistrustSource::Note(d.note.to_string()),
                    });
                }
                p.notes.push(Note {
                    id: d.note.to_string(),
                    about: d.about.clone(),
                    text: d.text.as_str().to_owned(),
                    recorded_by: e.recorded_by.clone(),
                    occurred_at: at,
                    event: id,
                });
            }
            Event::PersonalDataErased(_) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::{ev, stored};
    use passerelle_events::event::{Gender, GrammaticalNumber};
    use serde_json::json;

    fn fold(wire: &[serde_json::Value]) -> (Programme, Vec<StoredEvent>) {
        let events = stored(wire);
        let mut m = Model::default();
        for e in &events {
            m.apply(e);
        }
        (m.programmes["p"].clone(), events)
    }

    fn registered(id: &str, kind: &str) -> serde_json::Value {
        ev(
            "StakeholderRegistered",
            "2022-01-01",
            json!({"stakeholder": id, "name": id, "kind": kind}),
        )
    }

    #[test]
    fn groups_and_milestone_stakeholders_are_folded() {
        let (p, _) = fold(&[
            registered("women", "beneficiary_group"),
            registered("youth", "beneficiary_group"),
            registered("ccas", "city_service"),
            registered("mdf", "association"),
            ev(
                "PartnershipFormed",
                "2022-02-01",
                json!({"partnership": "x", "between": ["ccas", "mdf"], "kind": "institutional",
                       "groups": ["women"]}),
            ),
            ev(
                "PartnershipFormed",
                "2022-02-01",
                json!({"partnership": "y", "between": ["ccas", "mdf"], "kind": "referral",
                       "groups": ["women"]}),
            ),
            ev(
                "PartnershipRevised",
                "2022-03-01",
                json!({"partnership": "x", "groups": ["youth", "women"]}),
            ),
            ev(
                "PartnershipRevised",
                "2022-03-01",
                json!({"partnership": "y", "kind": "co_delivery"}),
            ),
            ev(
                "NeedDeclared",
                "2022-03-02",
                json!({"need": "n", "action": "Maison des Femmes", "theme": "housing",
                       "groups": ["women"]}),
            ),
            ev(
                "MilestoneMarked",
                "2022-04-01",
                json!({"milestone": "m", "label": "Opening", "kind": "workshop",
                       "stakeholders": ["mdf", "ccas"]}),
            ),
        ]);
        assert_eq!(p.partnerships["x"].kind, PartnershipKind::Institutional);
        assert_eq!(p.partnerships["x"].groups, ["youth", "women"]);
        assert_eq!(
            p.partnerships["y"].groups,
            ["women"],
            "a revision without groups keeps them"
        );
        assert_eq!(p.needs["n"].groups, ["women"]);
        assert_eq!(p.milestones["m"].stakeholders, ["mdf", "ccas"]);
    }

    #[test]
    fn grammar_is_the_default_until_given_and_changes_only_when_given() {
        let (p, _) = fold(&[
            registered("ccas", "city_service"),
            ev(
                "StakeholderRegistered",
                "2022-01-01",
                json!({"stakeholder": "relais", "name": "femmes-relais",
                       "kind": "community_champion",
                       "grammar": {"gender": "feminine", "number": "plural"}}),
            ),
            ev(
                "StakeholderProfileChanged",
                "2022-02-01",
                json!({"stakeholder": "relais", "name": "les femmes-relais"}),
            ),
            ev(
                "StakeholderProfileChanged",
                "2022-02-01",
                json!({"stakeholder": "ccas", "grammar": {"article": false}}),
            ),
        ]);
        let relais = &p.stakeholders["relais"].grammar;
        assert_eq!(
            (relais.gender, relais.number, relais.article),
            (Gender::Feminine, GrammaticalNumber::Plural, true)
        );
        assert_eq!(
            p.stakeholders["ccas"].grammar,
            Grammar {
                article: false,
                ..Grammar::default()
            }
        );
    }

    #[test]
    fn distrust_from_notes_and_sessions_is_kept_in_log_order() {
        let (p, events) = fold(&[
            registered("women", "beneficiary_group"),
            registered("youth", "beneficiary_group"),
            registered("ccas", "city_service"),
            registered("caf", "city_service"),
            ev(
                "ReviewNoteAdded",
                "2022-05-01",
                json!({"note": "n1", "about": {"stakeholder": "ccas"},
                       "text": "Only for money, they said.", "distrusted_by": ["women"]}),
            ),
            ev(
                "ReviewNoteAdded",
                "2022-05-02",
                json!({"note": "n2", "about": {"stakeholder": "caf"}, "text": "No distrust."}),
            ),
            ev(
                "CoCreationSessionHeld",
                "2022-04-01",
                json!({"session": "s1", "title": "Workshop", "level": "consult",
                       "groups": ["women", "youth"], "beneficiaries": {"total": 9},
                       "distrusted": ["ccas", "caf"]}),
            ),
        ]);
        let at = |d: &str| {
            chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d")
                .unwrap()
                .and_hms_opt(0, 0, 0)
                .unwrap()
                .and_utc()
        };
        let both = vec!["women".to_owned(), "youth".to_owned()];
        assert_eq!(
            p.distrust,
            vec![
                Distrust {
                    service: "ccas".into(),
                    groups: vec!["women".into()],
                    occurred_at: at("2022-05-01"),
                    event: events[4].event.id,
                    source: DistrustSource::Note("n1".into()),
                },
                Distrust {
                    service: "ccas".into(),
                    groups: both.clone(),
                    occurred_at: at("2022-04-01"),
                    event: events[6].event.id,
                    source: DistrustSource::Session("s1".into()),
                },
                Distrust {
                    service: "caf".into(),
                    groups: both,
                    occurred_at: at("2022-04-01"),
                    event: events[6].event.id,
                    source: DistrustSource::Session("s1".into()),
                },
            ]
        );
        assert_eq!(p.notes.len(), 2, "a note with distrust is still a note");
    }
}
