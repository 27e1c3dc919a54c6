//! Value types that carry the rules of PRODUCT.md §2–§3: ids, themes, bounded
//! texts, dates. Each is parsed once, at the boundary, and is valid from then on
//! ("parse, don't validate"). This module knows nothing about events or stores.
//!
//! What is typed now is held to more than what the log already holds
//! (decision 011): `Text::parse` and `OccurredAt::parse` keep the rules of new
//! input (something visible, no bidirectional control, no year before 1900);
//! `parse_stored` keeps those a stored event was recorded under, so that a log
//! written before a rule still reads. Deserialising reads with the stored
//! rules; a new event is checked once more by `Event::check_submitted`.

use std::fmt;

use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use serde::{de, Deserialize, Deserializer, Serialize, Serializer};

/// Longest id (programme, stakeholder, partnership, session, need, milestone, note).
pub const MAX_ID_LEN: usize = 64;
/// Longest theme slug.
pub const MAX_THEME_LEN: usize = 40;
/// Most themes on one stakeholder, partnership or session.
pub const MAX_THEMES: usize = 20;
/// Most entries in any other list (stakeholders of a session, outputs, …).
pub const MAX_LIST: usize = 200;
/// Longest e-mail address.
pub const MAX_EMAIL_LEN: usize = 254;
/// Longest phone number.
pub const MAX_PHONE_LEN: usize = 40;
/// Fewest digits in a phone number.
pub const MIN_PHONE_DIGITS: usize = 3;
/// What a phone number may hold besides digits.
pub const PHONE_PUNCTUATION: &str = " +().-/";
/// The control characters a text may hold: line breaks and tabs.
pub const TEXT_CONTROLS_ALLOWED: [char; 3] = ['\n', '\t', '\r'];

/// The regex of an id ([`Slug::parse`], [`ProgrammeId::parse`]).
pub fn id_pattern() -> String {
    format!("^{}$", id_regex())
}

/// An id as a regex without anchors, to be composed into others.
pub(crate) fn id_regex() -> String {
    format!("[a-z0-9][a-z0-9_-]{{0,{}}}", MAX_ID_LEN - 1)
}

/// The regex of a theme ([`Theme::parse`]).
pub fn theme_pattern() -> String {
    format!("^[a-z0-9_]{{1,{MAX_THEME_LEN}}}$")
}

/// A participant code as a regex without anchors ([`ParticipantCode::parse`]).
pub(crate) fn participant_code_regex() -> String {
    format!("[A-Za-z0-9_-]{{1,{MAX_ID_LEN}}}")
}

/// The regex of an e-mail address ([`Email::parse`]), trimmed space allowed
/// around it; its length is [`MAX_EMAIL_LEN`].
pub const EMAIL_PATTERN: &str = "^\\s*[^\\s@]+@[^\\s@]*\\.[^\\s@]*\\s*$";

/// The regex of a phone number ([`Phone::parse`]), trimmed space allowed
/// around it; its length is [`MAX_PHONE_LEN`].
pub fn phone_pattern() -> String {
    let punctuation: String = PHONE_PUNCTUATION
        .chars()
        .map(|c| match c {
            '-' => "\\-".to_owned(),
            c => c.to_string(),
        })
        .collect();
    format!("^\\s*[{punctuation}]*(?:[0-9][{punctuation}]*){{{MIN_PHONE_DIGITS},}}\\s*$")
}

fn is_id(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b.len() <= MAX_ID_LEN
        && (b[0].is_ascii_lowercase() || b[0].is_ascii_digit())
        && b.iter()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'_' || *c == b'-')
}

macro_rules! slug_type {
    ($(#[$doc:meta])* $name:ident, $what:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(String);

        impl $name {
            /// Parses an id: 1–64 characters of `a-z`, `0-9`, `_` and `-`, starting
            /// with a letter or digit.
            pub fn parse(s: &str) -> Result<Self, String> {
                if is_id(s) {
                    Ok(Self(s.to_owned()))
                } else {
                    Err(format!(
                        "{} must be 1–{} characters of a-z, 0-9, '_' or '-', starting with a letter or digit (got {:?})",
                        $what, MAX_ID_LEN, truncate_for_message(s)
                    ))
                }
            }

            /// The id as text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(&self.0)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = String::deserialize(d)?;
                Self::parse(&s).map_err(de::Error::custom)
            }
        }
    };
}

