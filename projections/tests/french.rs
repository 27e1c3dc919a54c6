//! Every message of the catalogue, rendered in French with the values the
//! callers pass (nouns, dates, decimals, percentages, themes), reads as
//! French: no ISO date, no decimal point, no raw theme slug, no form left
//! unresolved and no article left uncontracted.

use chrono::NaiveDate;
use passerelle_events::event::{Level, Outcome, StakeholderKind};
use passerelle_projections::messages::{
    self, count, date, decimal, forms, is_form, label, nouns, percent, theme, themes, Arg, Lang,
    Noun,
};

/// Placeholders that take a stakeholder's name (or several) in findings.
const NOUNS: [&str; 10] = [
    "a", "b", "broker", "name", "names", "other", "from", "to", "first", "service",
];

fn noun(name: &str, feminine: bool, plural: bool, article: bool) -> Noun {
    Noun {
        name: name.to_owned(),
        feminine,
        plural,
        article,
    }
}

/// Names of every grammar: masculine, feminine, elided, plural, bare.
fn casts() -> Vec<Vec<Noun>> {
    vec![
        vec![noun("CCAS", false, false, true)],
        vec![noun("Maison des Femmes", true, false, true)],
        vec![noun("ASTI", true, false, true)],
        vec![noun("femmes-relais", true, true, true)],
        vec![noun("Orléans Métropole", true, false, false)],
        vec![noun("hôpital", false, false, true)],
    ]
}

/// The value a caller passes for `placeholder` of `key`.
fn value(key: &str, placeholder: &str, cast: &[Noun]) -> Arg {
    let day = |y, m, d| date(NaiveDate::from_ymd_opt(y, m, d).unwrap());
    let finding = key.starts_with("finding.");
    match placeholder {
        p if finding && NOUNS.contains(&p) => {
            if p.ends_with('s') && p != "service" {
                let mut list = cast.to_vec();
                list.push(noun("Maison des Femmes", true, false, true));
                nouns(list, "list.and")
            } else {
                cast[0].clone().into()
            }
        }
        "date" | "since" | "due" | "last" => day(2021, 4, 1),
        "from" => day(2021, 1, 15),
        "to" => day(2022, 7, 4),
        "strength" | "ei" | "density" | "s" | "modularity" => decimal(-0.123, 2),
        "share" | "pct" | "target" | "min" => percent(0.5),
        "theme" => theme("violence_against_women"),
        "themes" => themes(&["digital_inclusion", "social_support"], "list.and"),
        "sector" => label("kind", StakeholderKind::CityService).into(),
        "outcome" => label("outcome", Outcome::NoResponse).into(),
        "inform" => label("level", Level::Inform).into(),
        "consult" => label("level", Level::Consult).into(),
        "involve" => label("level", Level::Involve).into(),
        "collaborate" => label("level", Level::Collaborate).into(),
        "n" | "days" | "nodes" | "edges" | "allEdges" | "components" | "high" | "medium"
        | "low" | "before" | "after" | "ties_before" | "ties_after" | "position" => count(12345),
        other => Arg::from(format!("«{other}»")),
    }
}

fn render(key: &str, lang: Lang, cast: &[Noun]) -> String {
    let template = messages::template(key, lang).unwrap();
    let args: Vec<(&str, Arg)> = forms(template)
        .into_iter()
        .map(|(name, _)| (name, value(key, name, cast)))
        .collect();
    messages::text(key, lang, &args)
}

fn iso_date(s: &str) -> bool {
    let b = s.as_bytes();
    b.windows(10).any(|w| {
        let d = |r: std::ops::Range<usize>| w[r].iter().all(u8::is_ascii_digit);
        d(0..4) && w[4] == b'-' && d(5..7) && w[7] == b'-' && d(8..10)
    })
}

fn decimal_point(s: &str) -> bool {
    s.as_bytes()
        .windows(3)
        .any(|w| w[0].is_ascii_digit() && w[1] == b'.' && w[2].is_ascii_digit())
}

/// What a French sentence never holds once articles are contracted and
/// elided.
const WRONG: [&str; 15] = [
    " de le ", " de les ", " à le ", " à les ", "de le h", " le A", " la A", " de A", "n's", "n'l",
    " le h", " de O", " ne est", " ne a", "que il",
];

#[test]
fn every_french_message_reads_as_french() {
    let mut keys: Vec<&str> = messages::keys().collect();
    keys.sort_unstable();
    let mut checked = 0;
    for cast in casts() {
        for key in &keys {
            let fr = render(key, Lang::Fr, &cast);
            let en = render(key, Lang::En, &cast);
            for (lang, s) in [("fr", &fr), ("en", &en)] {
                assert!(!s.contains(['{', '|', '}']), "{key} ({lang}): {s}");
            }
            assert!(!iso_date(&fr), "{key}: an ISO date in {fr}");
            assert!(!decimal_point(&fr), "{key}: a decimal point in {fr}");
            for slug in passerelle_events::values::Theme::REFERENCE {
                if slug.contains('_') {
                    assert!(!fr.contains(slug), "{key}: the slug {slug} in {fr}");
                    assert!(!en.contains(slug), "{key}: the slug {slug} in {en}");
                }
            }
            for w in WRONG {
                assert!(!fr.contains(w), "{key}: “{w}” in {fr}");
            }
            for sign in [';', ':', '!', '?', '%'] {
                for (i, _) in fr.match_indices(sign) {
                    let before = fr[..i].chars().last();
                    assert!(
                        before.is_none() || before == Some('\u{202F}'),
                        "{key}: no narrow no-break space before {sign} in {fr}"
                    );
                }
            }
            checked += 1;
        }
    }
    assert!(checked > 300 * 6);
}

#[test]
fn every_form_a_template_asks_for_exists() {
    for key in messages::keys() {
        for lang in Lang::ALL {
            for (name, form) in forms(messages::template(key, lang).unwrap()) {
                if let Some(form) = form {
                    assert!(is_form(form), "{key}: {{{name}|{form}}} is no form");
                }
            }
        }
    }
}

#[test]
fn findings_agree_with_their_subjects() {
    let maison = vec![noun("Maison des Femmes", true, false, true)];
    let relais = vec![noun("femmes-relais", true, true, true)];
    let ccas = vec![noun("CCAS", false, false, true)];
    let key = "finding.isolated_stakeholder.explanation";
    assert_eq!(
        render(key, Lang::Fr, &maison),
        "La Maison des Femmes est enregistrée mais n'a aucun lien dans le réseau."
    );
    assert_eq!(
        render(key, Lang::Fr, &relais),
        "Les femmes-relais sont enregistrées mais n'ont aucun lien dans le réseau."
    );
    assert_eq!(
        render(key, Lang::En, &relais),
        "Femmes-relais is registered but has no tie in the network."
    );
    let key = "finding.stalled_outreach.overdue.explanation";
    assert_eq!(
        render(key, Lang::Fr, &ccas),
        "La relance prévue par le CCAS auprès du CCAS était due le 1er avril 2021\u{202F}: \
         12\u{202F}345 jours de retard."
    );
    let key = "finding.broker_dependency.explanation";
    assert_eq!(
        render(key, Lang::Fr, &relais),
        "Le réseau repose sur les femmes-relais\u{202F}: 50\u{202F}% des plus courts chemins \
         entre acteurs passent par elles, et les partenaires des femmes-relais sont peu liés \
         entre eux."
    );
    assert_eq!(
        render(key, Lang::En, &relais),
        "The network leans on femmes-relais: it lies on 50% of the shortest paths between \
         stakeholders, and its partners are barely tied to each other."
    );
}
