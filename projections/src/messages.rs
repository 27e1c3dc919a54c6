//! The message catalogue: every word the gap report, the CLI's text and
//! the web pages show, in English and French, once (`messages.json`).
//!
//! A key is namespaced (`finding.dormant_tie.explanation`, `kind.city_service`,
//! `nav.map`); its texts may hold `{name}` placeholders that the caller fills
//! with names, numbers and dates. Enum labels are keyed by the enum's prefix
//! and its snake_case value, in the order the pages list them. The server
//! serves the same file to the pages as `/assets/messages.json`.
//!
//! This module also owns how a value is written in each language, so that
//! no caller formats a date or a number itself: [`date`] ("1er avril 2021"),
//! [`decimal`] ("0,10"), [`percent`] ("81 %"), [`count`] ("1 234"),
//! [`theme`] ("accès aux droits"), and French noun phrases ([`Noun`],
//! [`nouns`]) whose article, contractions and agreement a template picks
//! with a form after `|`: `{a}` "le CCAS", `{a|de}` "du CCAS", `{a|à}` "au
//! CCAS", `{a|e}` "" or "e". It knows no read model: callers bring the
//! values, this module only writes them.

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

/// The template of `key` in `lang` as written, placeholders unfilled.
pub fn template(key: &str, lang: Lang) -> Option<&'static str> {
    catalogue().get(key).map(|b| b.get(lang))
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
    Bilingual {
        en: join(names, conjunction, Lang::En),
        fr: join(names, conjunction, Lang::Fr),
    }
}

/// The value of a placeholder: the same in both languages (a name, a
/// number), one per language (a label, a date, a list joined by "and"), or
/// a noun phrase whose French forms the template chooses (`{a|de}`).
#[derive(Debug, Clone)]
pub enum Arg {
    /// The same text in every language.
    Same(String),
    /// A text per language.
    Each(Bilingual),
    /// One or more nouns (stakeholders' names) with their gender, number
    /// and article: see [`Noun`] and [`nouns`].
    Nouns(NounPhrase),
}

impl Arg {
    /// The text of the argument in `lang`, in the `form` a placeholder
    /// asks for (`None`: the plain `{name}`).
    fn render(&self, lang: Lang, form: Option<Form>) -> String {
        match self {
            Arg::Nouns(p) => p.render(lang, form),
            Arg::Same(s) => plain(s, lang, form),
            Arg::Each(b) => plain(b.get(lang), lang, form),
        }
    }
}

/// A text that is not a noun, given a form: read as a masculine singular
/// name without article ("de Brussels", "à Brussels"), so a caller that
/// passes a plain name still gets a French sentence.
fn plain(s: &str, lang: Lang, form: Option<Form>) -> String {
    if let (Some(f), Some(n)) = (form, number(s)) {
        if !f.names() {
            return agree_with_count(n, lang, f);
        }
    }
    let noun = Noun {
        name: s.to_owned(),
        feminine: false,
        plural: false,
        article: false,
    };
    match form {
        None | Some(Form::Bare) => s.to_owned(),
        Some(f) => noun.form(lang, f, false, false),
    }
}

