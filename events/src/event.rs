//! The domain events of PRODUCT.md §3, schema version 1, as typed Rust.
//!
//! Each payload rejects unknown fields, so a field the catalogue does not have —
//! `ethnicity`, `nationality`, `religion` or any other — is refused like any typo.
//! Rules that need the log (references, uniqueness) live in [`crate::registry`];
//! rules that need only the payload (count sums, list sizes) live here in
//! [`Event::check_shape`].

use std::borrow::Cow;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use crate::error::FieldError;
use crate::personal::{ErasedSubject, Owner, Personal, PersonalField};
use crate::schema::{Count32, IdList, Pair, Themes};
use crate::values::{
    check_visible, Day, Email, LongText, Name, Output, ParticipantCode, Phone, ProgrammeId, Reason,
    Slug, Text, Theme, MAX_LIST, MAX_THEMES,
};

/// The schema version every event of this module is written with.
pub const SCHEMA_VERSION: u32 = 1;

/// What a stakeholder is (PRODUCT.md §2).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, ToSchema,
)]
#[serde(rename_all = "snake_case")]
#[schema(description = "What a stakeholder is.")]
#[allow(missing_docs)]
pub enum StakeholderKind {
    CityService,
    IntegrationAgency,
    Association,
    CommunityChampion,
    BeneficiaryGroup,
    Employer,
    Education,
    Health,
    LegalAid,
    Childcare,
    Interpreting,
    Funder,
    NetworkBody,
    Consultant,
    VolunteerGroup,
    Media,
    Political,
    Other,
}

impl StakeholderKind {
    /// Every variant, in declaration order.
    pub const ALL: [Self; 18] = [
        Self::CityService,
        Self::IntegrationAgency,
        Self::Association,
        Self::CommunityChampion,
        Self::BeneficiaryGroup,
        Self::Employer,
        Self::Education,
        Self::Health,
        Self::LegalAid,
        Self::Childcare,
        Self::Interpreting,
        Self::Funder,
        Self::NetworkBody,
        Self::Consultant,
        Self::VolunteerGroup,
        Self::Media,
        Self::Political,
        Self::Other,
    ];
}

/// How an outreach contact was made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(description = "How an outreach contact was made.")]
#[allow(missing_docs)]
pub enum Channel {
    Meeting,
    Phone,
    Email,
    Visit,
    Event,
    Letter,
    Message,
    Other,
}

impl Channel {
    /// Every variant, in declaration order.
    pub const ALL: [Self; 8] = [
        Self::Meeting,
        Self::Phone,
        Self::Email,
        Self::Visit,
        Self::Event,
        Self::Letter,
        Self::Message,
        Self::Other,
    ];
}

/// What came of an outreach contact, from worst to best.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, ToSchema,
)]
#[serde(rename_all = "snake_case")]
#[schema(
    description = "What came of an outreach contact; `interested` and `committed` are positive."
)]
#[allow(missing_docs)]
pub enum Outcome {
    NoResponse,
    Declined,
    Acknowledged,
    Interested,
    Committed,
}

impl Outcome {
    /// Every variant, in declaration order.
    pub const ALL: [Self; 5] = [
        Self::NoResponse,
        Self::Declined,
        Self::Acknowledged,
        Self::Interested,
        Self::Committed,
    ];

    /// Interested or committed.
    pub fn is_positive(self) -> bool {
        matches!(self, Outcome::Interested | Outcome::Committed)
    }
}

/// How formal a partnership is, from least to most.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, ToSchema,
)]
#[serde(rename_all = "snake_case")]
#[schema(
    description = "How formal a partnership is, from least to most; `institutional` is a structural link (a council and its own services or elected officials), not a working partnership."
)]
#[allow(missing_docs)]
pub enum PartnershipKind {
    Informal,
    InformationSharing,
    Referral,
    CoDelivery,
    Funding,
    FormalAgreement,
    /// A structural link, such as a council and its own services or elected
    /// officials: not a working partnership.
    Institutional,
}

impl PartnershipKind {
    /// Every variant, in declaration order.
    pub const ALL: [Self; 7] = [
        Self::Informal,
        Self::InformationSharing,
        Self::Referral,
        Self::CoDelivery,
        Self::Funding,
        Self::FormalAgreement,
        Self::Institutional,
    ];
}

/// The IAP2 spectrum of public participation, in order.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, ToSchema,
)]
#[serde(rename_all = "snake_case")]
#[schema(
    description = "The IAP2 spectrum of public participation: inform < consult < involve < collaborate < empower."
)]
#[allow(missing_docs)]
pub enum Level {
    Inform,
    Consult,
    Involve,
    Collaborate,
    Empower,
}

impl Level {
    /// Every variant, in declaration order.
    pub const ALL: [Self; 5] = [
        Self::Inform,
        Self::Consult,
        Self::Involve,
        Self::Collaborate,
        Self::Empower,
    ];
}

