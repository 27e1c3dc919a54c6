//! Personal data (PRODUCT.md §7): which fields of the catalogue hold it, whose
//! it is, and the forms a personal value takes.
//!
//! Two kinds of natural person appear in the log, each a *data subject* with
//! a stable id ([`Subject`]):
//! - the contact person of a stakeholder, `contact:{programme}/{stakeholder}`:
//!   `contact.person`, `contact.email` and `contact.phone` of
//!   `StakeholderRegistered` and `StakeholderProfileChanged`;
//! - a participant, `participant:{programme}/{code}`: `participant` of
//!   `ParticipantAttended`.
//!
//! Nothing else in the catalogue is personal. [`Personal`] is the type of
//! each of these fields: a client sends it in clear; the store keeps it
//! sealed under the subject's data key ([`Sealed`]; the crypto is in
//! [`crate::keyring`]); a reader with the right role sees it opened again,
//! or marked erased once the subject's key is destroyed.
//!
//! This module owns the shapes and the list of personal fields
//! ([`crate::event::Event::personal_fields`]); it does no cryptography and
//! no I/O.

use std::fmt;

use serde::de::{self, MapAccess, Visitor};
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::values::{Email, Name, ParticipantCode, Phone, ProgrammeId, Slug};

/// Which kind of person a subject is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SubjectKind {
    /// The contact person of a stakeholder.
    Contact,
    /// A participant in co-creation sessions, known by a pseudonymous code.
    Participant,
}

impl SubjectKind {
    /// `contact` or `participant`: the prefix of a subject id.
    pub fn as_str(self) -> &'static str {
        match self {
            SubjectKind::Contact => "contact",
            SubjectKind::Participant => "participant",
        }
    }
}

/// A data subject: `contact:{programme}/{stakeholder}` or
/// `participant:{programme}/{code}`.
///
/// A participant's id holds the participant's code, which is personal data:
/// it is never stored in clear, never logged ([`fmt::Debug`] hides it), and
/// an erasure names the participant by its key instead
/// ([`ErasedSubject`]).
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Subject {
    kind: SubjectKind,
    programme: ProgrammeId,
    /// The stakeholder id, or the participant code.
    local: String,
}

impl Subject {
    /// The contact person of `stakeholder` in `programme`.
    pub fn contact(programme: &ProgrammeId, stakeholder: &Slug) -> Self {
        Self {
            kind: SubjectKind::Contact,
            programme: programme.clone(),
            local: stakeholder.as_str().to_owned(),
        }
    }

    /// The participant with `code` in `programme`.
    pub fn participant(programme: &ProgrammeId, code: &ParticipantCode) -> Self {
        Self {
            kind: SubjectKind::Participant,
            programme: programme.clone(),
            local: code.as_str().to_owned(),
        }
    }

    /// Parses a full subject id (`contact:sjdlr/bapa`,
    /// `participant:sjdlr/P-0042`), or, when `programme` is given, also the
    /// short form without it (`contact:bapa`). The error says what is expected.
    pub fn parse(s: &str, programme: Option<&str>) -> Result<Self, String> {
        let expected = "a subject is contact:PROGRAMME/STAKEHOLDER or participant:PROGRAMME/CODE";
        let (kind, rest) = match s.split_once(':') {
            Some(("contact", rest)) => (SubjectKind::Contact, rest),
            Some(("participant", rest)) => (SubjectKind::Participant, rest),
            _ => {
                return Err(format!(
                    "{expected} (it must start with contact: or participant:)"
                ))
            }
        };
        let (programme, local) = match (rest.split_once('/'), programme) {
            (Some((p, local)), given) => {
                if let Some(g) = given.filter(|g| *g != p) {
                    return Err(format!(
                        "the subject names programme {p:?}, but programme {g:?} was given"
                    ));
                }
                (p, local)
            }
            (None, Some(p)) => (p, rest),
            (None, None) => return Err(format!("{expected}: the programme is missing")),
        };
        let programme = ProgrammeId::parse(programme)?;
        let local = match kind {
            SubjectKind::Contact => Slug::parse(local)
                .map_err(|m| format!("the stakeholder of a contact subject: {m}"))?
                .as_str()
                .to_owned(),
            SubjectKind::Participant => ParticipantCode::parse(local)?.as_str().to_owned(),
        };
        Ok(Self {
            kind,
            programme,
            local,
        })
    }

