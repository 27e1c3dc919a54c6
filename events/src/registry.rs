//! The state that validates references: which programmes, stakeholders,
//! partnerships, sessions, needs, milestones and notes exist, folded from the
//! log itself. It answers "may this event be appended now?" and nothing else;
//! read models live in `passerelle-projections`.
//!
//! Maps are persistent (`imbl`), so a clone is O(1): a batch is validated on a
//! clone and the clone replaces the state only when the whole batch is valid.

use std::sync::Arc;

use imbl::shared_ptr::DefaultSharedPtr;
use uuid::Uuid;

use crate::envelope::{NewEvent, StoredEvent};
use crate::error::FieldError;
use crate::event::{About, Event, StakeholderKind};
use crate::values::{ProgrammeId, Slug};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct StakeholderEntry {
    kind: StakeholderKind,
    archived: bool,
}

/// Where a need stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NeedStatus {
    /// Declared, no stakeholder has taken it on.
    Open,
    /// At least one stakeholder has taken it on.
    Addressed,
    /// Dropped from the plan.
    Withdrawn,
}

/// The persistent maps hash with foldhash (seeded at random per process),
/// not SipHash: a batch of an import looks up and inserts a few million
/// keys, and SipHash was the largest part of it after the tree itself.
type HashMap<K, V> = imbl::GenericHashMap<K, V, foldhash::fast::RandomState, DefaultSharedPtr>;
type HashSet<A> = imbl::GenericHashSet<A, foldhash::fast::RandomState, DefaultSharedPtr>;

/// An id or a stream name as a key of the persistent maps: a change copies
/// the nodes on its path, and a shared string is copied (and freed) by a
/// count, not by its bytes.
type Key = Arc<str>;

fn key(id: &Slug) -> Key {
    Arc::from(id.as_str())
}

#[derive(Debug, Clone, Default)]
struct ProgrammeState {
    stakeholders: HashMap<Key, StakeholderEntry>,
    partnerships: HashMap<Key, bool>,
    sessions: HashSet<Key>,
    needs: HashMap<Key, NeedStatus>,
    milestones: HashSet<Key>,
    notes: HashSet<Key>,
}

/// What the log says exists, as of its `head`.
#[derive(Debug, Clone, Default)]
pub struct Registry {
    programmes: HashMap<ProgrammeId, ProgrammeState>,
    ids: HashSet<Uuid>,
    streams: HashMap<Key, u64>,
    head: u64,
    head_id: Option<Uuid>,
}

impl Registry {
    /// The position of the last event folded in (0 for none).
    pub fn head(&self) -> u64 {
        self.head
    }

    /// The id of the event at [`Registry::head`] (none for an empty log).
    pub fn head_id(&self) -> Option<Uuid> {
        self.head_id
    }

    /// Whether an event with this id is in the log.
    pub fn knows(&self, id: &Uuid) -> bool {
        self.ids.contains(id)
    }

    /// The current version of a stream (0 if it has no event).
    pub fn stream_version(&self, stream: &str) -> u64 {
        self.streams.get(stream).copied().unwrap_or(0)
    }

    /// Whether the programme has been defined.
    pub fn has_programme(&self, p: &ProgrammeId) -> bool {
        self.programmes.contains_key(p)
    }