/// What kind of dated marker a milestone is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(description = "What kind of dated marker a milestone is.")]
#[allow(missing_docs)]
pub enum MilestoneKind {
    MentoringVisit,
    StudyVisit,
    Workshop,
    Decision,
    Funding,
    Other,
}

impl MilestoneKind {
    /// Every variant, in declaration order.
    pub const ALL: [Self; 6] = [
        Self::MentoringVisit,
        Self::StudyVisit,
        Self::Workshop,
        Self::Decision,
        Self::Funding,
        Self::Other,
    ];
}

/// Priority of a declared need.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, ToSchema,
)]
#[serde(rename_all = "snake_case")]
#[schema(description = "Priority of a declared need.")]
#[allow(missing_docs)]
pub enum Priority {
    High,
    Medium,
    Low,
}

impl Priority {
    /// Every variant, in declaration order.
    pub const ALL: [Self; 3] = [Self::High, Self::Medium, Self::Low];
}

/// A programme's role in its mentoring scheme.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(as = ProgrammeRole, description = "A programme's role in its mentoring scheme.")]
#[allow(missing_docs)]
pub enum Role {
    Mentor,
    Mentee,
    Peer,
}

impl Role {
    /// Every value, in declaration order.
    pub const ALL: [Role; 3] = [Role::Mentor, Role::Mentee, Role::Peer];
}

/// An ISO 3166-1 alpha-2 country code, e.g. `FR`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Country(String);

/// The regex of a country code ([`Country::parse`]).
pub const COUNTRY_PATTERN: &str = "^[A-Z]{2}$";

impl Country {
    /// Parses two upper-case letters.
    pub fn parse(s: &str) -> Result<Self, String> {
        if s.len() == 2 && s.bytes().all(|c| c.is_ascii_uppercase()) {
            Ok(Self(s.to_owned()))
        } else {
            Err(format!(
                "must be an ISO 3166-1 alpha-2 country code such as FR or BE (got {s:?})"
            ))
        }
    }

    /// The code.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Serialize for Country {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Country {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Self::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// The grammatical gender of a stakeholder's name in French.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(description = "The grammatical gender of a stakeholder's name in French.")]
#[allow(missing_docs)]
pub enum Gender {
    #[default]
    Masculine,
    Feminine,
}

impl Gender {
    /// Every variant, in declaration order.
    pub const ALL: [Self; 2] = [Self::Masculine, Self::Feminine];
}

/// The grammatical number of a stakeholder's name in French.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(description = "The grammatical number of a stakeholder's name in French.")]
#[allow(missing_docs)]
pub enum GrammaticalNumber {
    #[default]
    Singular,
    Plural,
}

impl GrammaticalNumber {
    /// Every variant, in declaration order.
    pub const ALL: [Self; 2] = [Self::Singular, Self::Plural];
}

fn yes() -> bool {
    true
}

/// How French sentences refer to a stakeholder's name: "le Point-justice"
/// (masculine), "la Maison des Femmes" (feminine), "les femmes-relais"
/// (feminine, plural), "Orléans Métropole" (feminine, no article). Data
/// only; the default is masculine, singular, with an article.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(
    description = "How French sentences refer to a stakeholder's name: `le Point-justice` (masculine), `la Maison des Femmes` (feminine), `les femmes-relais` (feminine, plural), `Orléans Métropole` (feminine, `article: false`). Absent fields are `masculine`, `singular` and `true`."
)]
pub struct Grammar {
    /// Masculine or feminine.
    #[serde(default)]
    pub gender: Gender,
    /// Singular or plural.
    #[serde(default)]
    pub number: GrammaticalNumber,
    /// Whether the name takes a definite article.
    #[serde(default = "yes")]
    #[schema(default = true)]
    pub article: bool,
}

impl Default for Grammar {
    fn default() -> Self {
        Self {
            gender: Gender::Masculine,
            number: GrammaticalNumber::Singular,
            article: true,
        }
    }
}

/// A stakeholder's contact details: personal data of the subject
/// `contact:{programme}/{stakeholder}` (PRODUCT.md §7), each field sealed on
/// its own in the store.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = ContactInput, description = "A stakeholder's contact details (personal data of the subject `contact:{programme}/{stakeholder}`), sent in clear; each field is stored encrypted under the subject's key.")]
pub struct Contact {
    /// The contact person's name or role.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Name>)]
    pub person: Option<Personal<Name>>,
    /// E-mail address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Email>)]
    pub email: Option<Personal<Email>>,
    /// Phone number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Phone>)]
    pub phone: Option<Personal<Phone>>,
}