    /// Contact or participant.
    pub fn kind(&self) -> SubjectKind {
        self.kind
    }

    /// The programme.
    pub fn programme(&self) -> &ProgrammeId {
        &self.programme
    }

    /// The stakeholder id of a contact subject (`None` for a participant).
    pub fn stakeholder(&self) -> Option<&str> {
        (self.kind == SubjectKind::Contact).then_some(self.local.as_str())
    }

    /// The full id. For a participant it holds the code: personal data.
    pub fn id(&self) -> String {
        format!("{}:{}/{}", self.kind.as_str(), self.programme, self.local)
    }
}

impl fmt::Display for Subject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.id())
    }
}

impl fmt::Debug for Subject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind {
            SubjectKind::Contact => write!(f, "Subject({})", self.id()),
            SubjectKind::Participant => {
                write!(f, "Subject(participant:{}/…)", self.programme)
            }
        }
    }
}

/// Random bytes in a key id.
const KEY_ID_BYTES: usize = 16;
/// What every key id starts with.
pub const KEY_ID_PREFIX: &str = "k_";

/// A key id as a regex without anchors ([`KeyId::parse`]).
pub(crate) fn key_id_regex() -> String {
    format!("{KEY_ID_PREFIX}[0-9a-f]{{{}}}", 2 * KEY_ID_BYTES)
}

/// The regex of a full subject id ([`Subject::parse`] without a programme).
pub fn subject_pattern() -> String {
    let id = crate::values::id_regex();
    format!(
        "^({}:{id}/{id}|{}:{id}/{})$",
        SubjectKind::Contact.as_str(),
        SubjectKind::Participant.as_str(),
        crate::values::participant_code_regex()
    )
}

/// The regex of an erased subject ([`ErasedSubject::parse`]).
pub fn erased_subject_pattern() -> String {
    let id = crate::values::id_regex();
    format!(
        "^({}:{id}/{id}|{}:{id}/{})$",
        SubjectKind::Contact.as_str(),
        SubjectKind::Participant.as_str(),
        key_id_regex()
    )
}

/// The id of a subject's data key: `k_` and 32 lowercase hex digits, drawn at
/// random when the key is made. Not personal: it links the sealed fields of
/// one subject, nothing more.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct KeyId(String);

impl KeyId {
    /// Parses `k_` and 32 lowercase hex digits.
    pub fn parse(s: &str) -> Result<Self, String> {
        let ok = s.strip_prefix(KEY_ID_PREFIX).is_some_and(|hex| {
            hex.len() == 2 * KEY_ID_BYTES
                && hex
                    .bytes()
                    .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        });
        if ok {
            Ok(Self(s.to_owned()))
        } else {
            Err(format!(
                "a key id is k_ and {} lowercase hex digits",
                2 * KEY_ID_BYTES
            ))
        }
    }

    /// A key id from `KEY_ID_BYTES` random bytes.
    pub fn from_random(bytes: [u8; KEY_ID_BYTES]) -> Self {
        Self(format!("{KEY_ID_PREFIX}{}", hex::encode(bytes)))
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Bytes of the nonce at the head of a sealed value (XChaCha20-Poly1305).
pub const NONCE_BYTES: usize = 24;
/// Bytes of the authentication tag at its end.
pub const TAG_BYTES: usize = 16;
/// Plaintexts are padded to a multiple of this many bytes before sealing, so
/// a sealed value tells its length only to within this.
pub const PAD_BYTES: usize = 32;
/// Longest sealed value, in base64 characters (a 4,000-byte plaintext, padded).
const MAX_SEALED_CHARS: usize = 5_600;

/// A personal value as the store keeps it: the id of its subject's data key
/// and `base64url(nonce ‖ ciphertext ‖ tag)` of the padded plaintext, with
/// the event id and the field's path as associated data. On the wire:
/// `{"key": "k_…", "sealed": "…"}`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Sealed {
    key: KeyId,
    sealed: String,
}

impl Sealed {
    /// A sealed value from its key id and its sealed bytes.
    pub fn new(key: KeyId, bytes: &[u8]) -> Self {
        use base64::Engine as _;
        Self {
            key,
            sealed: base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes),
        }
    }