    /// Every broken reference or uniqueness rule of `e` against this state,
    /// each naming its field.
    pub fn check(&self, e: &NewEvent) -> Vec<FieldError> {
        let mut errs = Vec::new();
        let p = &e.programme;
        let ps = match (self.programmes.get(p), &e.event) {
            (Some(_), Event::ProgrammeDefined(_)) => {
                errs.push(FieldError::new(
                    "data.programme",
                    format!("programme {:?} is already defined", p.as_str()),
                ));
                return errs;
            }
            (None, Event::ProgrammeDefined(_)) => return errs,
            (None, _) => {
                errs.push(FieldError::new(
                    "programme",
                    format!(
                        "programme {:?} is not defined; record ProgrammeDefined first",
                        p.as_str()
                    ),
                ));
                return errs;
            }
            (Some(ps), _) => ps,
        };
        let mut c = Checker { p, ps, errs };
        match &e.event {
            Event::ProgrammeDefined(_) => {}
            Event::StakeholderRegistered(d) => {
                if c.ps.stakeholders.contains_key(d.stakeholder.as_str()) {
                    c.duplicate("data.stakeholder", "stakeholder", &d.stakeholder);
                }
            }
            Event::StakeholderProfileChanged(d) => {
                c.active("data.stakeholder", &d.stakeholder);
            }
            Event::StakeholderArchived(d) => {
                c.active("data.stakeholder", &d.stakeholder);
            }
            Event::OutreachContactLogged(d) => {
                c.active("data.from", &d.from);
                c.active("data.to", &d.to);
            }
            Event::PartnershipFormed(d) => {
                if c.ps.partnerships.contains_key(d.partnership.as_str()) {
                    c.duplicate("data.partnership", "partnership", &d.partnership);
                }
                for (i, s) in d.between.iter().enumerate() {
                    c.active(&format!("data.between[{i}]"), s);
                }
                c.beneficiary_groups("data.groups", &d.groups);
            }
            Event::PartnershipRevised(d) => {
                c.open_partnership(&d.partnership);
                if let Some(groups) = &d.groups {
                    c.beneficiary_groups("data.groups", groups);
                }
            }
            Event::PartnershipEnded(d) => c.open_partnership(&d.partnership),
            Event::CoCreationSessionHeld(d) => {
                if c.ps.sessions.contains(d.session.as_str()) {
                    c.duplicate("data.session", "session", &d.session);
                }
                c.all_active("data.stakeholders", &d.stakeholders);
                c.all_active("data.facilitators", &d.facilitators);
                c.beneficiary_groups("data.groups", &d.groups);
                c.all_active("data.distrusted", &d.distrusted);
            }
            Event::ParticipantAttended(d) => {
                if !c.ps.sessions.contains(d.session.as_str()) {
                    c.missing("data.session", "session", &d.session);
                }
            }
            Event::NeedDeclared(d) => {
                if c.ps.needs.contains_key(d.need.as_str()) {
                    c.duplicate("data.need", "need", &d.need);
                }
                c.beneficiary_groups("data.groups", &d.groups);
            }
            Event::NeedAddressed(d) => {
                c.live_need(&d.need);
                c.all_active("data.by", &d.by);
            }
            Event::NeedWithdrawn(d) => c.live_need(&d.need),
            Event::MilestoneMarked(d) => {
                if c.ps.milestones.contains(d.milestone.as_str()) {
                    c.duplicate("data.milestone", "milestone", &d.milestone);
                }
                c.all_active("data.stakeholders", &d.stakeholders);
            }
            Event::ReviewNoteAdded(d) => {
                if c.ps.notes.contains(d.note.as_str()) {
                    c.duplicate("data.note", "note", &d.note);
                }
                match &d.about {
                    About::Stakeholder(s) => {
                        c.active("data.about.stakeholder", s);
                    }
                    About::Need(n) => {
                        if !c.ps.needs.contains_key(n.as_str()) {
                            c.missing("data.about.need", "need", n);
                        }
                    }
                    About::Partnership(x) => {
                        if !c.ps.partnerships.contains_key(x.as_str()) {
                            c.missing("data.about.partnership", "partnership", x);
                        }
                    }
                    About::Gap(_) => {}
                }
                // Distrust about anything but a stakeholder is a shape error
                // (`Event::check_shape`); the groups are checked either way.
                c.beneficiary_groups("data.distrusted_by", &d.distrusted_by);
            }
            Event::PersonalDataErased(d) => {
                if d.subject.programme() != p.as_str() {
                    c.errs.push(FieldError::new(
                        "data.subject",
                        format!(
                            "must be a subject of the event's programme {:?}",
                            p.as_str()
                        ),
                    ));
                } else if let Some(s) = d.subject.stakeholder() {
                    // Archived stakeholders' contacts can be erased too.
                    let known = c.ps.stakeholders.contains_key(s);
                    if !known {
                        c.errs.push(FieldError::new(
                            "data.subject",
                            format!("no stakeholder {s:?} in programme {:?}", p.as_str()),
                        ));
                    }
                }
            }
        }
        c.errs
    }

