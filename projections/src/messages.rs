//! The message catalogue: every word the gap report, the CLI's text and
//! the web pages show, in English and French, once (`messages.json`).
//!
//! A key is namespaced (`finding.dormant_tie.explanation`, `kind.city_service`,
//! `nav.map`); its texts may hold `{name}` placeholders that the caller fills
//! with names, numbers and dates. Enum labels are keyed by the enum's prefix
//! and its snake_case value, in the order the pages list them. The server
//! serves the same file to the pages as `/assets/messages.json`.

use std::collections::HashMap;
use std::sync::OnceLock;

use serde::Deserialize;

/// The catalogue as written, served as it is to the pages.
pub const SOURCE: &str = include_str!("messages.json");

/// A language of the catalogue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    /// English.
    En,
    /// French.
    Fr,
}

impl Lang {
    /// Every language.
    pub const ALL: [Lang; 2] = [Lang::En, Lang::Fr];
}

/// A text in English and French.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Bilingual {
    /// English.
    pub en: String,
    /// French.
    pub fr: String,
}

impl Bilingual {
    /// The text in `lang`.
    pub fn get(&self, lang: Lang) -> &str {
        match lang {
            Lang::En => &self.en,
            Lang::Fr => &self.fr,
        }
    }
}

/// The value of a placeholder: the same in both languages (a name, a
/// number, a date) or one per language (a label, a list joined by "and").
#[derive(Debug, Clone)]
pub enum Arg {
    /// The same text in every language.
    Same(String),
    /// A text per language.
    Each(Bilingual),
}

impl Arg {
    fn get(&self, lang: Lang) -> &str {
        match self {
            Arg::Same(s) => s,
            Arg::Each(b) => b.get(lang),
        }
    }
}

impl From<String> for Arg {
    fn from(s: String) -> Self {
        Arg::Same(s)
    }
}

impl From<&str> for Arg {
    fn from(s: &str) -> Self {
        Arg::Same(s.to_owned())
    }
}

impl From<&String> for Arg {
    fn from(s: &String) -> Self {
        Arg::Same(s.clone())
    }
}

impl From<Bilingual> for Arg {
    fn from(b: Bilingual) -> Self {
        Arg::Each(b)
    }
}

fn catalogue() -> &'static HashMap<String, Bilingual> {
    static CATALOGUE: OnceLock<HashMap<String, Bilingual>> = OnceLock::new();
    CATALOGUE.get_or_init(|| serde_json::from_str(SOURCE).expect("messages.json is valid"))
}

/// Whether the catalogue has `key`.
pub fn has(key: &str) -> bool {
    catalogue().contains_key(key)
}

/// Every key of the catalogue, in no particular order.
pub fn keys() -> impl Iterator<Item = &'static str> {
    catalogue().keys().map(String::as_str)
}

/// The text of `key` in `lang`, its `{name}` placeholders filled from
/// `args`. An unknown key gives the key itself (and fails in debug builds).
pub fn text(key: &str, lang: Lang, args: &[(&str, Arg)]) -> String {
    let Some(entry) = catalogue().get(key) else {
        debug_assert!(false, "no message {key}");
        return key.to_owned();
    };
    fill(entry.get(lang), lang, args)
}

/// The text of `key` in both languages.
pub fn bilingual(key: &str, args: &[(&str, Arg)]) -> Bilingual {
    Bilingual {
        en: text(key, Lang::En, args),
        fr: text(key, Lang::Fr, args),
    }
}

/// The label of an enum value: `prefix.{its snake_case name}`.
pub fn label<T: serde::Serialize>(prefix: &str, value: T) -> Bilingual {
    let name = serde_json::to_value(value)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default();
    bilingual(&format!("{prefix}.{name}"), &[])
}

/// `names` joined with commas and the word of `conjunction` (`list.and`,
/// `list.or`) before the last.
pub fn list(names: &[String], conjunction: &str) -> Bilingual {
    let join = |lang| match names {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!(
            "{} {} {last}",
            init.join(", "),
            text(conjunction, lang, &[])
        ),
    };
    Bilingual {
        en: join(Lang::En),
        fr: join(Lang::Fr),
    }
}

/// The names of the placeholders of a template, in order.
pub fn placeholders(template: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        let after = &rest[open + 1..];
        match after.find('}') {
            Some(close) if is_name(&after[..close]) => {
                out.push(&after[..close]);
                rest = &after[close + 1..];
            }
            _ => rest = after,
        }
    }
    out
}