    /// Checks the shape of `sealed`: base64url without padding, of a length
    /// a padded plaintext can have.
    pub fn parse(key: KeyId, sealed: &str) -> Result<Self, String> {
        let bad = || {
            "a sealed value is base64url (no padding) of nonce, padded ciphertext and tag"
                .to_owned()
        };
        if sealed.len() > MAX_SEALED_CHARS
            || !sealed
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return Err(bad());
        }
        use base64::Engine as _;
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(sealed)
            .map_err(|_| bad())?;
        // NONCE + k·PAD + TAG bytes, with k ≥ 1.
        let body = bytes.len().checked_sub(NONCE_BYTES + TAG_BYTES);
        if !body.is_some_and(|b| b >= PAD_BYTES && b % PAD_BYTES == 0) {
            return Err(bad());
        }
        Ok(Self {
            key,
            sealed: sealed.to_owned(),
        })
    }

    /// The id of the data key it is sealed under.
    pub fn key(&self) -> &KeyId {
        &self.key
    }

    /// The sealed bytes: nonce, ciphertext, tag.
    pub fn bytes(&self) -> Vec<u8> {
        use base64::Engine as _;
        base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(&self.sealed)
            .expect("checked when parsed")
    }

    /// The sealed bytes as stored (base64url).
    pub fn as_str(&self) -> &str {
        &self.sealed
    }
}

/// A value type that may hold personal data: parsed from its clear text.
pub trait PersonalValue: Clone + Send + Sync + 'static {
    /// Parses the clear text; the error names the rule.
    fn parse_clear(s: &str) -> Result<Self, String>;
    /// The clear text.
    fn clear_text(&self) -> &str;
}

macro_rules! personal_value {
    ($($t:ty => $parse:ident),*) => {$(
        impl PersonalValue for $t {
            fn parse_clear(s: &str) -> Result<Self, String> {
                <$t>::$parse(s)
            }
            fn clear_text(&self) -> &str {
                self.as_str()
            }
        }
    )*};
}

// A name is read with the rules of stored events: a sealed name opens as it
// was recorded; a new event's names are checked once more by
// `Event::check_submitted`.
personal_value!(Name => parse_stored, Email => parse, Phone => parse, ParticipantCode => parse);

/// A personal field's value.
///
/// A client sends [`Personal::Clear`]; the store holds only
/// [`Personal::Sealed`]. [`Personal::Erased`] and [`Personal::Unreadable`]
/// are what a reader gets when it opens a sealed value whose key was
/// destroyed, or which no key of this store opens; they are written
/// (`{"erased": true}`, `{"unreadable": true}`) but never accepted as input.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Personal<T> {
    /// In clear, as a client sends it (and as a reader with the right role sees it).
    Clear(T),
    /// Sealed under its subject's data key, as stored.
    Sealed(Sealed),
    /// Its subject's data key was destroyed: the value can never be read again.
    Erased,
    /// No data key of this store opens it.
    Unreadable,
}

impl<T: PersonalValue> Personal<T> {
    /// The clear value, if this holds one.
    pub fn clear(&self) -> Option<&T> {
        match self {
            Personal::Clear(v) => Some(v),
            _ => None,
        }
    }

    /// What identifies the person behind the value, without revealing
    /// anything: the data key's id for a sealed value (one per subject), the
    /// clear text otherwise. Projections count distinct participants with it.
    pub fn pseudonym(&self) -> &str {
        match self {
            Personal::Clear(v) => v.clear_text(),
            Personal::Sealed(s) => s.key().as_str(),
            Personal::Erased => "erased",
            Personal::Unreadable => "unreadable",
        }
    }
}

impl<T: PersonalValue> Serialize for Personal<T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Personal::Clear(v) => s.serialize_str(v.clear_text()),
            Personal::Sealed(sealed) => {
                let mut m = s.serialize_map(Some(2))?;
                m.serialize_entry("key", sealed.key.as_str())?;
                m.serialize_entry("sealed", &sealed.sealed)?;
                m.end()
            }
            Personal::Erased => {
                let mut m = s.serialize_map(Some(1))?;
                m.serialize_entry("erased", &true)?;
                m.end()
            }
            Personal::Unreadable => {
                let mut m = s.serialize_map(Some(1))?;
                m.serialize_entry("unreadable", &true)?;
                m.end()
            }
        }
    }
}