slug_type!(
    /// A programme id, e.g. `sjdlr`.
    ProgrammeId,
    "a programme id"
);
slug_type!(
    /// The id of a stakeholder, partnership, session, need, milestone or note,
    /// unique within its programme and kind.
    Slug,
    "an id"
);

/// A theme: a lowercase slug `[a-z0-9_]{1,40}`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Theme(String);

impl Theme {
    /// The reference vocabulary of PRODUCT.md §2; other slugs are allowed.
    pub const REFERENCE: [&'static str; 15] = [
        "employment",
        "language",
        "housing",
        "social_support",
        "rights",
        "violence_against_women",
        "childcare",
        "interpreting",
        "digital_inclusion",
        "health",
        "education",
        "funding",
        "political_support",
        "precariousness",
        "community_outreach",
    ];

    /// Parses a theme slug.
    pub fn parse(s: &str) -> Result<Self, String> {
        let ok = !s.is_empty()
            && s.len() <= MAX_THEME_LEN
            && s.bytes()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'_');
        if ok {
            Ok(Self(s.to_owned()))
        } else {
            Err(format!(
                "a theme must be 1–{MAX_THEME_LEN} characters of a-z, 0-9 or '_' (got {:?})",
                truncate_for_message(s)
            ))
        }
    }

    /// The theme as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Serialize for Theme {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Theme {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Self::parse(&s).map_err(de::Error::custom)
    }
}

/// A non-empty text of at most `MAX` characters, trimmed of surrounding space.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Text<const MAX: usize>(String);

/// Names, titles, labels, territories, actions: at most 200 characters.
pub type Name = Text<200>;
/// Purposes and reasons: at most 1,000 characters.
pub type Reason = Text<1000>;
/// Descriptions and note texts: at most 4,000 characters.
pub type LongText = Text<4000>;
/// One output of a session: at most 500 characters.
pub type Output = Text<500>;

impl<const MAX: usize> Text<MAX> {
    /// Parses a new text: the rules of [`Text::parse_stored`], and it must be
    /// visible ([`check_visible`]).
    pub fn parse(s: &str) -> Result<Self, String> {
        let t = Self::parse_stored(s)?;
        check_visible(&t.0)?;
        Ok(t)
    }

    /// Parses a text as stored events hold it: not blank, at most `MAX`
    /// characters, no control characters other than line breaks and tabs.
    /// Stored events are read with these rules only, so that a log recorded
    /// before [`check_visible`] existed still reads.
    pub fn parse_stored(s: &str) -> Result<Self, String> {
        let t = s.trim();
        if t.is_empty() {
            return Err("must not be empty".into());
        }
        let n = t.chars().count();
        if n > MAX {
            return Err(format!("must be at most {MAX} characters (got {n})"));
        }
        if t.chars().any(is_refused_control) {
            return Err("must not contain control characters".into());
        }
        Ok(Self(t.to_owned()))
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl<const MAX: usize> Serialize for Text<MAX> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

/// Reads a text with the rules of stored events ([`Text::parse_stored`]):
/// a new event's texts are checked once more by
/// [`crate::event::Event::check_submitted`].
impl<'de, const MAX: usize> Deserialize<'de> for Text<MAX> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Self::parse_stored(&s).map_err(de::Error::custom)
    }
}

/// A control character a text may not hold: all but [`TEXT_CONTROLS_ALLOWED`].
pub fn is_refused_control(c: char) -> bool {
    c.is_control() && !TEXT_CONTROLS_ALLOWED.contains(&c)
}