    /// Folds one event in. Total: it never fails, so a log that was valid
    /// when written always replays.
    pub fn apply(&mut self, e: &NewEvent) {
        self.ids.insert(e.id);
        let ps = self.programmes.entry(e.programme.clone()).or_default();
        match &e.event {
            Event::ProgrammeDefined(_) => {}
            Event::StakeholderRegistered(d) => {
                ps.stakeholders.insert(
                    key(&d.stakeholder),
                    StakeholderEntry {
                        kind: d.kind,
                        archived: false,
                    },
                );
            }
            Event::StakeholderProfileChanged(d) => {
                if let (Some(entry), Some(kind)) =
                    (ps.stakeholders.get_mut(d.stakeholder.as_str()), d.kind)
                {
                    entry.kind = kind;
                }
            }
            Event::StakeholderArchived(d) => {
                if let Some(entry) = ps.stakeholders.get_mut(d.stakeholder.as_str()) {
                    entry.archived = true;
                }
            }
            Event::OutreachContactLogged(_) => {}
            Event::PartnershipFormed(d) => {
                ps.partnerships.insert(key(&d.partnership), false);
            }
            Event::PartnershipRevised(_) => {}
            Event::PartnershipEnded(d) => {
                ps.partnerships.insert(key(&d.partnership), true);
            }
            Event::CoCreationSessionHeld(d) => {
                ps.sessions.insert(key(&d.session));
            }
            Event::ParticipantAttended(_) => {}
            Event::NeedDeclared(d) => {
                ps.needs.insert(key(&d.need), NeedStatus::Open);
            }
            Event::NeedAddressed(d) => {
                ps.needs.insert(key(&d.need), NeedStatus::Addressed);
            }
            Event::NeedWithdrawn(d) => {
                ps.needs.insert(key(&d.need), NeedStatus::Withdrawn);
            }
            Event::MilestoneMarked(d) => {
                ps.milestones.insert(key(&d.milestone));
            }
            Event::ReviewNoteAdded(d) => {
                ps.notes.insert(key(&d.note));
            }
            Event::PersonalDataErased(_) => {}
        }
        // One walk down the map, not a lookup and then an insert.
        *self.streams.entry(Key::from(e.stream())).or_insert(0) += 1;
    }

    /// Folds in an event read from the log, moving the head to its position.
    pub fn apply_stored(&mut self, e: &StoredEvent) {
        if !self.knows(&e.event.id) {
            self.apply(&e.event);
        }
        if e.position >= self.head {
            self.head = e.position;
            self.head_id = Some(e.event.id);
        }
    }

    /// Moves the head forward by `n` appended events, the last of which is
    /// `last` (nothing moves for `n == 0`).
    pub(crate) fn advance(&mut self, n: u64, last: Option<Uuid>) {
        if n > 0 {
            self.head += n;
            self.head_id = last;
        }
    }
}

struct Checker<'a> {
    p: &'a ProgrammeId,
    ps: &'a ProgrammeState,
    errs: Vec<FieldError>,
}

impl Checker<'_> {
    fn duplicate(&mut self, field: &str, what: &str, id: &Slug) {
        self.errs.push(FieldError::new(
            field,
            format!(
                "{what} {:?} already exists in programme {:?}; ids are unique",
                id.as_str(),
                self.p.as_str()
            ),
        ));
    }

    fn missing(&mut self, field: &str, what: &str, id: &Slug) {
        self.errs.push(FieldError::new(
            field,
            format!(
                "no {what} {:?} in programme {:?}",
                id.as_str(),
                self.p.as_str()
            ),
        ));
    }

    /// The kind of a registered, not archived stakeholder, or an error.
    fn active(&mut self, field: &str, id: &Slug) -> Option<StakeholderKind> {
        match self.ps.stakeholders.get(id.as_str()) {
            None => {
                self.missing(field, "stakeholder", id);
                None
            }
            Some(s) if s.archived => {
                self.errs.push(FieldError::new(
                    field,
                    format!("stakeholder {:?} is archived", id.as_str()),
                ));
                None
            }
            Some(s) => Some(s.kind),
        }
    }

    /// Each of `ids` (the list at `field`) is an active stakeholder.
    fn all_active(&mut self, field: &str, ids: &[Slug]) {
        for (i, s) in ids.iter().enumerate() {
            self.active(&format!("{field}[{i}]"), s);
        }
    }

    /// Each of `ids` (the list at `field`) is an active stakeholder of kind
    /// `beneficiary_group`.
    fn beneficiary_groups(&mut self, field: &str, ids: &[Slug]) {
        for (i, s) in ids.iter().enumerate() {
            let field = format!("{field}[{i}]");
            if let Some(kind) = self.active(&field, s) {
                if kind != StakeholderKind::BeneficiaryGroup {
                    self.errs.push(FieldError::new(
                        field,
                        format!("stakeholder {:?} is not a beneficiary_group", s.as_str()),
                    ));
                }
            }
        }
    }

    fn open_partnership(&mut self, id: &Slug) {
        match self.ps.partnerships.get(id.as_str()) {
            None => self.missing("data.partnership", "partnership", id),
            Some(true) => self.errs.push(FieldError::new(
                "data.partnership",
                format!("partnership {:?} has ended", id.as_str()),
            )),
            Some(false) => {}
        }
    }

    fn live_need(&mut self, id: &Slug) {
        match self.ps.needs.get(id.as_str()) {
            None => self.missing("data.need", "need", id),
            Some(NeedStatus::Withdrawn) => self.errs.push(FieldError::new(
                "data.need",
                format!("need {:?} was withdrawn", id.as_str()),
            )),
            Some(_) => {}
        }
    }
}