impl<'de, T: PersonalValue> Deserialize<'de> for Personal<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<T>(std::marker::PhantomData<T>);

        impl<'de, T: PersonalValue> Visitor<'de> for V<T> {
            type Value = Personal<T>;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }

            fn visit_str<E: de::Error>(self, s: &str) -> Result<Self::Value, E> {
                T::parse_clear(s).map(Personal::Clear).map_err(E::custom)
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let (mut key, mut sealed) = (None::<String>, None::<String>);
                while let Some(k) = map.next_key::<String>()? {
                    match k.as_str() {
                        "key" if key.is_none() => key = Some(map.next_value()?),
                        "sealed" if sealed.is_none() => sealed = Some(map.next_value()?),
                        "erased" | "unreadable" => {
                            return Err(de::Error::custom(
                                "an erased or unreadable value cannot be recorded; leave the field out",
                            ))
                        }
                        _ => {
                            return Err(de::Error::custom(
                                "must be a string, or a sealed value {\"key\", \"sealed\"} from an export",
                            ))
                        }
                    }
                }
                match (key, sealed) {
                    (Some(k), Some(s)) => {
                        let key = KeyId::parse(&k).map_err(de::Error::custom)?;
                        Sealed::parse(key, &s)
                            .map(Personal::Sealed)
                            .map_err(de::Error::custom)
                    }
                    _ => Err(de::Error::custom(
                        "a sealed value needs both key and sealed",
                    )),
                }
            }
        }

        d.deserialize_any(V(std::marker::PhantomData))
    }
}

/// What a personal field's value is, seen through [`Slot`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SlotState<'a> {
    /// In clear.
    Clear(&'a str),
    /// Sealed.
    Sealed(&'a Sealed),
    /// Erased.
    Erased,
    /// Unreadable.
    Unreadable,
}

/// One personal field of an event, whatever its value type: what sealing,
/// opening and redaction need.
pub trait Slot: Send {
    /// Its current form.
    fn state(&self) -> SlotState<'_>;
    /// Replaces it with a sealed value.
    fn set_sealed(&mut self, sealed: Sealed);
    /// Replaces it with an opened clear text; the error names the rule the
    /// text breaks (a sealed value that opens to something its field would
    /// refuse).
    fn set_clear(&mut self, text: &str) -> Result<(), String>;
    /// Marks it erased.
    fn set_erased(&mut self);
    /// Marks it unreadable.
    fn set_unreadable(&mut self);
}

impl<T: PersonalValue> Slot for Personal<T> {
    fn state(&self) -> SlotState<'_> {
        match self {
            Personal::Clear(v) => SlotState::Clear(v.clear_text()),
            Personal::Sealed(s) => SlotState::Sealed(s),
            Personal::Erased => SlotState::Erased,
            Personal::Unreadable => SlotState::Unreadable,
        }
    }

    fn set_sealed(&mut self, sealed: Sealed) {
        *self = Personal::Sealed(sealed);
    }

    fn set_clear(&mut self, text: &str) -> Result<(), String> {
        *self = Personal::Clear(T::parse_clear(text)?);
        Ok(())
    }

    fn set_erased(&mut self) {
        *self = Personal::Erased;
    }

    fn set_unreadable(&mut self) {
        *self = Personal::Unreadable;
    }
}

/// Whose a personal field is, as far as the event tells without opening it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Owner<'a> {
    /// The contact person of this stakeholder.
    Contact(&'a Slug),
    /// A participant: the subject is the field's own clear value.
    Participant,
}

/// One personal field of an event: its path in the event (`data.contact.email`),
/// whose it is, and its value.
pub struct PersonalField<'a> {
    /// The field's path, the associated data of its sealed form.
    pub path: &'static str,
    /// Whose it is.
    pub owner: Owner<'a>,
    /// Its value.
    pub value: &'a mut dyn Slot,
}

impl PersonalField<'_> {
    /// The subject of this field in `programme`: known from the event for a
    /// contact, from the clear value for a participant (`None` when sealed).
    pub fn subject(&self, programme: &ProgrammeId) -> Option<Subject> {
        match self.owner {
            Owner::Contact(s) => Some(Subject::contact(programme, s)),
            Owner::Participant => match self.value.state() {
                SlotState::Clear(code) => ParticipantCode::parse(code)
                    .ok()
                    .map(|c| Subject::participant(programme, &c)),
                _ => None,
            },
        }
    }
}

/// How an erasure names its subject in the log (`PersonalDataErased.subject`):
/// `contact:{programme}/{stakeholder}` for a contact person, and for a
/// participant `participant:{programme}/{key id}` — the key that was
/// destroyed, never the code.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ErasedSubject(String);