/// The bidirectional embeddings, overrides and isolates, with their names:
/// each changes how the text around it is ordered on screen, up to the end
/// of the text when left open.
pub const BIDI_CONTROLS: [(char, &str); 9] = [
    ('\u{202A}', "LEFT-TO-RIGHT EMBEDDING"),
    ('\u{202B}', "RIGHT-TO-LEFT EMBEDDING"),
    ('\u{202C}', "POP DIRECTIONAL FORMATTING"),
    ('\u{202D}', "LEFT-TO-RIGHT OVERRIDE"),
    ('\u{202E}', "RIGHT-TO-LEFT OVERRIDE"),
    ('\u{2066}', "LEFT-TO-RIGHT ISOLATE"),
    ('\u{2067}', "RIGHT-TO-LEFT ISOLATE"),
    ('\u{2068}', "FIRST STRONG ISOLATE"),
    ('\u{2069}', "POP DIRECTIONAL ISOLATE"),
];

/// The Default_Ignorable_Code_Point ranges of Unicode 15
/// (`DerivedCoreProperties.txt`, 4,174 code points): characters that show
/// nothing on their own — zero-width space and joiners, word joiner and
/// invisible operators, the byte order mark, the soft hyphen, variation
/// selectors, Hangul fillers, tags, the bidirectional marks and controls.
pub const INVISIBLE: [(char, char); 17] = [
    ('\u{00AD}', '\u{00AD}'),
    ('\u{034F}', '\u{034F}'),
    ('\u{061C}', '\u{061C}'),
    ('\u{115F}', '\u{1160}'),
    ('\u{17B4}', '\u{17B5}'),
    ('\u{180B}', '\u{180F}'),
    ('\u{200B}', '\u{200F}'),
    ('\u{202A}', '\u{202E}'),
    ('\u{2060}', '\u{206F}'),
    ('\u{3164}', '\u{3164}'),
    ('\u{FE00}', '\u{FE0F}'),
    ('\u{FEFF}', '\u{FEFF}'),
    ('\u{FFA0}', '\u{FFA0}'),
    ('\u{FFF0}', '\u{FFF8}'),
    ('\u{1BCA0}', '\u{1BCA3}'),
    ('\u{1D173}', '\u{1D17A}'),
    ('\u{E0000}', '\u{E0FFF}'),
];

/// Whether `c` shows nothing on its own ([`INVISIBLE`]).
pub fn is_invisible(c: char) -> bool {
    INVISIBLE
        .iter()
        .any(|&(first, last)| (first..=last).contains(&c))
}

/// The rules a text typed for a new event must keep beyond its type's
/// (decision 011): no bidirectional embedding, override or isolate
/// (U+202A–U+202E, U+2066–U+2069), which can make a text display as
/// something else; and something visible once the invisible characters
/// ([`is_invisible`]) and spaces are set aside. The bidirectional marks
/// (U+200E, U+200F, U+061C) are allowed: they change no order of letters.
pub fn check_visible(s: &str) -> Result<(), String> {
    if let Some((c, name)) = BIDI_CONTROLS.iter().find(|(c, _)| s.contains(*c)) {
        return Err(format!(
            "must not contain the bidirectional control character U+{:04X} {name} (it can make \
             a text display as something else; the order of right-to-left scripts needs no \
             control character)",
            *c as u32
        ));
    }
    if s.chars().all(|c| is_invisible(c) || c.is_whitespace()) {
        return Err("must not be empty: it holds only invisible characters".into());
    }
    Ok(())
}

/// A regex class body of the characters for which `holds` is true, as
/// ranges: code points up to U+00FF escaped (`\x7F`), the others as themselves.
fn class_of(holds: impl Fn(char) -> bool) -> String {
    fn one(c: char) -> String {
        if (c as u32) <= 0xFF {
            format!("\\x{:02X}", c as u32)
        } else {
            c.to_string()
        }
    }
    let mut out = String::new();
    let mut run: Option<(char, char)> = None;
    let flush = |run: Option<(char, char)>, out: &mut String| {
        if let Some((a, b)) = run {
            out.push_str(&one(a));
            if b != a {
                out.push('-');
                out.push_str(&one(b));
            }
        }
    };
    for c in (0..=0x10FFFF).filter_map(char::from_u32) {
        if !holds(c) {
            continue;
        }
        run = match run {
            Some((a, b)) if b as u32 + 1 == c as u32 => Some((a, c)),
            other => {
                flush(other, &mut out);
                Some((c, c))
            }
        };
    }
    flush(run, &mut out);
    out
}