/// The whole number a text writes ("12", "1 234"), if it is one.
fn number(s: &str) -> Option<u64> {
    let digits: String = s.chars().filter(|c| *c != NARROW_NBSP).collect();
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// An agreement token after a count ("{n} contact{n|s}"): French puts
/// the plural from 2 on, English for every count but 1. English knows
/// only `s`; French agrees in the masculine.
fn agree_with_count(n: u64, lang: Lang, form: Form) -> String {
    match lang {
        Lang::En if form == Form::S && n != 1 => "s".to_owned(),
        Lang::En => String::new(),
        Lang::Fr => Noun::proper(String::new()).form(lang, form, false, n >= 2),
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

impl From<Noun> for Arg {
    fn from(n: Noun) -> Self {
        Arg::Nouns(NounPhrase {
            items: vec![n],
            conjunction: String::new(),
        })
    }
}

/// A name as French grammar needs it: its gender, its number and whether
/// it takes the definite article ("le CCAS", "la Maison des Femmes",
/// "l'ASTI", "les femmes-relais"; "Orléans Métropole" takes none).
///
/// In a template, `{a}` is the name with its article, and `{a|form}`
/// another form: `de` ("du CCAS", "de la …", "de l'…", "des …", "d'Orléans
/// Métropole"), `à` ("au", "à la", "à l'", "aux", "à …"), `nu` (the bare
/// name), and the agreement tokens `e` (""/"e"), `s` (""/"s"), `es`
/// (""/"e"/"s"/"es"), `il` (il/elle/ils/elles), `le` (le/la/les, an object
/// pronoun), `lui` (lui/elle/eux/elles, after a preposition), `est`
/// (est/sont), `a` (a/ont) and `n` (""/"nt", a verb's ending: "relie{a|n}").
/// English has no such forms: every naming form is the bare name and every
/// agreement token is empty. A count ([`count`], or a plain text that is a
/// whole number) takes agreement tokens too: `{n} contact{n|s}` is "1
/// contact", "2 contacts" in both languages (French plural from 2 on).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Noun {
    /// The name as written ("CCAS", "Maison des Femmes").
    pub name: String,
    /// Whether the name is feminine in French.
    pub feminine: bool,
    /// Whether the name is plural in French ("femmes-relais").
    pub plural: bool,
    /// Whether the name takes the definite article in French.
    pub article: bool,
}

impl Noun {
    /// A masculine singular name without article: a place, a person, a
    /// name whose grammar nobody recorded.
    pub fn proper(name: impl Into<String>) -> Noun {
        Noun {
            name: name.into(),
            feminine: false,
            plural: false,
            article: false,
        }
    }

    /// The name in `form`; `plural` and `feminine` are those of the phrase
    /// it belongs to (they matter for agreement tokens only).
    fn form(&self, lang: Lang, form: Form, feminine: bool, plural: bool) -> String {
        let name = &self.name;
        if lang == Lang::En {
            return if form.names() {
                name.clone()
            } else {
                String::new()
            };
        }
        let vowel = elides(name);
        let article = match (self.article, self.plural, self.feminine, vowel) {
            (false, ..) => None,
            (true, true, ..) => Some(Article::Les),
            (true, false, _, true) => Some(Article::L),
            (true, false, true, false) => Some(Article::La),
            (true, false, false, false) => Some(Article::Le),
        };
        let agree = |m: &str, f: &str, mp: &str, fp: &str| {
            match (feminine, plural) {
                (false, false) => m,
                (true, false) => f,
                (false, true) => mp,
                (true, true) => fp,
            }
            .to_owned()
        };
        match form {
            Form::Bare => name.clone(),
            Form::Article => match article {
                None => name.clone(),
                Some(Article::Le) => format!("le {name}"),
                Some(Article::La) => format!("la {name}"),
                Some(Article::L) => format!("l'{name}"),
                Some(Article::Les) => format!("les {name}"),
            },
            Form::De => match article {
                None if vowel => format!("d'{name}"),
                None => format!("de {name}"),
                Some(Article::Le) => format!("du {name}"),
                Some(Article::La) => format!("de la {name}"),
                Some(Article::L) => format!("de l'{name}"),
                Some(Article::Les) => format!("des {name}"),
            },
            Form::A => match article {
                None => format!("à {name}"),
                Some(Article::Le) => format!("au {name}"),
                Some(Article::La) => format!("à la {name}"),
                Some(Article::L) => format!("à l'{name}"),
                Some(Article::Les) => format!("aux {name}"),
            },
            Form::E => agree("", "e", "", "e"),
            Form::S => agree("", "", "s", "s"),
            Form::Es => agree("", "e", "s", "es"),
            Form::Il => agree("il", "elle", "ils", "elles"),
            Form::Le => agree("le", "la", "les", "les"),
            Form::Lui => agree("lui", "elle", "eux", "elles"),
            Form::Est => agree("est", "est", "sont", "sont"),
            Form::Avoir => agree("a", "a", "ont", "ont"),
            Form::N => agree("", "", "nt", "nt"),
        }
    }
}

#[derive(Debug, Clone, Copy)]
enum Article {
    Le,
    La,
    L,
    Les,
}

/// Words whose h is aspirated: no elision before them ("le Hameau").
const H_ASPIRE: [&str; 14] = [
    "halte",
    "hall",
    "hameau",
    "handicap",
    "hangar",
    "harcèlement",
    "haut",
    "havre",
    "héros",
    "honte",
    "hors",
    "hublot",
    "hutte",
    "hongr",
];

/// Whether an article or "de" elides before `name`: a vowel, or an h
/// that is not aspirated.
fn elides(name: &str) -> bool {
    let lower = name.to_lowercase();
    match lower.chars().next() {
        Some(c) if "aàâäeéèêëiîïoôöuùûüyœæ".contains(c) => true,
        Some('h') => !H_ASPIRE.iter().any(|w| lower.starts_with(w)),
        _ => false,
    }
}

/// One or more nouns joined with a conjunction, as one placeholder's value:
/// made by `Noun::into()` or [`nouns`].
#[derive(Debug, Clone)]
pub struct NounPhrase {
    items: Vec<Noun>,
    /// The key of the conjunction (`list.and`); unused for one noun.
    conjunction: String,
}

impl NounPhrase {
    /// Feminine only when every noun is.
    fn feminine(&self) -> bool {
        !self.items.is_empty() && self.items.iter().all(|n| n.feminine)
    }

    /// Plural when it lists more than one noun, or its one noun is.
    fn plural(&self) -> bool {
        self.items.len() > 1 || self.items.iter().any(|n| n.plural)
    }

    fn render(&self, lang: Lang, form: Option<Form>) -> String {
        let form = form.unwrap_or(Form::Article);
        let (feminine, plural) = (self.feminine(), self.plural());
        if !form.names() {
            return match self.items.first() {
                Some(n) => n.form(lang, form, feminine, plural),
                None => String::new(),
            };
        }
        let each: Vec<String> = self
            .items
            .iter()
            .map(|n| n.form(lang, form, n.feminine, n.plural))
            .collect();
        match each.as_slice() {
            [] => String::new(),
            [one] => one.clone(),
            [init @ .., last] => format!(
                "{} {} {last}",
                init.join(", "),
                text(&self.conjunction, lang, &[])
            ),
        }
    }
}

/// `list` as one noun phrase: "le CCAS, la Maison des Femmes et l'ASTI"
/// (`{a}`), "du CCAS, de la Maison des Femmes et de l'ASTI" (`{a|de}`).
/// The phrase is plural when it holds more than one noun, and feminine
/// only when every noun is; `conjunction_key` is `list.and` or `list.or`.
pub fn nouns(list: Vec<Noun>, conjunction_key: &str) -> Arg {
    debug_assert!(has(conjunction_key), "no conjunction {conjunction_key}");
    Arg::Nouns(NounPhrase {
        items: list,
        conjunction: conjunction_key.to_owned(),
    })
}

/// The form a placeholder asks for after its `|`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Form {
    /// `{a}`: with its article.
    Article,
    /// `nu`.
    Bare,
    /// `de`.
    De,
    /// `à`.
    A,
    /// `e`.
    E,
    /// `s`.
    S,
    /// `es`.
    Es,
    /// `il`.
    Il,
    /// `le`.
    Le,
    /// `lui`.
    Lui,
    /// `est`.
    Est,
    /// `a`.
    Avoir,
    /// `n`.
    N,
}

impl Form {
    /// The forms a template may write after `|`.
    const WRITTEN: [(&'static str, Form); 12] = [
        ("nu", Form::Bare),
        ("de", Form::De),
        ("à", Form::A),
        ("e", Form::E),
        ("s", Form::S),
        ("es", Form::Es),
        ("il", Form::Il),
        ("le", Form::Le),
        ("lui", Form::Lui),
        ("est", Form::Est),
        ("a", Form::Avoir),
        ("n", Form::N),
    ];

    fn parse(s: &str) -> Option<Form> {
        Self::WRITTEN.iter().find(|(w, _)| *w == s).map(|(_, f)| *f)
    }

    /// Whether the form names the noun (rather than agreeing with it).
    fn names(self) -> bool {
        matches!(self, Form::Article | Form::Bare | Form::De | Form::A)
    }
}

/// Whether `s` is a form a placeholder may ask for (`de`, `à`, `e`…).
pub fn is_form(s: &str) -> bool {
    Form::parse(s).is_some()
}

const MONTHS_EN: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];
const MONTHS_FR: [&str; 12] = [
    "janvier",
    "février",
    "mars",
    "avril",
    "mai",
    "juin",
    "juillet",
    "août",
    "septembre",
    "octobre",
    "novembre",
    "décembre",
];

/// The narrow no-break space French puts before ; : ! ? and %, and
/// between groups of thousands.
pub const NARROW_NBSP: char = '\u{202F}';

/// A day as people write it: "15 April 2021", "15 avril 2021" ("1er avril
/// 2021" on the first of a month).
pub fn date(d: chrono::NaiveDate) -> Arg {
    use chrono::Datelike;
    let m = d.month0() as usize;
    let day = d.day();
    let fr_day = if day == 1 {
        "1er".to_owned()
    } else {
        day.to_string()
    };
    Arg::Each(Bilingual {
        en: format!("{day} {} {}", MONTHS_EN[m], d.year()),
        fr: format!("{fr_day} {} {}", MONTHS_FR[m], d.year()),
    })
}

/// The day (UTC) of a time, as [`date`] writes it.
pub fn day(t: chrono::DateTime<chrono::Utc>) -> Arg {
    date(t.date_naive())
}

/// `x` with `places` decimals: "0.10", "0,10" (and "−0,25", "1 234,50":
/// French writes the minus sign and groups thousands). A value that is
/// not a number is "—".
pub fn decimal(x: f64, places: usize) -> Arg {
    if !x.is_finite() {
        return Arg::Same("—".to_owned());
    }
    let en = format!("{x:.places$}");
    // "-0.00" is zero.
    let en = match en.strip_prefix('-') {
        Some(abs) if abs.bytes().all(|b| b == b'0' || b == b'.') => abs.to_owned(),
        _ => en,
    };
    let (sign, abs) = match en.strip_prefix('-') {
        Some(abs) => ("\u{2212}", abs),
        None => ("", en.as_str()),
    };
    let (int, frac) = abs.split_once('.').unwrap_or((abs, ""));
    let mut fr = format!("{sign}{}", group(int));
    if !frac.is_empty() {
        fr.push(',');
        fr.push_str(frac);
    }
    Arg::Each(Bilingual { en, fr })
}

/// A share in [0, 1] as a whole percentage: "81%", "81 %" (a narrow
/// no-break space before % in French).
pub fn percent(share: f64) -> Arg {
    if !share.is_finite() {
        return Arg::Same("—".to_owned());
    }
    let n = (share * 100.0).round();
    let n = if n == 0.0 { 0.0 } else { n };
    Arg::Each(Bilingual {
        en: format!("{n:.0}%"),
        fr: format!("{n:.0}{NARROW_NBSP}%"),
    })
}

/// A count: "1234" in English, "1 234" in French (groups of thousands
/// split by a narrow no-break space).
pub fn count(n: usize) -> Arg {
    let en = n.to_string();
    let fr = group(&en);
    if fr == en {
        Arg::Same(en)
    } else {
        Arg::Each(Bilingual { en, fr })
    }
}

/// Digits grouped by three with narrow no-break spaces, French style.
fn group(digits: &str) -> String {
    let len = digits.len();
    let mut out = String::with_capacity(len + len / 3 * 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (len - i).is_multiple_of(3) {
            out.push(NARROW_NBSP);
        }
        out.push(c);
    }
    out
}

fn theme_words(slug: &str) -> Bilingual {
    let key = format!("theme.{slug}");
    match catalogue().get(&key) {
        Some(b) => b.clone(),
        None => {
            let words = slug.replace('_', " ");
            Bilingual {
                en: words.clone(),
                fr: words,
            }
        }
    }
}

/// A theme: its label (`theme.<slug>`) when the catalogue has one ("accès
/// aux droits"), otherwise the slug with spaces for `_`.
pub fn theme(slug: &str) -> Arg {
    Arg::Each(theme_words(slug))
}

/// Themes joined with commas and `conjunction` (`list.and`, `list.or`).
pub fn themes<S: AsRef<str>>(slugs: &[S], conjunction: &str) -> Arg {
    let labels: Vec<Bilingual> = slugs.iter().map(|s| theme_words(s.as_ref())).collect();
    let join = |lang| {
        let words: Vec<String> = labels.iter().map(|b| b.get(lang).to_owned()).collect();
        join(&words, conjunction, lang)
    };
    Arg::Each(Bilingual {
        en: join(Lang::En),
        fr: join(Lang::Fr),
    })
}

fn join(words: &[String], conjunction: &str, lang: Lang) -> String {
    match words {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!(
            "{} {} {last}",
            init.join(", "),
            text(conjunction, lang, &[])
        ),
    }
}

/// The names of the placeholders of a template, in order: `{a}` and
/// `{a|de}` both name `a`.
pub fn placeholders(template: &str) -> Vec<&str> {
    forms(template).into_iter().map(|(name, _)| name).collect()
}

/// The placeholders of a template with the form each asks for after its
/// `|` (`None` for a plain `{a}`), in order. A `{…}` that is not a name,
/// optionally followed by `|` and a word, is text.
pub fn forms(template: &str) -> Vec<(&str, Option<&str>)> {
    let mut out = Vec::new();
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        let after = &rest[open + 1..];
        match after.find('}').and_then(|close| split(&after[..close])) {
            Some((name, form)) => {
                out.push((name, form));
                let len = name.len() + form.map_or(0, |f| f.len() + 1);
                rest = &after[len + 1..];
            }
            None => rest = after,
        }
    }
    out
}