impl ErasedSubject {
    /// The erasure subject of `subject`, whose live data key is `key`.
    pub fn new(subject: &Subject, key: &KeyId) -> Self {
        match subject.kind {
            SubjectKind::Contact => Self(subject.id()),
            SubjectKind::Participant => Self(format!("participant:{}/{}", subject.programme, key)),
        }
    }

    /// Parses either form; a participant must be named by a key id, so that a
    /// code can never be written here.
    pub fn parse(s: &str) -> Result<Self, String> {
        let expected =
            "must be contact:PROGRAMME/STAKEHOLDER or participant:PROGRAMME/KEY (a key id, never a code)";
        let (kind, rest) = s.split_once(':').ok_or_else(|| expected.to_owned())?;
        let (programme, local) = rest.split_once('/').ok_or_else(|| expected.to_owned())?;
        ProgrammeId::parse(programme).map_err(|_| expected.to_owned())?;
        let ok = match kind {
            "contact" => Slug::parse(local).is_ok(),
            "participant" => KeyId::parse(local).is_ok(),
            _ => false,
        };
        if ok {
            Ok(Self(s.to_owned()))
        } else {
            Err(expected.to_owned())
        }
    }

    /// The programme part.
    pub fn programme(&self) -> &str {
        self.0
            .split_once(':')
            .and_then(|(_, rest)| rest.split_once('/'))
            .map(|(p, _)| p)
            .unwrap_or_default()
    }

    /// The stakeholder of a contact erasure.
    pub fn stakeholder(&self) -> Option<&str> {
        self.0
            .strip_prefix("contact:")
            .and_then(|rest| rest.split_once('/'))
            .map(|(_, s)| s)
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ErasedSubject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Serialize for ErasedSubject {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for ErasedSubject {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Self::parse(&s).map_err(de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subjects_parse_in_full_and_short_form_and_hide_codes_in_debug() {
        let s = Subject::parse("participant:sjdlr/P-0042", None).unwrap();
        assert_eq!(s.id(), "participant:sjdlr/P-0042");
        assert!(!format!("{s:?}").contains("P-0042"));
        let c = Subject::parse("contact:bapa", Some("brussels")).unwrap();
        assert_eq!(c.id(), "contact:brussels/bapa");
        assert!(Subject::parse("contact:sjdlr/bapa", Some("brussels")).is_err());
        assert!(Subject::parse("person:sjdlr/x", None).is_err());
        assert!(Subject::parse("contact:bapa", None).is_err());
    }

    #[test]
    fn an_erasure_never_names_a_participant_code() {
        assert!(ErasedSubject::parse("participant:sjdlr/P-0042").is_err());
        let key = KeyId::from_random([7; 16]);
        let s = Subject::parse("participant:sjdlr/P-0042", None).unwrap();
        let e = ErasedSubject::new(&s, &key);
        assert_eq!(e.as_str(), format!("participant:sjdlr/{key}"));
        assert!(ErasedSubject::parse(e.as_str()).is_ok());
        assert_eq!(
            ErasedSubject::parse("contact:sjdlr/bapa")
                .unwrap()
                .stakeholder(),
            Some("bapa")
        );
    }

    #[test]
    fn personal_values_read_clear_or_sealed_and_refuse_markers() {
        let clear: Personal<Email> = serde_json::from_str(r#""a@b.org""#).unwrap();
        assert_eq!(clear.clear().unwrap().as_str(), "a@b.org");
        let bytes = [1u8; NONCE_BYTES + PAD_BYTES + TAG_BYTES];
        let sealed = Sealed::new(KeyId::from_random([1; 16]), &bytes);
        let json = serde_json::to_string(&Personal::<Email>::Sealed(sealed.clone())).unwrap();
        let back: Personal<Email> = serde_json::from_str(&json).unwrap();
        assert_eq!(back, Personal::Sealed(sealed));
        assert_eq!(
            serde_json::to_string(&Personal::<Email>::Erased).unwrap(),
            r#"{"erased":true}"#
        );
        assert!(serde_json::from_str::<Personal<Email>>(r#"{"erased":true}"#).is_err());
        assert!(serde_json::from_str::<Personal<Email>>(r#""not an address""#).is_err());
        let short = format!(
            r#"{{"key":"{}","sealed":"AAAA"}}"#,
            KeyId::from_random([1; 16])
        );
        assert!(serde_json::from_str::<Personal<Email>>(&short).is_err());
    }
}