impl Contact {
    /// Each field of this contact with its path in an event
    /// (`data.contact.email`): what opening a stored contact needs.
    pub fn slots(&mut self) -> Vec<(&'static str, &mut dyn crate::personal::Slot)> {
        let mut out: Vec<(&'static str, &mut dyn crate::personal::Slot)> = Vec::new();
        let Contact {
            person,
            email,
            phone,
        } = self;
        if let Some(v) = person {
            out.push((CONTACT_PATHS[0], v));
        }
        if let Some(v) = email {
            out.push((CONTACT_PATHS[1], v));
        }
        if let Some(v) = phone {
            out.push((CONTACT_PATHS[2], v));
        }
        out
    }

    /// The person's name and e-mail address, when given in clear.
    fn texts<'a>(&'a self, out: &mut Vec<(Cow<'static, str>, &'a str)>) {
        if let Some(person) = self.person.as_ref().and_then(Personal::clear) {
            out.push((CONTACT_PATHS[0].into(), person.as_str()));
        }
        if let Some(email) = self.email.as_ref().and_then(Personal::clear) {
            out.push((CONTACT_PATHS[1].into(), email.as_str()));
        }
    }

    /// The personal fields of this contact, whose subject is `stakeholder`'s
    /// contact person.
    fn fields<'a>(&'a mut self, stakeholder: &'a Slug, out: &mut Vec<PersonalField<'a>>) {
        let owner = Owner::Contact(stakeholder);
        out.extend(self.slots().into_iter().map(|(path, value)| PersonalField {
            path,
            owner,
            value,
        }));
    }
}

/// The paths of a contact's fields in an event.
const CONTACT_PATHS: [&str; 3] = [
    "data.contact.person",
    "data.contact.email",
    "data.contact.phone",
];

/// A programme is defined: the first event of every programme.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = ProgrammeDefinedData, description = "The first event of every programme. `programme` must equal the event's `programme`.")]
#[allow(missing_docs)]
pub struct ProgrammeDefined {
    pub programme: ProgrammeId,
    pub name: Name,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<Role>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country: Option<Country>,
}

/// A stakeholder joins the programme's directory.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = StakeholderRegisteredData, description = "A stakeholder joins the directory. `contact` is personal data. `grammar` says how French sentences refer to its name (default: masculine, singular, with an article).")]
#[allow(missing_docs)]
pub struct StakeholderRegistered {
    pub stakeholder: Slug,
    pub name: Name,
    pub kind: StakeholderKind,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schema(value_type = Themes)]
    pub themes: Vec<Theme>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub territory: Option<Name>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contact: Option<Contact>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grammar: Option<Grammar>,
}

/// Some of a stakeholder's profile changes; absent fields stay as they were.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = StakeholderProfileChangedData, description = "Some of a stakeholder's profile changes; absent fields stay as they were. At least one of them must be given.")]
#[allow(missing_docs)]
pub struct StakeholderProfileChanged {
    pub stakeholder: Slug,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<Name>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<StakeholderKind>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Themes>)]
    pub themes: Option<Vec<Theme>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub territory: Option<Name>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contact: Option<Contact>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grammar: Option<Grammar>,
}

/// A stakeholder leaves the directory; it can no longer be referenced.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = StakeholderArchivedData, description = "A stakeholder leaves the directory; it can no longer be referenced.")]
#[allow(missing_docs)]
pub struct StakeholderArchived {
    pub stakeholder: Slug,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<Reason>,
}

/// One outreach contact from one stakeholder to another, and its outcome.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = OutreachContactLoggedData, description = "One outreach contact from one stakeholder to another (`to` differs from `from`), and its outcome. `follow_up_due`, when given, lies between 1900-01-01 and 5 years after the server's date when the event is recorded.")]
#[allow(missing_docs)]
pub struct OutreachContactLogged {
    pub from: Slug,
    pub to: Slug,
    pub channel: Channel,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub purpose: Option<Reason>,
    pub outcome: Outcome,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub follow_up_due: Option<Day>,
}

/// Two stakeholders form a partnership.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = PartnershipFormedData, description = "Two different stakeholders form a partnership. `groups`, when given, are the beneficiary-group stakeholders it is limited to (none: it serves everyone).")]
#[allow(missing_docs)]
pub struct PartnershipFormed {
    pub partnership: Slug,
    #[schema(value_type = Pair)]
    pub between: Vec<Slug>,
    pub kind: PartnershipKind,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schema(value_type = Themes)]
    pub themes: Vec<Theme>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schema(value_type = IdList)]
    pub groups: Vec<Slug>,
}

/// A partnership's kind, themes or beneficiary groups change.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = PartnershipRevisedData, description = "A partnership's kind, themes or beneficiary groups change; at least one of them must be given. `groups` replaces the beneficiary-group stakeholders it is limited to (an empty list: it serves everyone).")]
#[allow(missing_docs)]
pub struct PartnershipRevised {
    pub partnership: Slug,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<PartnershipKind>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Themes>)]
    pub themes: Option<Vec<Theme>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<IdList>)]
    pub groups: Option<Vec<Slug>>,
}