/// `name` or `name|form` as a placeholder's parts.
fn split(inside: &str) -> Option<(&str, Option<&str>)> {
    let (name, form) = match inside.split_once('|') {
        Some((name, form)) => (name, Some(form)),
        None => (inside, None),
    };
    let word = |f: &str| !f.is_empty() && f.chars().all(char::is_alphabetic);
    (is_name(name) && form.is_none_or(word)).then_some((name, form))
}

fn is_name(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// Whether text written so far ends where a sentence starts.
fn sentence_starts(out: &str) -> bool {
    let t = out.trim_end_matches([' ', '\u{a0}', NARROW_NBSP]);
    t.is_empty() || t.ends_with(['.', '!', '?', '\n'])
}

/// `s` with its first letter in upper case.
fn capitalised(s: String) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(c) if c.is_lowercase() => c.to_uppercase().chain(chars).collect(),
        _ => s,
    }
}

/// One pass over the template: a value put in is never read again, so a
/// name holding braces stays as it is. A noun or a label that starts a
/// sentence takes a capital ("Le CCAS …").
fn fill(template: &str, lang: Lang, args: &[(&str, Arg)]) -> String {
    let mut out = String::with_capacity(template.len() + 32);
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        let inside = after.find('}').map(|close| &after[..close]);
        match inside.and_then(split) {
            Some((name, written)) => {
                let form = written.and_then(Form::parse);
                debug_assert!(
                    written.is_none() || form.is_some(),
                    "no form {written:?} in {template}"
                );
                match args.iter().find(|(k, _)| *k == name) {
                    Some((_, v)) => {
                        let value = v.render(lang, form);
                        if sentence_starts(&out) && !matches!(v, Arg::Same(_)) {
                            out.push_str(&capitalised(value));
                        } else {
                            out.push_str(&value);
                        }
                    }
                    None => {
                        debug_assert!(false, "no value for {{{name}}} in {template}");
                        out.push('{');
                        out.push_str(inside.unwrap_or(name));
                        out.push('}');
                    }
                }
                rest = &after[inside.map_or(0, str::len) + 1..];
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

    fn fr(template: &str, args: &[(&str, Arg)]) -> String {
        fill(template, Lang::Fr, args)
    }

    fn en(template: &str, args: &[(&str, Arg)]) -> String {
        fill(template, Lang::En, args)
    }

    fn noun(name: &str, feminine: bool, plural: bool, article: bool) -> Noun {
        Noun {
            name: name.to_owned(),
            feminine,
            plural,
            article,
        }
    }

    fn ccas() -> Noun {
        noun("CCAS", false, false, true)
    }
    fn maison() -> Noun {
        noun("Maison des Femmes", true, false, true)
    }
    fn asti() -> Noun {
        noun("ASTI", true, false, true)
    }
    fn relais() -> Noun {
        noun("femmes-relais", true, true, true)
    }
    fn metropole() -> Noun {
        noun("Orléans Métropole", true, false, false)
    }

    #[test]
    fn a_noun_takes_its_article_and_its_contractions() {
        let forms = |n: Noun| {
            let a = [("a", Arg::from(n))];
            [
                fr("{a}", &a),
                fr("x {a|de}", &a),
                fr("x {a|à}", &a),
                fr("x {a|nu}", &a),
            ]
        };
        assert_eq!(
            forms(ccas()),
            ["Le CCAS", "x du CCAS", "x au CCAS", "x CCAS"]
        );
        assert_eq!(
            forms(maison()),
            [
                "La Maison des Femmes",
                "x de la Maison des Femmes",
                "x à la Maison des Femmes",
                "x Maison des Femmes"
            ]
        );
        assert_eq!(
            forms(asti()),
            ["L'ASTI", "x de l'ASTI", "x à l'ASTI", "x ASTI"]
        );
        assert_eq!(
            forms(relais()),
            [
                "Les femmes-relais",
                "x des femmes-relais",
                "x aux femmes-relais",
                "x femmes-relais"
            ]
        );
        assert_eq!(
            forms(metropole()),
            [
                "Orléans Métropole",
                "x d'Orléans Métropole",
                "x à Orléans Métropole",
                "x Orléans Métropole"
            ]
        );
        let hotel = [("a", Arg::from(noun("Hôtel social", false, false, true)))];
        assert_eq!(fr("x {a|de}", &hotel), "x de l'Hôtel social");
        let hameau = [("a", Arg::from(noun("Hameau", false, false, true)))];
        assert_eq!(fr("x {a|de}", &hameau), "x du Hameau");
        let brussels = [("a", Arg::from(Noun::proper("Brussels")))];
        assert_eq!(fr("x {a|de}", &brussels), "x de Brussels");
    }

    #[test]
    fn agreement_follows_gender_and_number() {
        let t = "{a} {a|est} enregistré{a|es} ; {a|il} relie{a|n} tout, sans {a|lui}. \
                 On {a|le} voit : acteur{a|s} seul{a|e}{a|s}, {a|il} {a|a} des liens.";
        let a = |n: Noun| fr(t, &[("a", n.into())]);
        assert_eq!(
            a(ccas()),
            "Le CCAS est enregistré ; il relie tout, sans lui. \
             On le voit : acteur seul, il a des liens."
        );
        assert_eq!(
            a(maison()),
            "La Maison des Femmes est enregistrée ; elle relie tout, sans elle. \
             On la voit : acteur seule, elle a des liens."
        );
        assert_eq!(
            a(relais()),
            "Les femmes-relais sont enregistrées ; elles relient tout, sans elles. \
             On les voit : acteurs seules, elles ont des liens."
        );
        // English: the bare name, no agreement.
        assert_eq!(
            en("{a|de} {a|e}{a|s}x {a|à}", &[("a", ccas().into())]),
            "CCAS x CCAS"
        );
    }

    #[test]
    fn a_list_of_nouns_is_plural_and_feminine_only_when_all_are() {
        let both = nouns(vec![ccas(), maison(), asti()], "list.and");
        let b = [("b", both)];
        assert_eq!(
            fr("{b} travaille{b|n} ensemble, {b|il} {b|est} lié{b|es}.", &b),
            "Le CCAS, la Maison des Femmes et l'ASTI travaillent ensemble, ils sont liés."
        );
        assert_eq!(
            fr("Partenaires {b|de}", &b),
            "Partenaires du CCAS, de la Maison des Femmes et de l'ASTI"
        );
        assert_eq!(en("{b} work", &b), "CCAS, Maison des Femmes and ASTI work");
        let women = nouns(vec![maison(), asti()], "list.or");
        assert_eq!(
            fr("{w} ; {w|il} {w|est} lié{w|es}", &[("w", women)]),
            "La Maison des Femmes ou l'ASTI ; elles sont liées"
        );
        let one = nouns(vec![asti()], "list.and");
        assert_eq!(fr("{o} {o|est} là", &[("o", one)]), "L'ASTI est là");
    }

    #[test]
    fn a_plain_argument_with_a_form_stays_readable() {
        let a = [("a", Arg::from("Brussels"))];
        assert_eq!(fr("{a|nu} {a|e}{a|s}", &a), "Brussels ");
        assert_eq!(fr("près {a|de}", &a), "près de Brussels");
        assert_eq!(fr("{a|il} {a|est}", &a), "il est");
        assert_eq!(en("near {a|de}", &a), "near Brussels");
        let label = [("k", Arg::from(label("kind", StakeholderKind::CityService)))];
        assert_eq!(fr("{k} seul", &label), "Service municipal seul");
        assert_eq!(fr("un {k}", &label), "un service municipal");
    }

    #[test]
    fn a_count_agrees_with_what_it_counts() {
        let t = "{n} contact{n|s} noté{n|es}";
        let say = |n: Arg| (en(t, &[("n", n.clone())]), fr(t, &[("n", n)]));
        assert_eq!(
            say(count(0)),
            ("0 contacts noté".into(), "0 contact noté".into())
        );
        assert_eq!(
            say(count(1)),
            ("1 contact noté".into(), "1 contact noté".into())
        );
        assert_eq!(
            say(count(2)),
            ("2 contacts noté".into(), "2 contacts notés".into())
        );
        assert_eq!(
            say(count(1234)),
            (
                "1234 contacts noté".into(),
                "1\u{202F}234 contacts notés".into()
            )
        );
        // A caller that still passes the number as text.
        assert_eq!(say("3".into()).1, "3 contacts notés");
    }

    #[test]
    fn forms_are_parsed_with_their_names() {
        assert_eq!(
            forms("{a|de} {b} {not a name} {c|à} {d|}"),
            [("a", Some("de")), ("b", None), ("c", Some("à"))]
        );
        assert_eq!(placeholders("{a|de} et {a} {b|es}"), ["a", "a", "b"]);
        assert!(is_form("à") && is_form("n") && !is_form("du"));
    }

    #[test]
    fn dates_are_written_out() {
        let d = |y, m, d| date(chrono::NaiveDate::from_ymd_opt(y, m, d).unwrap());
        let b = |a: Arg| (a.render(Lang::En, None), a.render(Lang::Fr, None));
        assert_eq!(
            b(d(2021, 4, 15)),
            ("15 April 2021".into(), "15 avril 2021".into())
        );
        assert_eq!(
            b(d(2021, 4, 1)),
            ("1 April 2021".into(), "1er avril 2021".into())
        );
        assert_eq!(b(d(2022, 8, 31)).1, "31 août 2022");
        assert_eq!(b(d(2022, 12, 2)).1, "2 décembre 2022");
        assert_eq!(
            fr(
                "Du {d} au {e}",
                &[("d", d(2021, 1, 1)), ("e", d(2022, 2, 7))]
            ),
            "Du 1er janvier 2021 au 7 février 2022"
        );
    }

    #[test]
    fn numbers_are_written_the_french_way() {
        let b = |a: Arg| (a.render(Lang::En, None), a.render(Lang::Fr, None));
        assert_eq!(b(decimal(0.1, 2)), ("0.10".into(), "0,10".into()));
        assert_eq!(
            b(decimal(-0.25, 2)),
            ("-0.25".into(), "\u{2212}0,25".into())
        );
        assert_eq!(b(decimal(-0.001, 2)), ("0.00".into(), "0,00".into()));
        assert_eq!(
            b(decimal(12345.5, 1)),
            ("12345.5".into(), "12\u{202F}345,5".into())
        );
        assert_eq!(b(decimal(3.0, 0)), ("3".into(), "3".into()));
        assert_eq!(b(decimal(f64::NAN, 2)), ("—".into(), "—".into()));
        assert_eq!(b(percent(0.8149)), ("81%".into(), "81\u{202F}%".into()));
        assert_eq!(b(percent(0.0)), ("0%".into(), "0\u{202F}%".into()));
        assert_eq!(b(count(7)), ("7".into(), "7".into()));
        assert_eq!(b(count(999)), ("999".into(), "999".into()));
        assert_eq!(b(count(1234)), ("1234".into(), "1\u{202F}234".into()));
        assert_eq!(
            b(count(1234567)),
            ("1234567".into(), "1\u{202F}234\u{202F}567".into())
        );
    }

    #[test]
    fn themes_have_words() {
        let b = |a: Arg| (a.render(Lang::En, None), a.render(Lang::Fr, None));
        assert_eq!(
            b(theme("violence_against_women")),
            (
                "violence against women".into(),
                "violences faites aux femmes".into()
            )
        );
        assert_eq!(b(theme("food_aid")), ("food aid".into(), "food aid".into()));
        assert_eq!(
            b(themes(
                &["rights", "community_outreach", "housing"],
                "list.and"
            )),
            (
                "access to rights, community outreach and housing".into(),
                "accès aux droits, aller-vers et logement".into()
            )
        );
        for slug in passerelle_events::values::Theme::REFERENCE {
            assert!(has(&format!("theme.{slug}")), "no words for theme {slug}");
        }
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
            "A {other} est relié au réseau par un seul lien faible, avec B (force 0.10)."
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