/// The regexes of a new text ([`Text::parse`]) and of a stored one
/// ([`Text::parse_stored`]), built from the checks themselves: one character
/// that is neither space, control nor (for a new text) invisible, and no
/// refused control nor (for a new text) bidirectional control around it, but
/// any space (a control such as U+000B among them) where it is trimmed.
/// Their length is `MAX` once trimmed, which a regex does not state.
pub fn text_patterns() -> &'static (String, String) {
    static PATTERNS: std::sync::OnceLock<(String, String)> = std::sync::OnceLock::new();
    PATTERNS.get_or_init(|| {
        let refused = class_of(is_refused_control);
        let controls = class_of(char::is_control);
        let invisible = class_of(is_invisible);
        let bidi = class_of(|c| BIDI_CONTROLS.iter().any(|&(b, _)| b == c));
        (
            format!("^\\s*[^{refused}{bidi}]*[^\\s{controls}{invisible}][^{refused}{bidi}]*\\s*$"),
            format!("^\\s*[^{refused}]*[^\\s{controls}][^{refused}]*\\s*$"),
        )
    })
}

/// An e-mail address (personal data): at most 254 characters with one `@`
/// between non-empty parts.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Email(String);

impl Email {
    /// Parses an e-mail address.
    pub fn parse(s: &str) -> Result<Self, String> {
        let t = s.trim();
        let ok = t.len() <= MAX_EMAIL_LEN
            && !t.chars().any(char::is_whitespace)
            && matches!(t.split_once('@'), Some((a, b)) if !a.is_empty() && b.contains('.') && !b.contains('@'));
        if ok {
            Ok(Self(t.to_owned()))
        } else {
            Err("must be an e-mail address such as name@example.org, at most 254 characters".into())
        }
    }

    /// The address.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Serialize for Email {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Email {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Self::parse(&s).map_err(de::Error::custom)
    }
}

/// A phone number (personal data): digits, spaces and `+().-`, at most 40 characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Phone(String);

impl Phone {
    /// Parses a phone number.
    pub fn parse(s: &str) -> Result<Self, String> {
        let t = s.trim();
        let digits = t.chars().filter(char::is_ascii_digit).count();
        let ok = t.len() <= MAX_PHONE_LEN
            && digits >= MIN_PHONE_DIGITS
            && t.chars()
                .all(|c| c.is_ascii_digit() || PHONE_PUNCTUATION.contains(c));
        if ok {
            Ok(Self(t.to_owned()))
        } else {
            Err(
                "must be a phone number: digits, spaces and + ( ) . - /, at most 40 characters"
                    .into(),
            )
        }
    }

    /// The number.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Serialize for Phone {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Phone {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Self::parse(&s).map_err(de::Error::custom)
    }
}

/// A pseudonymous participant code (personal data): 1–64 characters of
/// letters, digits, `_` and `-`. Never a name.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ParticipantCode(String);

impl ParticipantCode {
    /// Parses a participant code.
    pub fn parse(s: &str) -> Result<Self, String> {
        let ok = !s.is_empty()
            && s.len() <= MAX_ID_LEN
            && s.bytes()
                .all(|c| c.is_ascii_alphanumeric() || c == b'_' || c == b'-');
        if ok {
            Ok(Self(s.to_owned()))
        } else {
            Err(format!(
                "a participant code must be 1–{MAX_ID_LEN} characters of letters, digits, '_' or '-'"
            ))
        }
    }

    /// The code.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Serialize for ParticipantCode {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for ParticipantCode {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Self::parse(&s).map_err(de::Error::custom)
    }
}

/// The first day a date of a new event or a query may fall on: an earlier
/// one is a typing error (`0022` for `2022`, `1022`), not a date this tracker
/// has to know.
pub const EARLIEST: NaiveDate = match NaiveDate::from_ymd_opt(1900, 1, 1) {
    Some(d) => d,
    None => panic!("1900-01-01 is a date"),
};