/// A partnership ends.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = PartnershipEndedData, description = "A partnership ends.")]
#[allow(missing_docs)]
pub struct PartnershipEnded {
    pub partnership: Slug,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<Reason>,
}

/// How many beneficiaries took part in a session. Counts, never individuals.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(
    description = "How many beneficiaries took part: counts, never individuals. `women + men + undisclosed` and `first_time + returning` must not exceed `total`. Absent counts are 0."
)]
#[allow(missing_docs)]
pub struct Beneficiaries {
    #[schema(value_type = Count32)]
    pub total: u32,
    #[serde(default)]
    #[schema(value_type = Count32)]
    pub women: u32,
    #[serde(default)]
    #[schema(value_type = Count32)]
    pub men: u32,
    #[serde(default)]
    #[schema(value_type = Count32)]
    pub undisclosed: u32,
    #[serde(default)]
    #[schema(value_type = Count32)]
    pub first_time: u32,
    #[serde(default)]
    #[schema(value_type = Count32)]
    pub returning: u32,
}

/// A co-creation session was held.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = CoCreationSessionHeldData, description = "A co-creation session was held. `groups` are beneficiary-group stakeholders; beneficiaries are counts, never individuals. `distrusted` are the services the session's beneficiaries said they do not trust or will not use.")]
#[allow(missing_docs)]
pub struct CoCreationSessionHeld {
    pub session: Slug,
    pub title: Name,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schema(value_type = Themes)]
    pub themes: Vec<Theme>,
    pub level: Level,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schema(value_type = IdList)]
    pub stakeholders: Vec<Slug>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schema(value_type = IdList)]
    pub facilitators: Vec<Slug>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schema(value_type = IdList)]
    pub groups: Vec<Slug>,
    pub beneficiaries: Beneficiaries,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schema(schema_with = crate::schema::outputs)]
    pub outputs: Vec<Output>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schema(value_type = IdList)]
    pub distrusted: Vec<Slug>,
}

/// A pseudonymous participant attended a session. `participant` is personal
/// data of the subject `participant:{programme}/{code}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = ParticipantAttendedData, description = "A pseudonymous participant attended a session. `participant` is personal data.")]
#[allow(missing_docs)]
pub struct ParticipantAttended {
    pub session: Slug,
    #[schema(value_type = ParticipantCode)]
    pub participant: Personal<ParticipantCode>,
}

/// The action plan needs something.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = NeedDeclaredData, description = "The action plan needs something. `groups`, when given, are the beneficiary-group stakeholders the need is for (none: the action's public as a whole).")]
#[allow(missing_docs)]
pub struct NeedDeclared {
    pub need: Slug,
    pub action: Name,
    pub theme: Theme,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<LongText>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority: Option<Priority>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schema(value_type = IdList)]
    pub groups: Vec<Slug>,
}

/// Stakeholders take a need on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = NeedAddressedData, description = "Stakeholders take a need on.")]
#[allow(missing_docs)]
pub struct NeedAddressed {
    pub need: Slug,
    #[schema(schema_with = crate::schema::non_empty_ids)]
    pub by: Vec<Slug>,
}

/// A need is dropped from the plan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = NeedWithdrawnData, description = "A need is dropped from the plan.")]
#[allow(missing_docs)]
pub struct NeedWithdrawn {
    pub need: Slug,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<Reason>,
}

/// A dated marker for before/after comparisons.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = MilestoneMarkedData, description = "A dated marker for before/after comparisons. `stakeholders` are those named in it or taking part (e.g. the partners who opened a workshop).")]
#[allow(missing_docs)]
pub struct MilestoneMarked {
    pub milestone: Slug,
    pub label: Name,
    pub kind: MilestoneKind,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schema(value_type = IdList)]
    pub stakeholders: Vec<Slug>,
}

/// What a review note is about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
#[allow(missing_docs)]
pub enum About {
    Stakeholder(Slug),
    Need(Slug),
    Partnership(Slug),
    /// A gap-report finding, by its stable id.
    Gap(Text<200>),
}

/// A mentor's (or coordinator's) review note.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = ReviewNoteAddedData, description = "A mentor's or coordinator's review note. `distrusted_by`, allowed only when `about` is a stakeholder, are the beneficiary groups who said they do not trust or will not use that service.")]
#[allow(missing_docs)]
pub struct ReviewNoteAdded {
    pub note: Slug,
    pub about: About,
    pub text: LongText,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schema(value_type = IdList)]
    pub distrusted_by: Vec<Slug>,
}

