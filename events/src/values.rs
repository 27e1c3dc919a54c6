//! Value types that carry the rules of PRODUCT.md §2–§3: ids, themes, bounded
//! texts, dates. Each is parsed once, at the boundary, and is valid from then on
//! ("parse, don't validate"). This module knows nothing about events or stores.

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
    /// Parses a text: not blank, at most `MAX` characters, no control characters
    /// other than line breaks and tabs.
    pub fn parse(s: &str) -> Result<Self, String> {
        let t = s.trim();
        if t.is_empty() {
            return Err("must not be empty".into());
        }
        let n = t.chars().count();
        if n > MAX {
            return Err(format!("must be at most {MAX} characters (got {n})"));
        }
        if t.chars()
            .any(|c| c.is_control() && c != '\n' && c != '\t' && c != '\r')
        {
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

impl<'de, const MAX: usize> Deserialize<'de> for Text<MAX> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Self::parse(&s).map_err(de::Error::custom)
    }
}

/// An e-mail address (personal data): at most 254 characters with one `@`
/// between non-empty parts.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Email(String);

impl Email {
    /// Parses an e-mail address.
    pub fn parse(s: &str) -> Result<Self, String> {
        let t = s.trim();
        let ok = t.len() <= 254
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
        let ok = t.len() <= 40
            && digits >= 3
            && t.chars()
                .all(|c| c.is_ascii_digit() || " +().-/".contains(c));
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

/// When something happened in the world. Accepts a date (`2022-02-07`, read as
/// midnight UTC) or an RFC 3339 time; always written as RFC 3339 in UTC.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct OccurredAt(DateTime<Utc>);

impl OccurredAt {
    /// Parses a date or an RFC 3339 time.
    pub fn parse(s: &str) -> Result<Self, String> {
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
        Self::parse(&s).map_err(de::Error::custom)
    }
}

/// A calendar date (`YYYY-MM-DD`), e.g. a follow-up due date.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Day(NaiveDate);

impl Day {
    /// Parses `YYYY-MM-DD`.
    pub fn parse(s: &str) -> Result<Self, String> {
        match NaiveDate::parse_from_str(s, "%Y-%m-%d") {
            Ok(d) if s.len() == 10 => Ok(Self(d)),
            _ => Err(format!(
                "must be a date written YYYY-MM-DD (got {:?})",
                truncate_for_message(s)
            )),
        }
    }

    /// The date.
    pub fn date(&self) -> NaiveDate {
        self.0
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
    fn texts_are_trimmed_bounded_and_not_blank() {
        assert_eq!(Name::parse("  BAPA ").unwrap().as_str(), "BAPA");
        assert!(Name::parse("   ").is_err());
        assert!(Name::parse(&"x".repeat(201)).is_err());
        assert!(Name::parse("a\u{7}b").is_err());
    }
}