/// The regex of the start of a date or time on or after [`EARLIEST`]: its
/// year, 1900 to 9999 (a unit test checks it against [`EARLIEST`]).
pub const FROM_EARLIEST_PATTERN: &str = "^(19[0-9]{2}|[2-9][0-9]{3})-";

/// The message for a date before [`EARLIEST`].
fn before_earliest(s: &str) -> String {
    format!(
        "must be on or after {EARLIEST}: an earlier year is taken for a typing error (got {:?})",
        truncate_for_message(s)
    )
}

/// When something happened in the world. Accepts a date (`2022-02-07`, read as
/// midnight UTC) or an RFC 3339 time; always written as RFC 3339 in UTC.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct OccurredAt(DateTime<Utc>);

impl OccurredAt {
    /// Parses a date or an RFC 3339 time of a new event or a query: on or
    /// after [`EARLIEST`] (in UTC).
    pub fn parse(s: &str) -> Result<Self, String> {
        let t = Self::parse_stored(s)?;
        if t.0.date_naive() < EARLIEST {
            return Err(before_earliest(s));
        }
        Ok(t)
    }

    /// Parses a date or an RFC 3339 time as stored events hold it, in any
    /// year: a log recorded before the rule of [`EARLIEST`] still reads.
    pub fn parse_stored(s: &str) -> Result<Self, String> {
        if let Ok(t) = DateTime::parse_from_rfc3339(s) {
            return Ok(Self(t.with_timezone(&Utc)));
        }
        if let Ok(d) = NaiveDate::parse_from_str(s, "%Y-%m-%d") {
            if s.len() == 10 {
                return Ok(Self(d.and_hms_opt(0, 0, 0).expect("midnight").and_utc()));
            }
        }
        Err(format!(
            "must be a date (2022-02-07) or an RFC 3339 time (2022-02-07T10:00:00Z) (got {:?})",
            truncate_for_message(s)
        ))
    }

    /// Wraps a time.
    pub fn from_datetime(t: DateTime<Utc>) -> Self {
        Self(t)
    }

    /// The time.
    pub fn datetime(&self) -> DateTime<Utc> {
        self.0
    }

    /// Canonical text: RFC 3339, UTC, `Z`, fractional seconds only when present.
    pub fn to_canonical(&self) -> String {
        self.0.to_rfc3339_opts(SecondsFormat::AutoSi, true)
    }
}

impl fmt::Display for OccurredAt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_canonical())
    }
}

impl Serialize for OccurredAt {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_canonical())
    }
}

impl<'de> Deserialize<'de> for OccurredAt {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Self::parse_stored(&s).map_err(de::Error::custom)
    }
}

/// A calendar date (`YYYY-MM-DD`), e.g. a follow-up due date.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Day(NaiveDate);

impl Day {
    /// Parses `YYYY-MM-DD`, any year: a new event's dates are held to
    /// [`Day::check_earliest`] as well
    /// ([`crate::event::Event::check_submitted`]).
    pub fn parse(s: &str) -> Result<Self, String> {
        match NaiveDate::parse_from_str(s, "%Y-%m-%d") {
            Ok(d) if s.len() == 10 => Ok(Self(d)),
            _ => Err(format!(
                "must be a date written YYYY-MM-DD (got {:?})",
                truncate_for_message(s)
            )),
        }
    }

    /// Wraps a date.
    pub fn from_date(d: NaiveDate) -> Self {
        Self(d)
    }

    /// The date.
    pub fn date(&self) -> NaiveDate {
        self.0
    }

    /// Refuses a date before [`EARLIEST`].
    pub fn check_earliest(&self) -> Result<(), String> {
        if self.0 < EARLIEST {
            return Err(before_earliest(&self.0.format("%Y-%m-%d").to_string()));
        }
        Ok(())
    }
}

impl Serialize for Day {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0.format("%Y-%m-%d").to_string())
    }
}

impl<'de> Deserialize<'de> for Day {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Self::parse(&s).map_err(de::Error::custom)
    }
}