/// A data subject's personal data was erased: its data key was destroyed in
/// the same transaction. Written only by the erase command, never accepted
/// from `record` or the API. Holds no personal data: a participant is named
/// by the key that was destroyed, never by its code ([`ErasedSubject`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = PersonalDataErasedData, description = "A data subject's personal data was erased: its key was destroyed in the same transaction. Written only by an erasure (`passerelle erase`, `POST /erasures`); `POST /events` refuses it. It holds no personal data: `subject` names a contact person by its stakeholder and a participant by the id of the destroyed key, never by its code; `reason` is stored in clear.")]
#[allow(missing_docs)]
pub struct PersonalDataErased {
    pub subject: ErasedSubject,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<Reason>,
}

/// An event's `data`, serialised as the catalogue writes it ([`Event::data`]).
#[derive(Debug, Clone, Copy)]
pub struct EventData<'a>(&'a Event);

macro_rules! events {
    ($($variant:ident),* $(,)?) => {
        /// One domain event: its type name and its typed data.
        #[derive(Debug, Clone, PartialEq)]
        #[allow(missing_docs)]
        pub enum Event {
            $($variant($variant),)*
        }

        impl Event {
            /// Every event type name, in catalogue order.
            pub const TYPES: &'static [&'static str] = &[$(stringify!($variant),)*];

            /// Each event type's name with the schema of its `data` as sent
            /// (see [`crate::schema`]), in catalogue order.
            pub(crate) fn data_schemas() -> Vec<(
                &'static str,
                String,
                utoipa::openapi::RefOr<utoipa::openapi::schema::Schema>,
            )> {
                vec![$((
                    stringify!($variant),
                    <$variant as ToSchema>::name().into_owned(),
                    <$variant as utoipa::PartialSchema>::schema(),
                ),)*]
            }

            /// The stable type name written on the wire (`"type"`).
            pub fn type_name(&self) -> &'static str {
                match self {
                    $(Event::$variant(_) => stringify!($variant),)*
                }
            }

            /// Decodes `data` for the event type `type_name`. Errors name the
            /// offending field, prefixed with `data.`.
            pub fn from_parts(type_name: &str, data: &Value) -> Result<Event, FieldError> {
                match type_name {
                    $(stringify!($variant) => decode_data(data).map(Event::$variant),)*
                    other => Err(FieldError::new(
                        "type",
                        format!("unknown event type {:?}; expected one of {}", other, Self::TYPES.join(", ")),
                    )),
                }
            }

            /// The canonical JSON of `data`: fields in catalogue order, empty
            /// optional fields left out.
            pub fn data_json(&self) -> Value {
                serde_json::to_value(self.data()).expect("event payloads always serialise")
            }

            /// `data` to serialise: the JSON of [`Event::data_json`], written
            /// straight to a serializer.
            pub fn data(&self) -> EventData<'_> {
                EventData(self)
            }
        }

        impl Serialize for EventData<'_> {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                match self.0 {
                    $(Event::$variant(d) => d.serialize(s),)*
                }
            }
        }
    };
}

events!(
    ProgrammeDefined,
    StakeholderRegistered,
    StakeholderProfileChanged,
    StakeholderArchived,
    OutreachContactLogged,
    PartnershipFormed,
    PartnershipRevised,
    PartnershipEnded,
    CoCreationSessionHeld,
    ParticipantAttended,
    NeedDeclared,
    NeedAddressed,
    NeedWithdrawn,
    MilestoneMarked,
    ReviewNoteAdded,
    PersonalDataErased,
);

fn decode_data<T: serde::de::DeserializeOwned>(data: &Value) -> Result<T, FieldError> {
    if !data.is_object() {
        return Err(FieldError::new("data", "must be a JSON object"));
    }
    // Most payloads decode; the path of a failure is tracked only when
    // there is one to tell (tracking it costs an allocation per field).
    if let Ok(decoded) = T::deserialize(data) {
        return Ok(decoded);
    }
    serde_path_to_error::deserialize(data).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner().to_string();
        FieldError::from_serde("data", &path, &inner)
    })
}