fn is_name(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// One pass over the template: a value put in is never read again, so a
/// name holding braces stays as it is.
fn fill(template: &str, lang: Lang, args: &[(&str, Arg)]) -> String {
    let mut out = String::with_capacity(template.len() + 32);
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        let name = after.find('}').map(|close| &after[..close]);
        match name.filter(|n| is_name(n)) {
            Some(name) => {
                match args.iter().find(|(k, _)| *k == name) {
                    Some((_, v)) => out.push_str(v.get(lang)),
                    None => {
                        debug_assert!(false, "no value for {{{name}}} in {template}");
                        out.push('{');
                        out.push_str(name);
                        out.push('}');
                    }
                }
                rest = &after[name.len() + 1..];
            }
            None => {
                out.push('{');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gaps::{FindingKind, Severity};
    use crate::model::NeedStatus;
    use passerelle_events::event::{
        Channel, Level, MilestoneKind, Outcome, PartnershipKind, Priority, Role, StakeholderKind,
    };

    #[test]
    fn every_key_has_both_languages_and_the_same_placeholders() {
        assert!(catalogue().len() > 300, "the catalogue is loaded");
        for (key, b) in catalogue() {
            assert!(!b.en.trim().is_empty(), "{key} has no English");
            assert!(!b.fr.trim().is_empty(), "{key} has no French");
            let mut en = placeholders(&b.en);
            let mut fr = placeholders(&b.fr);
            en.sort_unstable();
            fr.sort_unstable();
            en.dedup();
            fr.dedup();
            assert_eq!(en, fr, "{key}: the placeholders differ");
        }
    }

    #[test]
    fn no_key_is_given_twice() {
        // serde_json keeps the last of two equal keys: count them by hand.
        let written = SOURCE.lines().filter(|l| l.trim_start().starts_with('"'));
        let mut seen = std::collections::HashSet::new();
        for line in written {
            let key = line.trim_start().split('"').nth(1).unwrap_or_default();
            assert!(seen.insert(key.to_owned()), "{key} is written twice");
        }
        assert_eq!(seen.len(), catalogue().len());
    }

    fn labelled<T: serde::Serialize + Copy>(prefix: &str, all: &[T]) {
        for v in all {
            let name = serde_json::to_value(v).unwrap();
            let key = format!("{prefix}.{}", name.as_str().unwrap());
            assert!(has(&key), "no label {key}");
        }
        // And no label for a value that does not exist.
        let names: Vec<String> = all
            .iter()
            .map(|v| {
                format!(
                    "{prefix}.{}",
                    serde_json::to_value(v).unwrap().as_str().unwrap()
                )
            })
            .collect();
        let dot = format!("{prefix}.");
        for key in keys().filter(|k| k.starts_with(&dot) && !k[dot.len()..].contains('.')) {
            assert!(names.iter().any(|n| n == key), "{key} labels no value");
        }
    }

    #[test]
    fn every_enum_value_has_its_label() {
        labelled("kind", &StakeholderKind::ALL);
        labelled("channel", &Channel::ALL);
        labelled("outcome", &Outcome::ALL);
        labelled("pkind", &PartnershipKind::ALL);
        labelled("level", &Level::ALL);
        labelled("mkind", &MilestoneKind::ALL);
        labelled("priority", &Priority::ALL);
        labelled("programme.role", &Role::ALL);
        let severities: Vec<&str> = Severity::ALL.iter().map(|s| s.as_str()).collect();
        labelled("severity", &severities);
        let kinds: Vec<&str> = FindingKind::ALL.iter().map(|k| k.as_str()).collect();
        labelled("gapkind", &kinds);
        labelled("gapdesc", &kinds);
        let statuses: Vec<&str> = NeedStatus::ALL.iter().map(|s| s.as_str()).collect();
        labelled("status", &statuses);
    }

    #[test]
    fn placeholders_are_filled_once_per_language() {
        let b = bilingual(
            "finding.isolated_stakeholder.weak.explanation",
            &[
                ("name", "A {other}".into()),
                ("other", "B".into()),
                ("strength", "0.10".into()),
            ],
        );
        assert_eq!(
            b.en,
            "A {other} hangs on a single weak tie, with B (strength 0.10)."
        );
        assert_eq!(
            b.fr,
            "A {other} ne tient qu'à un seul lien faible, avec B (force 0.10)."
        );
        let names = ["a".to_owned(), "b".to_owned(), "c".to_owned()];
        assert_eq!(list(&names, "list.and").fr, "a, b et c");
        assert_eq!(list(&names[..1], "list.or").en, "a");
        assert_eq!(
            label("kind", StakeholderKind::LegalAid).fr,
            "aide juridique"
        );
        assert_eq!(placeholders("{a} {not a name} {b_2}"), ["a", "b_2"]);
    }
}