/// Keeps error messages short when the offending input is long.
pub(crate) fn truncate_for_message(s: &str) -> String {
    if s.chars().count() <= 40 {
        s.to_owned()
    } else {
        format!("{}…", s.chars().take(40).collect::<String>())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_accept_slugs_and_refuse_the_rest() {
        assert!(Slug::parse("bapa-via").is_ok());
        assert!(Slug::parse("maison_des_femmes2").is_ok());
        assert!(Slug::parse("").is_err());
        assert!(Slug::parse("-x").is_err());
        assert!(Slug::parse("Upper").is_err());
        assert!(Slug::parse(&"a".repeat(65)).is_err());
    }

    #[test]
    fn themes_are_lowercase_slugs_of_at_most_40() {
        assert!(Theme::parse("violence_against_women").is_ok());
        assert!(Theme::parse("with-dash").is_err());
        assert!(Theme::parse(&"a".repeat(41)).is_err());
    }

    #[test]
    fn occurred_at_takes_dates_and_times_and_writes_utc() {
        let d = OccurredAt::parse("2022-02-07").unwrap();
        assert_eq!(d.to_canonical(), "2022-02-07T00:00:00Z");
        let t = OccurredAt::parse("2022-02-07T11:00:00+01:00").unwrap();
        assert_eq!(t.to_canonical(), "2022-02-07T10:00:00Z");
        assert!(OccurredAt::parse("7 Feb 2022").is_err());
        assert!(OccurredAt::parse("2022-2-7").is_err());
    }

    #[test]
    fn dates_before_1900_are_refused_for_new_input_only() {
        for s in [
            "1899-12-31",
            "0000-01-01",
            "0000-01-01T00:00:00Z",
            "1900-01-01T00:30:00+01:00",
        ] {
            let m = OccurredAt::parse(s).expect_err(s);
            assert!(m.contains("1900-01-01"), "{s}: {m}");
            assert!(
                OccurredAt::parse_stored(s).is_ok(),
                "{s} is read from a stored event"
            );
        }
        assert!(OccurredAt::parse("1900-01-01").is_ok());
        let old = Day::parse("1850-06-01").expect("a stored date reads");
        assert!(old.check_earliest().is_err());
        assert!(Day::parse("1900-01-01").unwrap().check_earliest().is_ok());
    }

    #[test]
    fn the_invisible_characters_are_the_default_ignorable_code_points() {
        let count = (0..=0x10FFFF)
            .filter_map(char::from_u32)
            .filter(|c| is_invisible(*c))
            .count();
        assert_eq!(
            count, 4174,
            "Unicode 15 has 4,174 default ignorable code points"
        );
        for c in [
            '\u{00AD}', '\u{200B}', '\u{2064}', '\u{FEFF}', '\u{FE0F}', '\u{3164}',
        ] {
            assert!(is_invisible(c), "U+{:04X}", c as u32);
        }
        assert!(!is_invisible(' ') && !is_invisible('a') && !is_invisible('\u{0627}'));
    }

    #[test]
    fn new_texts_are_visible_and_free_of_bidirectional_controls() {
        assert!(Name::parse("\u{200B}\u{FEFF}").is_err());
        assert!(Name::parse(" \u{00AD} \u{2060} ").is_err());
        let m = Name::parse("abc\u{202E}def").unwrap_err();
        assert!(m.contains("U+202E RIGHT-TO-LEFT OVERRIDE"), "{m}");
        let m = Reason::parse("x\u{2068}y").unwrap_err();
        assert!(m.contains("U+2068"), "{m}");
        assert!(
            Name::parse("\u{200F}بيت\u{200F}").is_ok(),
            "marks are allowed"
        );
        assert!(Name::parse("ትግራይ").is_ok());
        // What stored events were held to.
        assert_eq!(
            Name::parse_stored("abc\u{202E}def").unwrap().as_str(),
            "abc\u{202E}def"
        );
        assert!(Name::parse_stored("\u{200B}").is_ok());
    }

    #[test]
    fn texts_are_trimmed_bounded_and_not_blank() {
        assert_eq!(Name::parse("  BAPA ").unwrap().as_str(), "BAPA");
        assert!(Name::parse("   ").is_err());
        assert!(Name::parse(&"x".repeat(201)).is_err());
        assert!(Name::parse("a\u{7}b").is_err());
    }
}