impl Event {
    /// Every personal field of this event, in a fixed order: a contact's
    /// person, email and phone, or a participant's code (see
    /// [`crate::personal`]). No other field of the catalogue is personal.
    pub fn personal_fields(&mut self) -> Vec<PersonalField<'_>> {
        let mut out = Vec::new();
        match self {
            Event::StakeholderRegistered(StakeholderRegistered {
                stakeholder,
                contact: Some(c),
                ..
            })
            | Event::StakeholderProfileChanged(StakeholderProfileChanged {
                stakeholder,
                contact: Some(c),
                ..
            }) => c.fields(stakeholder, &mut out),
            Event::ParticipantAttended(d) => out.push(PersonalField {
                path: "data.participant",
                owner: Owner::Participant,
                value: &mut d.participant,
            }),
            _ => {}
        }
        out
    }

    /// Whether this event type can hold personal data.
    pub fn may_hold_personal_data(type_name: &str) -> bool {
        matches!(
            type_name,
            "StakeholderRegistered" | "StakeholderProfileChanged" | "ParticipantAttended"
        )
    }

    /// The stream this event belongs to: `{programme}/{kind}/{id}`. Joined
    /// by `concat`, which sizes the string once: the ledger names the stream
    /// of every event it validates.
    pub fn stream(&self, programme: &ProgrammeId) -> String {
        let (kind, id): (&str, &str) = match self {
            Event::ProgrammeDefined(_) => return [programme.as_str(), "/programme"].concat(),
            Event::StakeholderRegistered(e) => ("stakeholder", e.stakeholder.as_str()),
            Event::StakeholderProfileChanged(e) => ("stakeholder", e.stakeholder.as_str()),
            Event::StakeholderArchived(e) => ("stakeholder", e.stakeholder.as_str()),
            Event::OutreachContactLogged(e) => {
                return [
                    programme.as_str(),
                    "/outreach/",
                    e.from.as_str(),
                    "/",
                    e.to.as_str(),
                ]
                .concat()
            }
            Event::PartnershipFormed(e) => ("partnership", e.partnership.as_str()),
            Event::PartnershipRevised(e) => ("partnership", e.partnership.as_str()),
            Event::PartnershipEnded(e) => ("partnership", e.partnership.as_str()),
            Event::CoCreationSessionHeld(e) => ("session", e.session.as_str()),
            Event::ParticipantAttended(e) => ("session", e.session.as_str()),
            Event::NeedDeclared(e) => ("need", e.need.as_str()),
            Event::NeedAddressed(e) => ("need", e.need.as_str()),
            Event::NeedWithdrawn(e) => ("need", e.need.as_str()),
            Event::MilestoneMarked(e) => ("milestone", e.milestone.as_str()),
            Event::ReviewNoteAdded(e) => ("note", e.note.as_str()),
            Event::PersonalDataErased(_) => return [programme.as_str(), "/erasure"].concat(),
        };
        [programme.as_str(), "/", kind, "/", id].concat()
    }

    /// Every text a person typed into this event, with its path: names,
    /// titles, labels, territories, actions, purposes, reasons, descriptions,
    /// outputs, note texts, a finding's id, and a contact's person and e-mail
    /// address when they are in clear. Ids, themes and enum values are not
    /// listed: their own rules allow only ASCII letters, digits and `_-`.
    pub fn texts(&self) -> Vec<(Cow<'static, str>, &str)> {
        fn put<'a>(
            out: &mut Vec<(Cow<'static, str>, &'a str)>,
            path: &'static str,
            text: Option<&'a str>,
        ) {
            if let Some(t) = text {
                out.push((path.into(), t));
            }
        }
        fn opt<const MAX: usize>(t: &Option<Text<MAX>>) -> Option<&str> {
            t.as_ref().map(Text::as_str)
        }
        let mut out = Vec::new();
        let o = &mut out;
        match self {
            Event::ProgrammeDefined(e) => put(o, "data.name", Some(e.name.as_str())),
            Event::StakeholderRegistered(e) => {
                put(o, "data.name", Some(e.name.as_str()));
                put(o, "data.territory", opt(&e.territory));
                if let Some(c) = &e.contact {
                    c.texts(o);
                }
            }
            Event::StakeholderProfileChanged(e) => {
                put(o, "data.name", opt(&e.name));
                put(o, "data.territory", opt(&e.territory));
                if let Some(c) = &e.contact {
                    c.texts(o);
                }
            }
            Event::StakeholderArchived(e) => put(o, "data.reason", opt(&e.reason)),
            Event::OutreachContactLogged(e) => put(o, "data.purpose", opt(&e.purpose)),
            Event::PartnershipEnded(e) => put(o, "data.reason", opt(&e.reason)),
            Event::CoCreationSessionHeld(e) => {
                put(o, "data.title", Some(e.title.as_str()));
                for (i, output) in e.outputs.iter().enumerate() {
                    o.push((format!("data.outputs[{i}]").into(), output.as_str()));
                }
            }
            Event::NeedDeclared(e) => {
                put(o, "data.action", Some(e.action.as_str()));
                put(o, "data.description", opt(&e.description));
            }
            Event::NeedWithdrawn(e) => put(o, "data.reason", opt(&e.reason)),
            Event::MilestoneMarked(e) => put(o, "data.label", Some(e.label.as_str())),
            Event::ReviewNoteAdded(e) => {
                if let About::Gap(g) = &e.about {
                    put(o, "data.about.gap", Some(g.as_str()));
                }
                put(o, "data.text", Some(e.text.as_str()));
            }
            Event::PersonalDataErased(e) => put(o, "data.reason", opt(&e.reason)),
            Event::PartnershipFormed(_)
            | Event::PartnershipRevised(_)
            | Event::ParticipantAttended(_)
            | Event::NeedAddressed(_) => {}
        }
        out
    }

    /// Every date this event plans ahead, with its path (a follow-up's due
    /// date): the dates that may lie in the future.
    pub fn planned_dates(&self) -> Vec<(&'static str, Day)> {
        match self {
            Event::OutreachContactLogged(OutreachContactLogged {
                follow_up_due: Some(d),
                ..
            }) => vec![("data.follow_up_due", *d)],
            _ => Vec::new(),
        }
    }

    /// The rules a new event's payload keeps beyond those stored events are
    /// read with (decision 011): every text visible
    /// ([`check_visible`]), every planned date on or after 1900-01-01. Stored
    /// events are never held to them, so a log recorded before them reads.
    pub fn check_submitted(&self) -> Vec<FieldError> {
        let texts = self
            .texts()
            .into_iter()
            .filter_map(|(path, t)| check_visible(t).err().map(|m| FieldError::new(path, m)));
        let dates = self
            .planned_dates()
            .into_iter()
            .filter_map(|(path, d)| d.check_earliest().err().map(|m| FieldError::new(path, m)));
        texts.chain(dates).collect()
    }

    /// Rules that need only the payload: count sums, list sizes, a partnership
    /// joining two different stakeholders, a change that changes something,
    /// distrust noted only about a stakeholder.
    pub fn check_shape(&self) -> Vec<FieldError> {
        let mut errs = Vec::new();
        match self {
            Event::StakeholderRegistered(e) => themes_ok(&e.themes, "data.themes", &mut errs),
            Event::StakeholderProfileChanged(e) => {
                if e.name.is_none()
                    && e.kind.is_none()
                    && e.themes.is_none()
                    && e.territory.is_none()
                    && e.contact.is_none()
                    && e.grammar.is_none()
                {
                    errs.push(FieldError::new(
                        "data",
                        "must change at least one of name, kind, themes, territory, contact, grammar",
                    ));
                }
                if let Some(t) = &e.themes {
                    themes_ok(t, "data.themes", &mut errs);
                }
            }
            Event::OutreachContactLogged(e) if e.from == e.to => {
                errs.push(FieldError::new(
                    "data.to",
                    "a contact must go to another stakeholder than `from`",
                ));
            }
            Event::PartnershipFormed(e) => {
                if e.between.len() != 2 {
                    errs.push(FieldError::new(
                        "data.between",
                        format!(
                            "a partnership joins exactly two stakeholders (got {})",
                            e.between.len()
                        ),
                    ));
                } else if e.between[0] == e.between[1] {
                    errs.push(FieldError::new(
                        "data.between",
                        "a partnership joins two different stakeholders",
                    ));
                }
                themes_ok(&e.themes, "data.themes", &mut errs);
                list_ok(&e.groups, "data.groups", &mut errs);
            }
            Event::PartnershipRevised(e) => {
                if e.kind.is_none() && e.themes.is_none() && e.groups.is_none() {
                    errs.push(FieldError::new(
                        "data",
                        "must change at least one of kind, themes, groups",
                    ));
                }
                if let Some(t) = &e.themes {
                    themes_ok(t, "data.themes", &mut errs);
                }
                if let Some(g) = &e.groups {
                    list_ok(g, "data.groups", &mut errs);
                }
            }
            Event::CoCreationSessionHeld(e) => {
                themes_ok(&e.themes, "data.themes", &mut errs);
                for (list, field) in [
                    (&e.stakeholders, "data.stakeholders"),
                    (&e.facilitators, "data.facilitators"),
                    (&e.groups, "data.groups"),
                    (&e.distrusted, "data.distrusted"),
                ] {
                    list_ok(list, field, &mut errs);
                }
                list_ok(&e.outputs, "data.outputs", &mut errs);
                let b = e.beneficiaries;
                let gendered = b.women as u64 + b.men as u64 + b.undisclosed as u64;
                if gendered > b.total as u64 {
                    errs.push(FieldError::new(
                        "data.beneficiaries.total",
                        format!(
                            "women + men + undisclosed ({gendered}) must not exceed total ({})",
                            b.total
                        ),
                    ));
                }
                let visits = b.first_time as u64 + b.returning as u64;
                if visits > b.total as u64 {
                    errs.push(FieldError::new(
                        "data.beneficiaries.total",
                        format!(
                            "first_time + returning ({visits}) must not exceed total ({})",
                            b.total
                        ),
                    ));
                }
            }
            Event::NeedDeclared(e) => list_ok(&e.groups, "data.groups", &mut errs),
            Event::MilestoneMarked(e) => list_ok(&e.stakeholders, "data.stakeholders", &mut errs),
            Event::ReviewNoteAdded(e) => {
                if !e.distrusted_by.is_empty() && !matches!(e.about, About::Stakeholder(_)) {
                    errs.push(FieldError::new(
                        "data.distrusted_by",
                        "is allowed only when `about` is a stakeholder",
                    ));
                }
                list_ok(&e.distrusted_by, "data.distrusted_by", &mut errs);
            }
            Event::NeedAddressed(e) => {
                if e.by.is_empty() {
                    errs.push(FieldError::new(
                        "data.by",
                        "must name at least one stakeholder",
                    ));
                }
                list_ok(&e.by, "data.by", &mut errs);
            }
            _ => {}
        }
        errs
    }
}

fn themes_ok(themes: &[Theme], field: &str, errs: &mut Vec<FieldError>) {
    if themes.len() > MAX_THEMES {
        errs.push(FieldError::new(
            field,
            format!("at most {MAX_THEMES} themes (got {})", themes.len()),
        ));
    }
    for (i, t) in themes.iter().enumerate() {
        if themes[..i].contains(t) {
            errs.push(FieldError::new(
                format!("{field}[{i}]"),
                format!("theme {:?} is listed twice", t.as_str()),
            ));
        }
    }
}

fn list_ok<T: PartialEq>(list: &[T], field: &str, errs: &mut Vec<FieldError>) {
    if list.len() > MAX_LIST {
        errs.push(FieldError::new(
            field,
            format!("at most {MAX_LIST} entries (got {})", list.len()),
        ));
    }
    if let Some(i) = (1..list.len()).find(|&i| list[..i].contains(&list[i])) {
        errs.push(FieldError::new(format!("{field}[{i}]"), "is listed twice"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn unknown_field_is_named() {
        let err = Event::from_parts(
            "StakeholderRegistered",
            &json!({"stakeholder": "bapa", "name": "BAPA", "kind": "integration_agency", "ethnicity": "x"}),
        )
        .unwrap_err();
        assert_eq!(err.field, "data.ethnicity");
    }

    #[test]
    fn nested_unknown_field_and_negative_count_are_named() {
        let err = Event::from_parts(
            "CoCreationSessionHeld",
            &json!({"session": "s1", "title": "T", "level": "consult",
                    "beneficiaries": {"total": 3, "women": -1}}),
        )
        .unwrap_err();
        assert_eq!(err.field, "data.beneficiaries.women");
        let err = Event::from_parts(
            "OutreachContactLogged",
            &json!({"from": "a", "to": "b", "channel": "phone", "outcome": "interested",
                    "nationality": "x"}),
        )
        .unwrap_err();
        assert_eq!(err.field, "data.nationality");
    }

    #[test]
    fn new_fields_come_last_in_canonical_order_and_empty_lists_are_left_out() {
        let e = Event::from_parts(
            "CoCreationSessionHeld",
            &json!({"distrusted": ["sj-ccas"], "outputs": ["A leaflet"], "session": "s",
                    "title": "T", "level": "consult", "beneficiaries": {"total": 0}}),
        )
        .unwrap();
        let keys: Vec<String> = e.data_json().as_object().unwrap().keys().cloned().collect();
        assert_eq!(
            keys,
            [
                "session",
                "title",
                "level",
                "beneficiaries",
                "outputs",
                "distrusted"
            ]
        );
        let e = Event::from_parts(
            "NeedDeclared",
            &json!({"need": "n", "action": "A", "theme": "housing", "groups": []}),
        )
        .unwrap();
        assert_eq!(
            e.data_json(),
            json!({"need": "n", "action": "A", "theme": "housing"})
        );
        let e = Event::from_parts(
            "StakeholderRegistered",
            &json!({"grammar": {"article": false}, "stakeholder": "om",
                    "name": "Orléans Métropole", "kind": "city_service"}),
        )
        .unwrap();
        assert_eq!(
            serde_json::to_string(&e.data_json()).unwrap(),
            r#"{"stakeholder":"om","name":"Orléans Métropole","kind":"city_service","grammar":{"gender":"masculine","number":"singular","article":false}}"#
        );
    }

    #[test]
    fn grammar_defaults_to_masculine_singular_with_an_article() {
        let g = Grammar::default();
        assert_eq!(
            (g.gender, g.number, g.article),
            (Gender::Masculine, GrammaticalNumber::Singular, true)
        );
        let empty: Grammar = serde_json::from_value(json!({})).unwrap();
        assert_eq!(empty, g);
        assert_eq!(
            PartnershipKind::ALL.last(),
            Some(&PartnershipKind::Institutional)
        );
        assert_eq!(
            serde_json::to_value(PartnershipKind::Institutional).unwrap(),
            json!("institutional")
        );
    }

    #[test]
    fn canonical_data_drops_empty_optionals() {
        let e = Event::from_parts(
            "PartnershipFormed",
            &json!({"partnership": "p", "between": ["a", "b"], "kind": "referral", "themes": []}),
        )
        .unwrap();
        assert_eq!(
            e.data_json(),
            json!({"partnership": "p", "between": ["a", "b"], "kind": "referral"})
        );
    }
}
