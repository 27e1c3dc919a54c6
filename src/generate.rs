//! A deterministic workload generator: a synthetic but plausible programme of
//! PRODUCT.md §3 events, written as wire JSON Lines for `passerelle import`,
//! benchmarks and load tests.
//!
//! This module owns the generative model and nothing else: it never touches a
//! store, never reads the clock and keeps no output-affecting state in a hash
//! map, so the same [`GenerateConfig`] always yields the same bytes. It keeps
//! no schema of its own: each event is built as the events crate's typed
//! [`Event`] (ids, themes and texts parsed as any new event's are; kinds,
//! channels, outcomes, levels, priorities and milestone kinds as its enums;
//! themes from [`Theme::REFERENCE`]) and written by [`NewEvent::write_json`].
//! What is the generator's own is keyed by those values: the weights of its
//! draws, the words of its texts, a few themes beyond the reference
//! vocabulary, the territories. Every
//! event it writes is valid when imported in order (references registered
//! earlier, never archived, ids unique, counts consistent); the integration
//! tests record whole runs through the `Ledger` to prove it.
//!
//! # The model
//!
//! Randomness comes from three [`ChaCha8Rng`] streams of the seed: one for the
//! model, one for the clock's jitter and one for event ids (UUIDs built from
//! its bytes with [`uuid::Builder::from_random_bytes`]). Integers and choices
//! are drawn by this module's own helpers from raw `u64`s, so the output does
//! not depend on `rand`'s distribution algorithms.
//!
//! **Order and time.** `ProgrammeDefined` comes first. About 80 % of the
//! stakeholders are registered next (the initial mapping of the network); the
//! other 20 % are registered one by one, spread over the first half of the
//! activity (newly discovered partners). Everything else follows. `occurred_at`
//! runs from [`GenerateConfig::start`] over three years of weekdays,
//! 09:00–17:59 UTC, at minute resolution, in proportion to the event's index,
//! with a little jitter, and never decreases in file order. Follow-ups are due
//! 1–6 weeks after their contact. From the default start (2019-01-01) every
//! date lies in the past, as the ledger's clock requires of new events
//! (decision 011): a `start` less than three years before the day of the
//! import would be refused there, naming the first line ahead of the clock.
//!
//! **Stakeholders.** Kinds in realistic proportions (per mille): association
//! 200, city_service 90, beneficiary_group 90, community_champion 90, employer
//! 80, education 70, health 60, volunteer_group 50, other 50, legal_aid 40,
//! childcare 40, interpreting 25, funder 25, network_body 20, consultant 20,
//! media 20, integration_agency 15, political 15. Each gets 1–3 themes, biased
//! by its sector (legal aid → rights, violence_against_women; childcare →
//! childcare, education; …), ≈ 2 % of them from outside the reference vocabulary
//! (`mentoring`, `youth`, `food_aid`, …), and a territory among 15 weighted
//! neighbourhoods and districts of a mid-sized French town (funders,
//! network bodies, media and political bodies mostly city-wide or wider).
//! About 40 % carry contact details (role, `example.org` e-mail, phone).
//!
//! **Activity.** After the registrations, each event is drawn with these
//! weights (the "activity" column; exact in expectation). The whole file's
//! shares are lower by the registrations' share: the last column is a
//! measured run of 10,000 stakeholders and 97,721 events (10 % registrations).
//!
//! | events | activity | file | notes |
//! |---|---:|---:|---|
//! | `OutreachContactLogged` | 53 % | 47.7 % | channels mostly e-mail, meeting, phone; outcomes ≈ 20 % no response, 8 % declined, 25 % acknowledged, 25 % interested, 22 % committed; ≈ 44 % set a `follow_up_due` 1–6 weeks ahead; a quarter of contacts follow an earlier one up (same pair, better outcomes) |
//! | `PartnershipFormed` | 15 % | 13.6 % | informal, information sharing, referral ≫ co-delivery, formal agreement, funding (most partnerships with a funder are funding); themes shared by both ends |
//! | `CoCreationSessionHeld` | 3.6 % | 3.2 % | IAP2 levels inform 20 %, consult 35 %, involve 25 %, collaborate 14 %, empower 6 %; a facilitator, 0–4 partner stakeholders, 1–2 beneficiary groups (none for 8 % of sessions: inform or consult, no beneficiaries); 1–16 beneficiaries, 55–90 % women |
//! | `ParticipantAttended` | 18 % | 16.4 % | ≈ 5 per session, right after it; pseudonymous codes (`bn-7K3Q9XAM`) drawn from a pool: ≈ 40 % are returning participants, recent ones more often |
//! | `NeedDeclared` / `NeedAddressed` / `NeedWithdrawn` | 2.7 % | 2.4 % | 45 / 40 / 15; actions of the Maison des Femmes plan (nursery, interpreting, champions, …); addressed and withdrawn only while live |
//! | `StakeholderProfileChanged` | 2.7 % | 2.4 % | themes, contact, territory, name, rarely kind (never to or from beneficiary_group) |
//! | `PartnershipRevised` / `PartnershipEnded` | 2.7 % | 2.4 % | 60 / 40, only on live partnerships; revisions mostly make it more formal |
//! | `ReviewNoteAdded` | 1.4 % | 1.3 % | about a stakeholder, need, partnership or gap |
//! | `StakeholderArchived` | 0.3 % | 0.3 % | at most 5 % of the stakeholders; never referenced again |
//! | `MilestoneMarked` | — | ≈ 30 | one every 3–7 weeks of the timeline |
//!
//! **Who is tied to whom.** A *tie* joins two stakeholders through a
//! partnership, an outreach contact with a positive outcome (interested or
//! committed) or co-attendance at a session (every pair among its facilitator,
//! stakeholders and groups). Beneficiary groups are never tied to one another
//! directly. Partners are chosen by **preferential attachment with fitness**:
//! every stakeholder enters an urn with a Pareto-distributed number of balls
//! (tail exponent 1.5, larger for the kinds that sit at the centre of such
//! networks: integration agencies, city services, funders, network bodies)
//! and gets one more ball per tie, so a draw is proportional to fitness +
//! degree. The degree distribution is heavy-tailed: at 10,000 stakeholders and
//! 50,000 ties the median stakeholder has 7 partners, the 99th percentile 58
//! and the largest hub 566; ≈ 8 % have none (isolated stakeholders).
//! **Homophily**: the second end is the best of three urn draws, half of them
//! from the first end's territory, scored by shared themes and same territory.
//!
//! # Sizing by ties
//!
//! Distinct tied pairs grow almost linearly with the events after the
//! registrations: ≈ [`TIES_PER_ACTIVITY_EVENT`] = 0.57 new pair per event in
//! a sparse network of thousands of stakeholders, less when the network is
//! small or dense (pairs repeat). Measured (seed 0; other seeds within ±3 %):
//!
//! | stakeholders | events | distinct tied pairs | pairs per event after registration |
//! |---:|---:|---:|---:|
//! | 500 | 20,000 | 6,808 | 0.35 |
//! | 1,000 | 11,487 | 4,961 | 0.47 |
//! | 10,000 | 97,721 | 50,142 | 0.57 |
//! | 10,000 | 200,000 | 106,176 | 0.56 |
//! | 10,000 | 1,000,000 | 503,081 | 0.51 |
//! | 100,000 | 928,474 | 498,994 | 0.60 |
//!
//! So "10,000 stakeholders / 50,000 ties" is `--stakeholders 10000 --events
//! 97721` (seeds 1–4 give 50,732–51,544 ties). [`events_for_ties`] finds the
//! event count for any size and seed by calibrating on a few runs, and
//! [`GenerateSummary::tied_pairs`] reports the exact count of a run.
//!
//! # Speed
//!
//! One pass, O(1) work per event, each typed event serialised straight into a
//! 64 KiB `BufWriter`, with memory for the model's state only (≈ 40 MB at
//! 10,000 stakeholders and 1,000,000 events, 270 MB of output).

use std::collections::{BTreeMap, HashSet, VecDeque};
use std::fmt;
use std::io::{self, BufWriter, Write};

use chrono::{Datelike, Days, NaiveDate, NaiveTime, Weekday};
use passerelle_events::event::{
    About, Beneficiaries, Channel, CoCreationSessionHeld, Contact, Country, Level, MilestoneKind,
    MilestoneMarked, NeedAddressed, NeedDeclared, NeedWithdrawn, Outcome, OutreachContactLogged,
    ParticipantAttended, PartnershipEnded, PartnershipFormed, PartnershipKind, PartnershipRevised,
    Priority, ProgrammeDefined, ReviewNoteAdded, Role, StakeholderArchived, StakeholderKind,
    StakeholderProfileChanged, StakeholderRegistered,
};
use passerelle_events::personal::Personal;
use passerelle_events::values::{
    Day, Email, OccurredAt, ParticipantCode, Phone, ProgrammeId, Slug, Text, Theme,
};
use passerelle_events::{Event, NewEvent};
use passerelle_projections::gaps::FindingKind;
use rand::{RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// New distinct tied pairs per event after the registrations, measured at
/// 10,000 stakeholders and 50,000 ties (see the module docs).
pub const TIES_PER_ACTIVITY_EVENT: f64 = 0.57;

/// Length of the generated timeline, in calendar days.
const SPAN_DAYS: u64 = 3 * 365;
/// Working minutes per day (09:00–17:59).
const DAY_MINUTES: u64 = 9 * 60;

/// What to generate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GenerateConfig {
    /// Stakeholders to register (fewer if `events` leaves no room; see
    /// [`GenerateSummary::stakeholders_registered`]).
    pub stakeholders: usize,
    /// Events to write, exactly.
    pub events: usize,
    /// Seed of every random choice.
    pub seed: u64,
    /// The programme id (a slug); default `gen`.
    pub programme: String,
    /// The first day of the timeline; default 2019-01-01.
    pub start: NaiveDate,
}

impl Default for GenerateConfig {
    fn default() -> Self {
        Self {
            stakeholders: 1_000,
            events: 50_000,
            seed: 0,
            programme: "gen".to_owned(),
            start: NaiveDate::from_ymd_opt(2019, 1, 1).expect("valid date"),
        }
    }
}

/// What a run wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GenerateSummary {
    /// Events written.
    pub events: u64,
    /// Events written per type name, for the types that occur.
    pub per_type: BTreeMap<&'static str, u64>,
    /// Stakeholders asked for.
    pub stakeholders_requested: usize,
    /// Stakeholders registered: all of them unless `events` is too small.
    pub stakeholders_registered: usize,
    /// Distinct pairs of stakeholders joined by a partnership, a positive
    /// outreach contact or co-attendance at a session.
    pub tied_pairs: u64,
    /// `occurred_at` of the first event.
    pub first_occurred_at: Option<String>,
    /// `occurred_at` of the last event.
    pub last_occurred_at: Option<String>,
}

impl GenerateSummary {
    /// Whether every requested stakeholder was registered.
    pub fn all_registered(&self) -> bool {
        self.stakeholders_registered == self.stakeholders_requested
    }
}

impl fmt::Display for GenerateSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "wrote {} events", self.events)?;
        if let (Some(a), Some(b)) = (&self.first_occurred_at, &self.last_occurred_at) {
            write!(f, " ({a} … {b})")?;
        }
        writeln!(f)?;
        write!(
            f,
            "stakeholders: {} registered of {} requested",
            self.stakeholders_registered, self.stakeholders_requested
        )?;
        if !self.all_registered() {
            write!(
                f,
                " — {} events leave room for only {}; raise --events to register them all",
                self.events, self.stakeholders_registered
            )?;
        }
        writeln!(f)?;
        write!(
            f,
            "distinct tied pairs: {} (partnership, positive contact or co-attendance)",
            self.tied_pairs
        )?;
        for (t, n) in &self.per_type {
            write!(f, "\n  {t:<27} {n:>9}")?;
        }
        Ok(())
    }
}

/// The number of events that gives `ties` distinct tied pairs with `cfg`'s
/// stakeholders, seed, programme and start (`cfg.events`
/// is ignored). It starts from [`TIES_PER_ACTIVITY_EVENT`] and calibrates by
/// running the generator into [`io::sink`] up to 8 times, until a run lands
/// within 0.5 % of the target (≈ 0.1 s per 100,000 events in a release
/// build). Small networks are noisier: expect ±3 % under 1,000 stakeholders.
///
/// Fails with `InvalidInput` for a programme id that is not a slug, or for
/// more ties than half of all pairs of stakeholders (a network that dense is
/// not a partnership network).
pub fn events_for_ties(cfg: &GenerateConfig, ties: u64) -> io::Result<usize> {
    let s = cfg.stakeholders as u64;
    let pairs = s.saturating_mul(s.saturating_sub(1)) / 2;
    if ties > pairs / 2 {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!(
                "{ties} ties among {s} stakeholders: a tie network can hold at most half of their {pairs} pairs"
            ),
        ));
    }
    let fixed = 1 + cfg.stakeholders;
    if ties == 0 {
        return Ok(fixed);
    }
    let mut activity = (ties as f64 / TIES_PER_ACTIVITY_EVENT).ceil();
    // (events, distance from the target) of the closest run so far.
    let mut best = (fixed + activity as usize, u64::MAX);
    for _ in 0..8 {
        let events = fixed + activity as usize;
        let run = GenerateConfig {
            events,
            ..cfg.clone()
        };
        let got = generate(&run, &mut io::sink())?.tied_pairs;
        let off = got.abs_diff(ties);
        if off < best.1 {
            best = (events, off);
        }
        if off * 200 <= ties {
            break;
        }
        activity = (activity * ties as f64 / got.max(1) as f64)
            .min(activity * 4.0)
            .ceil();
    }
    Ok(best.0)
}

/// Writes exactly `cfg.events` wire events (JSON Lines: `{"id", "type",
/// "programme", "occurred_at", "data"}`) to `out` and returns what it wrote.
/// Fails only on a write error or a programme id that is not a slug
/// (`InvalidInput`).
pub fn generate(cfg: &GenerateConfig, out: &mut impl Write) -> io::Result<GenerateSummary> {
    let programme = ProgrammeId::parse(&cfg.programme)
        .map_err(|m| io::Error::new(io::ErrorKind::InvalidInput, format!("programme: {m}")))?;
    let n = cfg.events;
    let registered = cfg.stakeholders.min(n.saturating_sub(1));
    let activity = n.saturating_sub(1 + registered);
    let initial = if activity == 0 {
        registered
    } else {
        registered - registered / 5
    };
    let late = registered - initial;
    // Late registrations are spread over the first half of the activity.
    let window = activity / 2;

    let mut model = Model::new(stream(cfg.seed, 0));
    let mut clock = Clock::new(cfg.start, n, stream(cfg.seed, 1));
    let mut em = Emitter {
        out: BufWriter::with_capacity(1 << 16, out),
        ids: stream(cfg.seed, 2),
        programme,
        now: OccurredAt::from_datetime(cfg.start.and_time(NaiveTime::MIN).and_utc()),
        today: cfg.start,
        counts: BTreeMap::new(),
    };
    let mut first = None;
    let (mut late_done, mut act_done) = (0usize, 0usize);
    for i in 0..n {
        let (now, day) = clock.tick(i as u64);
        em.now = now;
        em.today = clock.dates[day];
        if i == 0 {
            first = Some(now.to_canonical());
            model.define_programme(&mut em)?;
        } else if model.sh.len() < initial {
            model.register(&mut em)?;
        } else if late_done < late && (window == 0 || late_done * window <= act_done * late) {
            model.register(&mut em)?;
            late_done += 1;
        } else {
            model.activity(&mut em, day)?;
            act_done += 1;
        }
    }
    em.out.flush()?;
    let written: u64 = em.counts.values().sum();
    debug_assert_eq!(written, n as u64, "one event per step");
    Ok(GenerateSummary {
        events: written,
        per_type: em.counts,
        stakeholders_requested: cfg.stakeholders,
        stakeholders_registered: model.sh.len(),
        tied_pairs: model.ties.len() as u64,
        last_occurred_at: (n > 0).then(|| em.now.to_canonical()),
        first_occurred_at: first,
    })
}

fn stream(seed: u64, n: u64) -> ChaCha8Rng {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(n);
    rng
}

// ---------------------------------------------------------------------------
// Vocabulary

/// Theme slugs the generator draws beyond the reference vocabulary
/// ([`Theme::REFERENCE`]): others that real programmes use. A theme is an
/// index into the reference themes, then these.
const OTHER_THEMES: [&str; 6] = [
    "mentoring",
    "youth",
    "culture",
    "sport",
    "food_aid",
    "mobility",
];
const REFERENCE_THEMES: usize = Theme::REFERENCE.len();
const THEME_COUNT: usize = REFERENCE_THEMES + OTHER_THEMES.len();

/// The slug of theme `t`.
fn theme_slug(t: usize) -> &'static str {
    match Theme::REFERENCE.get(t) {
        Some(slug) => slug,
        None => OTHER_THEMES[t - REFERENCE_THEMES],
    }
}

/// The index of a reference theme; a slug outside the vocabulary does not
/// compile.
const fn reference(slug: &str) -> u8 {
    let mut i = 0;
    while i < REFERENCE_THEMES {
        let t = Theme::REFERENCE[i].as_bytes();
        let s = slug.as_bytes();
        if t.len() == s.len() {
            let mut k = 0;
            while k < t.len() && t[k] == s[k] {
                k += 1;
            }
            if k == t.len() {
                return i as u8;
            }
        }
        i += 1;
    }
    panic!("not a theme of the reference vocabulary")
}

const EMPLOYMENT: u8 = reference("employment");
const LANGUAGE: u8 = reference("language");
const HOUSING: u8 = reference("housing");
const SOCIAL: u8 = reference("social_support");
const RIGHTS: u8 = reference("rights");
const VAW: u8 = reference("violence_against_women");
const CHILDCARE: u8 = reference("childcare");
const INTERPRETING: u8 = reference("interpreting");
const DIGITAL: u8 = reference("digital_inclusion");
const HEALTH: u8 = reference("health");
const EDUCATION: u8 = reference("education");
const FUNDING: u8 = reference("funding");
const POLITICAL: u8 = reference("political_support");
const PRECARIOUS: u8 = reference("precariousness");
const OUTREACH: u8 = reference("community_outreach");

/// Each theme (reference, then other) as words, for titles and texts.
const THEME_WORDS: [&str; THEME_COUNT] = [
    "employment",
    "French lessons",
    "housing",
    "social support",
    "access to rights",
    "violence against women",
    "childcare",
    "interpreting",
    "digital inclusion",
    "health",
    "education",
    "funding",
    "political support",
    "precariousness",
    "community outreach",
    "mentoring",
    "young people",
    "culture",
    "sport",
    "food aid",
    "mobility",
];

/// Neighbourhoods and districts: (name, weight, city-wide or wider — where
/// funders and political bodies sit).
const TERRITORIES: [(&str, u32, bool); 15] = [
    ("Les Salmoneries", 14, false),
    ("Les Chaises", 14, false),
    ("Centre-ville", 10, false),
    ("Les Trois Fontaines", 7, false),
    ("Le Bourg", 6, false),
    ("La Borde", 6, false),
    ("Les Aulnaies", 6, false),
    ("Quartier de la Gare", 6, false),
    ("Les Coteaux de Loire", 5, false),
    ("Clos de la Motte", 4, false),
    ("Zone d'activités Ouest", 3, false),
    ("Saint-Jean-de-la-Ruelle (city-wide)", 10, true),
    ("Orléans Métropole", 5, true),
    ("Loiret (département)", 3, true),
    ("Centre-Val de Loire (region)", 1, true),
];

/// What the generator makes of a stakeholder kind; [`KINDS`] has one per
/// kind, in the order of [`StakeholderKind::ALL`].
struct KindSpec {
    kind: StakeholderKind,
    prefix: &'static str,
    /// Per mille of stakeholders.
    weight: u32,
    themes: &'static [u8],
    names: &'static [&'static str],
    /// Sits mostly in a wide territory.
    wide: bool,
    /// Makes outreach contacts and facilitates sessions.
    active: bool,
    /// How strongly it attracts ties, times its random fitness.
    pull: f64,
}

const KINDS: [KindSpec; 18] = [
    KindSpec {
        kind: StakeholderKind::CityService,
        prefix: "city",
        weight: 90,
        themes: &[
            SOCIAL, HOUSING, OUTREACH, PRECARIOUS, DIGITAL, CHILDCARE, EMPLOYMENT,
        ],
        names: &[
            "Social action centre (CCAS)",
            "Youth service",
            "Housing service",
            "Employment and integration service",
            "Early-years service",
            "Social centre",
            "Library and media centre",
            "Citizenship and welcome desk",
            "Urban policy team",
            "Communications service",
        ],
        wide: false,
        active: true,
        pull: 3.0,
    },
    KindSpec {
        kind: StakeholderKind::IntegrationAgency,
        prefix: "agency",
        weight: 15,
        themes: &[SOCIAL, LANGUAGE, EMPLOYMENT, RIGHTS, HOUSING],
        names: &[
            "Newcomer reception office",
            "Integration agency",
            "Reception platform for asylum seekers",
            "Office for immigration and integration",
        ],
        wide: true,
        active: true,
        pull: 4.0,
    },
    KindSpec {
        kind: StakeholderKind::Association,
        prefix: "assoc",
        weight: 200,
        themes: &[
            LANGUAGE, SOCIAL, OUTREACH, VAW, PRECARIOUS, EDUCATION, DIGITAL,
        ],
        names: &[
            "Women's association",
            "Neighbourhood association",
            "Mutual-aid association",
            "Families' association",
            "Intercultural association",
            "Literacy association",
            "Tenants' association",
            "Parents' association",
            "Solidarity collective",
            "Women's house",
        ],
        wide: false,
        active: true,
        pull: 1.5,
    },
    KindSpec {
        kind: StakeholderKind::CommunityChampion,
        prefix: "champ",
        weight: 90,
        themes: &[OUTREACH, LANGUAGE, SOCIAL, INTERPRETING],
        names: &[
            "Community champion — women's network",
            "Community champion — mothers' group",
            "Community champion — neighbourhood relay",
            "Community champion — youth mentor",
            "Community champion — faith-community link",
            "Community champion — elders",
        ],
        wide: false,
        active: true,
        pull: 1.0,
    },
    KindSpec {
        kind: StakeholderKind::BeneficiaryGroup,
        prefix: "group",
        weight: 90,
        themes: &[SOCIAL, LANGUAGE, EMPLOYMENT, CHILDCARE, RIGHTS, VAW, HEALTH],
        names: &[
            "Migrant women",
            "Newly arrived families",
            "Young migrants (16–25)",
            "Asylum-seeking women",
            "Older migrants",
            "Mothers of young children",
            "Job-seeking migrant women",
            "Women attending French lessons",
        ],
        wide: false,
        active: false,
        pull: 1.0,
    },
    KindSpec {
        kind: StakeholderKind::Employer,
        prefix: "employer",
        weight: 80,
        themes: &[EMPLOYMENT, LANGUAGE],
        names: &[
            "Logistics company",
            "Cleaning cooperative",
            "Supermarket",
            "Care home",
            "Restaurant group",
            "Construction firm",
            "Employers' club",
            "Social-economy enterprise",
            "Temporary-work agency",
        ],
        wide: false,
        active: false,
        pull: 0.5,
    },
    KindSpec {
        kind: StakeholderKind::Education,
        prefix: "edu",
        weight: 70,
        themes: &[EDUCATION, LANGUAGE, DIGITAL],
        names: &[
            "Primary school",
            "Secondary school (collège)",
            "Vocational high school",
            "Adult-education centre",
            "University language centre",
            "Second-chance school",
            "Training organisation",
        ],
        wide: false,
        active: false,
        pull: 1.0,
    },
    KindSpec {
        kind: StakeholderKind::Health,
        prefix: "health",
        weight: 60,
        themes: &[HEALTH, SOCIAL, VAW],
        names: &[
            "Health centre",
            "Maternal and child health centre (PMI)",
            "Hospital social service",
            "Mental-health outreach team",
            "Family-planning centre",
        ],
        wide: false,
        active: false,
        pull: 1.0,
    },
    KindSpec {
        kind: StakeholderKind::LegalAid,
        prefix: "legal",
        weight: 40,
        themes: &[RIGHTS, VAW, HOUSING],
        names: &[
            "Women's rights information centre (CIDFF)",
            "Legal clinic",
            "Access-to-rights point",
            "Migrants' rights association",
            "Free legal consultations",
        ],
        wide: false,
        active: false,
        pull: 1.0,
    },
    KindSpec {
        kind: StakeholderKind::Childcare,
        prefix: "child",
        weight: 40,
        themes: &[CHILDCARE, EDUCATION],
        names: &[
            "Nursery",
            "Childminders' network",
            "Drop-in crèche",
            "Parent–child space",
            "After-school club",
        ],
        wide: false,
        active: false,
        pull: 0.8,
    },
    KindSpec {
        kind: StakeholderKind::Interpreting,
        prefix: "interp",
        weight: 25,
        themes: &[INTERPRETING, LANGUAGE],
        names: &[
            "Community interpreting service",
            "Phone interpreting service",
            "Volunteer interpreters' pool",
            "Translation cooperative",
        ],
        wide: false,
        active: false,
        pull: 1.0,
    },
    KindSpec {
        kind: StakeholderKind::Funder,
        prefix: "fund",
        weight: 25,
        themes: &[FUNDING, POLITICAL],
        names: &[
            "EU Asylum, Migration and Integration Fund (AMIF)",
            "Regional council",
            "Département",
            "State services (préfecture)",
            "Family allowance fund (CAF)",
            "Private foundation",
            "Urban policy fund",
        ],
        wide: true,
        active: false,
        pull: 2.0,
    },
    KindSpec {
        kind: StakeholderKind::NetworkBody,
        prefix: "network",
        weight: 20,
        themes: &[POLITICAL, FUNDING, OUTREACH],
        names: &[
            "Network of municipalities",
            "Federation of social centres",
            "Regional integration network",
            "National association of cities",
        ],
        wide: true,
        active: true,
        pull: 2.0,
    },
    KindSpec {
        kind: StakeholderKind::Consultant,
        prefix: "consult",
        weight: 20,
        themes: &[OUTREACH, EDUCATION, EMPLOYMENT],
        names: &[
            "Participation consultancy",
            "Evaluation consultancy",
            "Learning-exchange facilitator",
            "University research team",
        ],
        wide: true,
        active: true,
        pull: 1.0,
    },
    KindSpec {
        kind: StakeholderKind::VolunteerGroup,
        prefix: "volunteer",
        weight: 50,
        themes: &[LANGUAGE, EDUCATION, DIGITAL, PRECARIOUS, OUTREACH],
        names: &[
            "Young volunteers (civic service)",
            "Homework-help volunteers",
            "French conversation volunteers",
            "Food-aid collective",
            "Digital helpers",
        ],
        wide: false,
        active: true,
        pull: 1.0,
    },
    KindSpec {
        kind: StakeholderKind::Media,
        prefix: "media",
        weight: 20,
        themes: &[OUTREACH, DIGITAL],
        names: &[
            "Community radio",
            "Local newspaper",
            "Neighbourhood newsletter",
            "Local television",
        ],
        wide: true,
        active: false,
        pull: 0.8,
    },
    KindSpec {
        kind: StakeholderKind::Political,
        prefix: "pol",
        weight: 15,
        themes: &[POLITICAL, FUNDING],
        names: &[
            "Deputy mayor for social affairs and integration",
            "Municipal council",
            "Neighbourhood council",
            "Deputy mayor for youth",
        ],
        wide: true,
        active: false,
        pull: 1.5,
    },
    KindSpec {
        kind: StakeholderKind::Other,
        prefix: "other",
        weight: 50,
        themes: &[EMPLOYMENT, HOUSING, HEALTH, PRECARIOUS],
        names: &[
            "Public employment service",
            "Mission locale (youth employment)",
            "Social landlord",
            "Public transport operator",
            "Faith-based charity",
            "Sports club",
            "Cultural centre",
        ],
        wide: false,
        active: false,
        pull: 0.8,
    },
];

/// Kind changes a profile may make: (from, to). Never to or from
/// beneficiary_group, whose kind sessions rely on.
const KIND_CHANGES: [(StakeholderKind, StakeholderKind); 6] = {
    use StakeholderKind::*;
    [
        (Association, VolunteerGroup),
        (VolunteerGroup, Association),
        (Other, Association),
        (Consultant, Other),
        (Association, Other),
        (Other, CityService),
    ]
};

/// The generator's knowledge of `kind`.
fn spec(kind: StakeholderKind) -> &'static KindSpec {
    &KINDS[kind as usize]
}

const CHANNELS: [(Channel, u32); 8] = [
    (Channel::Email, 30),
    (Channel::Meeting, 25),
    (Channel::Phone, 20),
    (Channel::Message, 8),
    (Channel::Visit, 7),
    (Channel::Event, 6),
    (Channel::Letter, 3),
    (Channel::Other, 1),
];

/// Outcomes with their weights for a first contact and for a follow-up, and
/// the chance that a follow-up is due.
const OUTCOMES: [(Outcome, u32, u32, f64); 5] = [
    (Outcome::NoResponse, 20, 15, 0.6),
    (Outcome::Declined, 8, 10, 0.05),
    (Outcome::Acknowledged, 25, 20, 0.5),
    (Outcome::Interested, 25, 25, 0.6),
    (Outcome::Committed, 22, 30, 0.2),
];

/// `institutional` has weight 0: a structural link is not drawn, so the
/// logs generated before it existed stay byte-identical.
const PARTNERSHIP_KINDS: [(PartnershipKind, u32); 7] = [
    (PartnershipKind::Informal, 25),
    (PartnershipKind::InformationSharing, 25),
    (PartnershipKind::Referral, 25),
    (PartnershipKind::CoDelivery, 12),
    (PartnershipKind::Funding, 5),
    (PartnershipKind::FormalAgreement, 8),
    (PartnershipKind::Institutional, 0),
];

const LEVELS: [(Level, u32, &[&str]); 5] = [
    (
        Level::Inform,
        20,
        &["Information meeting", "Public presentation"],
    ),
    (
        Level::Consult,
        35,
        &["Listening session", "Consultation workshop", "Focus group"],
    ),
    (Level::Involve, 25, &["Co-design workshop", "Working group"]),
    (
        Level::Collaborate,
        14,
        &["Co-creation workshop", "Joint planning session"],
    ),
    (
        Level::Empower,
        6,
        &[
            "Participants' steering committee",
            "Community-led decision panel",
        ],
    ),
];

const OUTPUTS: [&str; 6] = [
    "List of barriers to {t}",
    "Draft action sheet on {t}",
    "Priorities voted by the participants",
    "Proposed opening hours and childcare arrangements",
    "Feedback on the welcome leaflet",
    "Volunteers for the next session",
];

const PURPOSES: [&str; 6] = [
    "Present the programme and ask how {t} needs are met in {p}.",
    "Invite them to the co-creation workshop on {t}.",
    "Agree a referral route for {t}.",
    "Ask for figures on {t} among migrant women in {p}.",
    "Propose a joint action on {t}.",
    "Follow up on the last exchange about {t}.",
];

const PERSONS: [&str; 6] = [
    "Coordinator",
    "Director",
    "Reception desk",
    "Project officer",
    "Volunteer lead",
    "Head of service",
];

const NEEDS: [(&str, u8, &str); 15] = [
    ("Maison des Femmes", SOCIAL, "A women's house offering social support, rights advice and French lessons in one place."),
    ("Maison des Femmes", RIGHTS, "Rights advice for migrant women from a social worker trained in migrants' rights."),
    ("Maison des Femmes", VAW, "A trained contact point for women disclosing violence, with referral to specialised services."),
    ("Maison des Femmes", LANGUAGE, "French lessons for women with little schooling, at times compatible with school runs."),
    ("Nursery places during French lessons", CHILDCARE, "Childcare for the children of women attending French lessons."),
    ("Interpreting service", INTERPRETING, "Interpreters for the main languages spoken, available for appointments at city services."),
    ("Community champions network", OUTREACH, "Residents trained to relay information to their communities and bring needs back."),
    ("Young volunteers programme", EDUCATION, "Civic-service volunteers helping with homework and online procedures."),
    ("Digital help desk", DIGITAL, "Help with online procedures for residents without equipment or skills."),
    ("Access to employment for migrant women", EMPLOYMENT, "Pre-employment coaching and contacts with employers who hire women with limited French."),
    ("Housing advice", HOUSING, "Advice on overcrowding, arrears and social-housing applications."),
    ("Access to health care", HEALTH, "Orientation to health care and to maternal and child health services."),
    ("National or EU funding", FUNDING, "A funding application (AMIF or national) for the action plan."),
    ("Political support for the action plan", POLITICAL, "A council decision endorsing the action plan and its budget."),
    ("Emergency aid", PRECARIOUS, "Food and emergency aid for families in precarious situations."),
];

const PRIORITIES: [(Priority, u32); 3] = [
    (Priority::High, 30),
    (Priority::Medium, 50),
    (Priority::Low, 20),
];

const MILESTONES: [(MilestoneKind, u32, &[&str]); 6] = [
    (
        MilestoneKind::MentoringVisit,
        25,
        &[
            "Mentoring visit by the mentor city",
            "Online mentoring session",
        ],
    ),
    (
        MilestoneKind::StudyVisit,
        10,
        &[
            "Study visit to the mentor city's reception office",
            "Study visit to a women's centre",
        ],
    ),
    (
        MilestoneKind::Workshop,
        25,
        &[
            "Transfer workshop on needs assessment",
            "Action-plan workshop",
            "Partners' workshop",
        ],
    ),
    (
        MilestoneKind::Decision,
        15,
        &[
            "Council adopts the action plan",
            "Steering committee decision",
        ],
    ),
    (
        MilestoneKind::Funding,
        10,
        &["Funding application submitted", "Funding decision received"],
    ),
    (
        MilestoneKind::Other,
        15,
        &[
            "Needs assessment completed",
            "Mid-term review",
            "Programme newsletter published",
        ],
    ),
];

const ARCHIVE_REASONS: [&str; 5] = [
    "The association was dissolved.",
    "Merged with another organisation.",
    "The service was reorganised.",
    "Duplicate entry.",
    "Left the territory.",
];
const END_REASONS: [&str; 5] = [
    "The project ended.",
    "Funding stopped.",
    "The contact person left and no one took over.",
    "Replaced by a new agreement.",
    "No activity for a year.",
];
const WITHDRAW_REASONS: [&str; 4] = [
    "Covered by a regional programme.",
    "No longer a priority after the needs assessment.",
    "Merged into another need.",
    "Not feasible within the budget.",
];
/// Note texts by what a note is about: a stakeholder, a need, a partnership,
/// a gap.
const NOTE_TEXTS: [&[&str]; 4] = [
    &[
        "Key contact for {t}; check whether the tie is still active.",
        "Could be introduced to the beneficiary groups it does not reach yet.",
        "Relies on a single coordinator: a risk if they leave.",
    ],
    &[
        "No partner covers {t} yet: who could take this on?",
        "Funding for this need is uncertain after next year.",
    ],
    &[
        "Worth formalising with a written agreement.",
        "Quiet for months: ask both sides how it is going.",
    ],
    &[
        "Discussed at the mentoring visit: follow up next quarter.",
        "Agreed next step with the coordinator.",
    ],
];
const GAP_KINDS: [FindingKind; 4] = [
    FindingKind::IsolatedStakeholder,
    FindingKind::SinglePointOfFailure,
    FindingKind::StalledOutreach,
    FindingKind::DormantTie,
];

// ---------------------------------------------------------------------------
// Randomness

/// Draws from raw `u64`s, independent of `rand`'s distribution algorithms.
struct Dice(ChaCha8Rng);

impl Dice {
    /// Uniform in `0..n` (`n > 0`).
    fn below(&mut self, n: usize) -> usize {
        ((self.0.next_u64() as u128 * n as u128) >> 64) as usize
    }

    /// Uniform in `lo..=hi`.
    fn between(&mut self, lo: usize, hi: usize) -> usize {
        lo + self.below(hi - lo + 1)
    }

    fn unit(&mut self) -> f64 {
        (self.0.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }

    fn pick<T: Copy>(&mut self, xs: &[T]) -> T {
        xs[self.below(xs.len())]
    }

    /// An index of `weights`, with probability proportional to its weight.
    fn weighted(&mut self, weights: impl Iterator<Item = u32> + Clone) -> usize {
        let total: u32 = weights.clone().sum();
        let mut r = self.below(total as usize) as u32;
        for (i, w) in weights.enumerate() {
            if r < w {
                return i;
            }
            r -= w;
        }
        unreachable!("r < total")
    }
}

// ---------------------------------------------------------------------------
// Time

/// Maps an event's index to a working minute of the three-year timeline.
struct Clock {
    dates: Vec<NaiveDate>,
    total: u64,
    n: u64,
    last: u64,
    dice: Dice,
}

impl Clock {
    fn new(start: NaiveDate, n: usize, rng: ChaCha8Rng) -> Self {
        let dates: Vec<NaiveDate> = start
            .iter_days()
            .take(SPAN_DAYS as usize)
            .filter(|d| !matches!(d.weekday(), Weekday::Sat | Weekday::Sun))
            .collect();
        Self {
            total: dates.len() as u64 * DAY_MINUTES,
            dates,
            n: n.max(1) as u64,
            last: 0,
            dice: Dice(rng),
        }
    }

    /// The time of event `i` and its day index.
    fn tick(&mut self, i: u64) -> (OccurredAt, usize) {
        let base = (i as u128 * self.total as u128 / self.n as u128) as u64;
        let step = (self.total / self.n).max(1);
        let t = if i == 0 {
            0
        } else {
            (base + self.dice.below(step as usize) as u64).min(self.total - 1)
        };
        self.last = self.last.max(t);
        let day = (self.last / DAY_MINUTES) as usize;
        let minute = (self.last % DAY_MINUTES) as u32;
        let time = self.dates[day]
            .and_hms_opt(9 + minute / 60, minute % 60, 0)
            .expect("a working minute")
            .and_utc();
        (OccurredAt::from_datetime(time), day)
    }
}

// ---------------------------------------------------------------------------
// Output

struct Emitter<W: Write> {
    out: BufWriter<W>,
    ids: ChaCha8Rng,
    programme: ProgrammeId,
    now: OccurredAt,
    today: NaiveDate,
    /// Events written per type name.
    counts: BTreeMap<&'static str, u64>,
}

impl<W: Write> Emitter<W> {
    fn emit(&mut self, event: Event) -> io::Result<()> {
        let mut bytes = [0u8; 16];
        self.ids.fill_bytes(&mut bytes);
        *self.counts.entry(event.type_name()).or_default() += 1;
        NewEvent {
            id: uuid::Builder::from_random_bytes(bytes).into_uuid(),
            programme: self.programme.clone(),
            occurred_at: self.now,
            event,
        }
        .write_json(&mut self.out)?;
        self.out.write_all(b"\n")
    }
}

/// A generated id: always a slug.
fn slug(s: &str) -> Slug {
    Slug::parse(s).expect("generated ids are slugs")
}

/// A generated text: never blank, always visible, short enough.
fn text<const MAX: usize>(s: &str) -> Text<MAX> {
    Text::parse(s).expect("generated texts are valid")
}

fn partnership_id(i: usize) -> Slug {
    slug(&format!("pt-{:06}", i + 1))
}
fn session_id(i: usize) -> Slug {
    slug(&format!("ses-{:05}", i + 1))
}
fn need_id(i: usize) -> Slug {
    slug(&format!("need-{:04}", i + 1))
}

/// A pseudonymous participant code: the participant's number through a
/// bijection of 40 bits, in Crockford base 32 (`bn-7K3Q9XAM`).
fn participant_code(n: u32) -> String {
    const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
    const MASK: u64 = (1 << 40) - 1;
    let mut x = ((n as u64).wrapping_mul(0x009E_3779_B97F) ^ 0x005A_5A5A_5A5A) & MASK;
    let mut code = *b"bn-00000000";
    for slot in code[3..].iter_mut().rev() {
        *slot = ALPHABET[(x & 31) as usize];
        x >>= 5;
    }
    String::from_utf8(code.to_vec()).expect("ASCII")
}

fn fill(template: &str, theme: u8, place: &str) -> String {
    template
        .replace("{t}", THEME_WORDS[theme as usize])
        .replace("{p}", place)
}

// ---------------------------------------------------------------------------
// The model

struct Stakeholder {
    slug: Slug,
    kind: StakeholderKind,
    territory: u8,
    themes: Vec<u8>,
    archived: bool,
}

struct Partnership {
    a: u32,
    b: u32,
    kind: PartnershipKind,
    themes: Vec<u8>,
}

struct Need {
    theme: u8,
}

struct Model {
    dice: Dice,
    /// Every theme, parsed once: the index is the theme.
    themes: Vec<Theme>,
    sh: Vec<Stakeholder>,
    active: usize,
    archived: usize,
    /// Preferential-attachment urns: every stakeholder once, plus once per tie.
    urn: Vec<u32>,
    local_urn: Vec<Vec<u32>>,
    groups: Vec<u32>,
    active_groups: usize,
    partnerships: Vec<Partnership>,
    live_partnerships: Vec<u32>,
    sessions: usize,
    /// Attendances to record: (session, participant).
    pending: VecDeque<(u32, u32)>,
    participants: u32,
    needs: Vec<Need>,
    live_needs: Vec<u32>,
    milestones: usize,
    next_milestone_day: usize,
    notes: usize,
    follow_ups: Vec<(u32, u32)>,
    ties: HashSet<u64>,
}

const FOLLOW_UPS: usize = 1024;
/// Tail exponent of the stakeholders' fitness (Pareto): the degree
/// distribution's tail follows it.
const FITNESS_ALPHA: f64 = 1.5;
/// Largest fitness, so that one hub cannot take over a small network.
const FITNESS_CAP: f64 = 300.0;

impl Model {
    fn new(rng: ChaCha8Rng) -> Self {
        let mut dice = Dice(rng);
        let next_milestone_day = dice.between(5, 25);
        Self {
            dice,
            themes: (0..THEME_COUNT)
                .map(|t| Theme::parse(theme_slug(t)).expect("a theme slug"))
                .collect(),
            sh: Vec::new(),
            active: 0,
            archived: 0,
            urn: Vec::new(),
            local_urn: (0..TERRITORIES.len()).map(|_| Vec::new()).collect(),
            groups: Vec::new(),
            active_groups: 0,
            partnerships: Vec::new(),
            live_partnerships: Vec::new(),
            sessions: 0,
            pending: VecDeque::new(),
            participants: 0,
            needs: Vec::new(),
            live_needs: Vec::new(),
            milestones: 0,
            next_milestone_day,
            notes: 0,
            follow_ups: Vec::new(),
            ties: HashSet::new(),
        }
    }

    fn define_programme<W: Write>(&mut self, em: &mut Emitter<W>) -> io::Result<()> {
        let programme = em.programme.clone();
        em.emit(Event::ProgrammeDefined(ProgrammeDefined {
            name: text(&format!("Generated programme {programme}")),
            programme,
            role: Some(Role::Mentee),
            country: Some(Country::parse("FR").expect("a country code")),
        }))
    }

    /// Themes as the events hold them.
    fn theme_list(&self, themes: &[u8]) -> Vec<Theme> {
        themes
            .iter()
            .map(|&t| self.themes[t as usize].clone())
            .collect()
    }

    // -- choosing stakeholders ------------------------------------------------

    fn is_active(&self, i: u32) -> bool {
        !self.sh[i as usize].archived
    }

    /// Any active stakeholder, uniformly.
    fn any(&mut self) -> Option<u32> {
        if self.active == 0 {
            return None;
        }
        for _ in 0..64 {
            let i = self.dice.below(self.sh.len()) as u32;
            if self.is_active(i) {
                return Some(i);
            }
        }
        let from = self.dice.below(self.sh.len());
        (0..self.sh.len())
            .map(|k| ((from + k) % self.sh.len()) as u32)
            .find(|&i| self.is_active(i))
    }

    /// An active stakeholder, with probability proportional to its fitness
    /// plus its degree.
    fn attached(&mut self) -> Option<u32> {
        for _ in 0..16 {
            if self.urn.is_empty() {
                break;
            }
            let i = self.urn[self.dice.below(self.urn.len())];
            if self.is_active(i) {
                return Some(i);
            }
        }
        self.any()
    }

    fn attached_in(&mut self, territory: u8) -> Option<u32> {
        let urn = &self.local_urn[territory as usize];
        if urn.is_empty() {
            return None;
        }
        let i = urn[self.dice.below(urn.len())];
        self.is_active(i).then_some(i)
    }

    /// A partner for `a`: preferential attachment with homophily by
    /// territory and themes. `None` when `a` is the only active stakeholder.
    fn partner(&mut self, a: u32) -> Option<u32> {
        if self.active < 2 {
            return None;
        }
        let t = self.sh[a as usize].territory;
        let mut best: Option<(u32, usize)> = None;
        for _ in 0..3 {
            let c = if self.dice.chance(0.5) {
                self.attached_in(t)
            } else {
                self.attached()
            };
            let Some(c) = c.filter(|&c| self.may_tie(a, c)) else {
                continue;
            };
            let score = self.affinity(a, c);
            if best.is_none_or(|(_, s)| score > s) {
                best = Some((c, score));
            }
        }
        if let Some((c, _)) = best {
            return Some(c);
        }
        (0..8).find_map(|_| self.any().filter(|&c| self.may_tie(a, c)))
    }

    /// Two different stakeholders, not both beneficiary groups (cohorts do
    /// not contact or partner with one another).
    fn may_tie(&self, a: u32, b: u32) -> bool {
        a != b && !(self.is_group(a) && self.is_group(b))
    }

    fn is_group(&self, i: u32) -> bool {
        self.sh[i as usize].kind == StakeholderKind::BeneficiaryGroup
    }

    fn affinity(&self, a: u32, b: u32) -> usize {
        let (a, b) = (&self.sh[a as usize], &self.sh[b as usize]);
        let shared = a.themes.iter().filter(|t| b.themes.contains(t)).count();
        shared + 2 * usize::from(a.territory == b.territory)
    }

    /// A stakeholder that reaches out or facilitates: city services,
    /// integration agencies, associations, champions… preferred.
    fn initiator(&mut self) -> Option<u32> {
        let mut last = None;
        for _ in 0..3 {
            let c = if self.dice.chance(0.5) {
                self.attached()
            } else {
                self.any()
            };
            if let Some(c) = c {
                if spec(self.sh[c as usize].kind).active {
                    return Some(c);
                }
                last = Some(c);
            }
        }
        last
    }

    fn tie(&mut self, a: u32, b: u32) {
        let (lo, hi) = if a < b { (a, b) } else { (b, a) };
        self.ties.insert((lo as u64) << 32 | hi as u64);
    }

    /// One more tie for `i` in the urns.
    fn attach(&mut self, i: u32) {
        self.urn.push(i);
        let t = self.sh[i as usize].territory;
        self.local_urn[t as usize].push(i);
    }

    fn pick_themes(&mut self, kind: StakeholderKind, count: usize) -> Vec<u8> {
        let primary = spec(kind).themes;
        let mut themes: Vec<u8> = Vec::with_capacity(count);
        for slot in 0..count {
            for _ in 0..8 {
                let r = self.dice.unit();
                let t = if slot == 0 || r < 0.7 {
                    self.dice.pick(primary)
                } else if r < 0.95 {
                    self.dice.below(REFERENCE_THEMES) as u8
                } else {
                    self.dice.between(REFERENCE_THEMES, THEME_COUNT - 1) as u8
                };
                if !themes.contains(&t) {
                    themes.push(t);
                    break;
                }
            }
        }
        themes
    }

    fn contact(&mut self, slug: &Slug) -> Contact {
        let mut c = Contact {
            person: Some(Personal::Clear(text(self.dice.pick(&PERSONS)))),
            ..Contact::default()
        };
        if self.dice.chance(0.8) {
            let email = format!("contact.{slug}@example.org");
            c.email = Some(Personal::Clear(
                Email::parse(&email).expect("an e-mail address"),
            ));
        }
        if self.dice.chance(0.4) {
            let phone = format!(
                "+33 2 38 {:02} {:02} {:02}",
                self.dice.below(100),
                self.dice.below(100),
                self.dice.below(100)
            );
            c.phone = Some(Personal::Clear(
                Phone::parse(&phone).expect("a phone number"),
            ));
        }
        c
    }

    fn name(&mut self, kind: StakeholderKind, territory: u8) -> Text<200> {
        let base = self.dice.pick(spec(kind).names);
        let place = TERRITORIES[territory as usize].0;
        if kind == StakeholderKind::BeneficiaryGroup {
            text(&format!("{base}, {place}"))
        } else {
            text(&format!("{base} — {place}"))
        }
    }

    fn territory(t: u8) -> Text<200> {
        text(TERRITORIES[t as usize].0)
    }

    fn territory_for(&mut self, kind: StakeholderKind) -> u8 {
        let wide = spec(kind).wide && self.dice.chance(0.7);
        let candidates = TERRITORIES.iter().enumerate().filter(|(_, t)| t.2 == wide);
        let k = self.dice.weighted(candidates.clone().map(|(_, t)| t.1));
        candidates
            .map(|(i, _)| i as u8)
            .nth(k)
            .expect("k is in range")
    }

    // -- events ---------------------------------------------------------------

    fn register<W: Write>(&mut self, em: &mut Emitter<W>) -> io::Result<()> {
        let idx = self.sh.len() as u32;
        let kind = KINDS[self.dice.weighted(KINDS.iter().map(|k| k.weight))].kind;
        let territory = self.territory_for(kind);
        let count = 1 + self.dice.weighted([45, 35, 20].into_iter());
        let themes = self.pick_themes(kind, count);
        let slug = slug(&format!("{}-{:05}", spec(kind).prefix, idx + 1));
        let name = self.name(kind, territory);
        let contact = self.dice.chance(0.4).then(|| self.contact(&slug));
        em.emit(Event::StakeholderRegistered(StakeholderRegistered {
            stakeholder: slug.clone(),
            name,
            kind,
            themes: self.theme_list(&themes),
            territory: Some(Self::territory(territory)),
            contact,
            grammar: None,
        }))?;
        self.sh.push(Stakeholder {
            slug,
            kind,
            territory,
            themes,
            archived: false,
        });
        self.active += 1;
        if kind == StakeholderKind::BeneficiaryGroup {
            self.groups.push(idx);
            self.active_groups += 1;
        }
        // Fitness: extra balls in the urns, Pareto-distributed and larger
        // for the kinds that usually sit at the centre of such networks.
        let u = 1.0 - self.dice.unit();
        let pareto = u.powf(-1.0 / FITNESS_ALPHA).min(FITNESS_CAP);
        let balls = (pareto * spec(kind).pull).round().max(1.0) as usize;
        for _ in 0..balls {
            self.attach(idx);
        }
        Ok(())
    }

    fn activity<W: Write>(&mut self, em: &mut Emitter<W>, day: usize) -> io::Result<()> {
        if !self.pending.is_empty() && self.dice.chance(0.6) {
            return self.attendance(em);
        }
        if day >= self.next_milestone_day && self.dice.chance(0.5) {
            self.next_milestone_day = day + self.dice.between(15, 35);
            return self.milestone(em);
        }
        // Weights per 10,000 of the activity other than attendances.
        let choice = self
            .dice
            .weighted([6000u32, 1700, 410, 301, 301, 36, 301, 157].into_iter());
        let done = match choice {
            0 => self.outreach(em)?,
            1 => self.partnership(em)?,
            2 => self.session(em)?,
            3 => self.need(em)?,
            4 => self.profile(em)?,
            5 => self.archive(em)?,
            6 => self.revise_or_end(em)?,
            _ => self.note(em)?,
        };
        if done || self.outreach(em)? {
            return Ok(());
        }
        // Fewer than two active stakeholders: events that need none.
        if self.dice.chance(0.5) {
            self.declare_need(em)
        } else {
            self.milestone(em)
        }
    }

    fn outreach<W: Write>(&mut self, em: &mut Emitter<W>) -> io::Result<bool> {
        if self.active < 2 {
            return Ok(false);
        }
        let mut pair = None;
        let mut follow_up = false;
        if !self.follow_ups.is_empty() && self.dice.chance(0.25) {
            let k = self.dice.below(self.follow_ups.len());
            let (a, b) = self.follow_ups.swap_remove(k);
            if self.is_active(a) && self.is_active(b) {
                pair = Some((a, b));
                follow_up = true;
            }
        }
        if pair.is_none() {
            let Some(a) = self.initiator() else {
                return Ok(false);
            };
            let Some(b) = self.partner(a) else {
                return Ok(false);
            };
            pair = Some((a, b));
        }
        let (a, b) = pair.expect("set above");
        let channel = CHANNELS[self.dice.weighted(CHANNELS.iter().map(|c| c.1))].0;
        let o = if follow_up {
            self.dice.weighted(OUTCOMES.iter().map(|o| o.2))
        } else {
            self.dice.weighted(OUTCOMES.iter().map(|o| o.1))
        };
        let (outcome, _, _, p_due) = OUTCOMES[o];
        let follow_up_due = self.dice.chance(p_due).then(|| {
            if self.follow_ups.len() < FOLLOW_UPS {
                self.follow_ups.push((a, b));
            } else {
                let k = self.dice.below(FOLLOW_UPS);
                self.follow_ups[k] = (a, b);
            }
            Day::from_date(em.today + Days::new(self.dice.between(7, 42) as u64))
        });
        let purpose = self.dice.chance(0.75).then(|| {
            let theme = self.common_theme(a, b);
            let template = if follow_up {
                PURPOSES[PURPOSES.len() - 1]
            } else {
                PURPOSES[self.dice.below(PURPOSES.len() - 1)]
            };
            text(&fill(
                template,
                theme,
                TERRITORIES[self.sh[b as usize].territory as usize].0,
            ))
        });
        if outcome.is_positive() {
            self.tie(a, b);
            self.attach(a);
            self.attach(b);
        }
        em.emit(Event::OutreachContactLogged(OutreachContactLogged {
            from: self.sh[a as usize].slug.clone(),
            to: self.sh[b as usize].slug.clone(),
            channel,
            purpose,
            outcome,
            follow_up_due,
        }))?;
        Ok(true)
    }

    /// A theme both share, else one of `b`'s.
    fn common_theme(&mut self, a: u32, b: u32) -> u8 {
        let (ta, tb) = (&self.sh[a as usize].themes, &self.sh[b as usize].themes);
        match ta.iter().find(|t| tb.contains(t)) {
            Some(&t) => t,
            None => tb[self.dice.below(tb.len())],
        }
    }

    fn partnership<W: Write>(&mut self, em: &mut Emitter<W>) -> io::Result<bool> {
        let a = if self.dice.chance(0.5) {
            self.attached()
        } else {
            self.any()
        };
        let Some(a) = a else { return Ok(false) };
        let Some(b) = self.partner(a) else {
            return Ok(false);
        };
        let funder = [a, b]
            .iter()
            .any(|&i| self.sh[i as usize].kind == StakeholderKind::Funder);
        let kind = if funder && self.dice.chance(0.6) {
            PartnershipKind::Funding
        } else {
            PARTNERSHIP_KINDS[self.dice.weighted(PARTNERSHIP_KINDS.iter().map(|k| k.1))].0
        };
        let mut themes: Vec<u8> = Vec::with_capacity(2);
        let (ta, tb) = (&self.sh[a as usize].themes, &self.sh[b as usize].themes);
        themes.extend(ta.iter().filter(|t| tb.contains(t)).take(2));
        if themes.is_empty() {
            themes.push(ta[0]);
            if tb[0] != ta[0] {
                themes.push(tb[0]);
            }
        }
        if kind == PartnershipKind::Funding && !themes.contains(&FUNDING) && themes.len() < 3 {
            themes.push(FUNDING);
        }
        let idx = self.partnerships.len();
        self.tie(a, b);
        self.attach(a);
        self.attach(b);
        em.emit(Event::PartnershipFormed(PartnershipFormed {
            partnership: partnership_id(idx),
            between: vec![
                self.sh[a as usize].slug.clone(),
                self.sh[b as usize].slug.clone(),
            ],
            kind,
            themes: self.theme_list(&themes),
            groups: Vec::new(),
        }))?;
        self.partnerships.push(Partnership { a, b, kind, themes });
        self.live_partnerships.push(idx as u32);
        Ok(true)
    }

    fn group_near(&mut self, territory: u8, except: &[u32]) -> Option<u32> {
        let mut best: Option<u32> = None;
        for _ in 0..4 {
            let g = self.dice.pick(&self.groups);
            if !self.is_active(g) || except.contains(&g) {
                continue;
            }
            if self.sh[g as usize].territory == territory {
                return Some(g);
            }
            best.get_or_insert(g);
        }
        best
    }

    fn session<W: Write>(&mut self, em: &mut Emitter<W>) -> io::Result<bool> {
        let Some(fac) = self.initiator() else {
            return Ok(false);
        };
        let territory = self.sh[fac as usize].territory;
        let mut stakeholders: Vec<u32> = Vec::new();
        let wanted = self.dice.weighted([15, 30, 30, 15, 10].into_iter());
        for _ in 0..wanted * 2 {
            if stakeholders.len() == wanted {
                break;
            }
            if let Some(s) = self.partner(fac) {
                if !stakeholders.contains(&s) && !self.is_group(s) {
                    stakeholders.push(s);
                }
            }
        }
        let mut groups: Vec<u32> = Vec::new();
        if self.active_groups > 0 && self.dice.chance(0.92) {
            let n = if self.dice.chance(0.25) { 2 } else { 1 };
            for _ in 0..n {
                let mut except = groups.clone();
                except.push(fac);
                if let Some(g) = self.group_near(territory, &except) {
                    groups.push(g);
                }
            }
        }
        let level = if groups.is_empty() {
            self.dice.below(2)
        } else {
            self.dice.weighted(LEVELS.iter().map(|l| l.1))
        };
        let mut themes = vec![self.dice.pick(&self.sh[fac as usize].themes)];
        for &g in &groups {
            let t = self.dice.pick(&self.sh[g as usize].themes);
            if !themes.contains(&t) {
                themes.push(t);
            }
        }
        let title = format!(
            "{} on {} ({})",
            self.dice.pick(LEVELS[level].2),
            THEME_WORDS[themes[0] as usize],
            TERRITORIES[territory as usize].0
        );

        // Beneficiaries: the listed ones get attendance events right after.
        let idx = self.sessions;
        self.sessions += 1;
        let mut beneficiaries = Beneficiaries::default();
        if !groups.is_empty() {
            let listed = self.dice.between(1, 10);
            let mut codes: Vec<u32> = Vec::with_capacity(listed);
            let mut returning = 0;
            for _ in 0..listed {
                let seen = self.participants as usize;
                let code = if seen > 0 && self.dice.chance(0.4) {
                    // Recent participants come back more often.
                    let back = self.dice.below(seen.min(2_000));
                    (seen - 1 - back) as u32
                } else {
                    self.participants += 1;
                    self.participants - 1
                };
                if !codes.contains(&code) {
                    if (code as usize) < seen {
                        returning += 1;
                    }
                    codes.push(code);
                }
            }
            let extra = self.dice.below(7) as u32;
            let total = codes.len() as u32 + extra;
            let women = ((total as f64) * (0.55 + 0.35 * self.dice.unit())).round() as u32;
            let women = women.min(total);
            let undisclosed = (self.dice.below(3) as u32).min(total - women);
            let mut men = total - women - undisclosed;
            if men > 0 && self.dice.chance(0.15) {
                men -= 1;
            }
            beneficiaries = Beneficiaries {
                total,
                women,
                men,
                undisclosed,
                first_time: codes.len() as u32 - returning
                    + self.dice.below(extra as usize + 1) as u32,
                returning,
            };
            self.pending
                .extend(codes.into_iter().map(|c| (idx as u32, c)));
        }
        let outputs = (0..self.dice.below(3))
            .map(|k| text(&fill(OUTPUTS[(idx + k) % OUTPUTS.len()], themes[0], "")))
            .collect();

        let mut everyone = Vec::with_capacity(1 + stakeholders.len() + groups.len());
        everyone.push(fac);
        everyone.extend(&stakeholders);
        everyone.extend(&groups);
        for (k, &x) in everyone.iter().enumerate() {
            for &y in &everyone[k + 1..] {
                self.tie(x, y);
            }
        }
        for &x in &everyone {
            self.attach(x);
        }
        let slug = |i: &u32| self.sh[*i as usize].slug.clone();
        em.emit(Event::CoCreationSessionHeld(CoCreationSessionHeld {
            session: session_id(idx),
            title: text(&title),
            themes: self.theme_list(&themes),
            level: LEVELS[level].0,
            stakeholders: stakeholders.iter().map(slug).collect(),
            facilitators: vec![slug(&fac)],
            groups: groups.iter().map(slug).collect(),
            beneficiaries,
            outputs,
            distrusted: Vec::new(),
        }))?;
        Ok(true)
    }

    fn attendance<W: Write>(&mut self, em: &mut Emitter<W>) -> io::Result<()> {
        let (session, participant) = self.pending.pop_front().expect("checked non-empty");
        let code = participant_code(participant);
        em.emit(Event::ParticipantAttended(ParticipantAttended {
            session: session_id(session as usize),
            participant: Personal::Clear(
                ParticipantCode::parse(&code).expect("a participant code"),
            ),
        }))
    }

    fn need<W: Write>(&mut self, em: &mut Emitter<W>) -> io::Result<bool> {
        if self.live_needs.is_empty() {
            return self.declare_need(em).map(|_| true);
        }
        match self.dice.weighted([45, 40, 15].into_iter()) {
            0 => self.declare_need(em).map(|_| true),
            1 => self.address_need(em),
            _ => {
                let k = self.dice.below(self.live_needs.len());
                let need = self.live_needs.swap_remove(k);
                em.emit(Event::NeedWithdrawn(NeedWithdrawn {
                    need: need_id(need as usize),
                    reason: Some(text(self.dice.pick(&WITHDRAW_REASONS))),
                }))?;
                Ok(true)
            }
        }
    }

    fn declare_need<W: Write>(&mut self, em: &mut Emitter<W>) -> io::Result<()> {
        let (action, theme, description) = self.dice.pick(&NEEDS);
        let idx = self.needs.len();
        self.needs.push(Need { theme });
        self.live_needs.push(idx as u32);
        let description = self.dice.chance(0.7).then(|| text(description));
        let priority = self
            .dice
            .chance(0.85)
            .then(|| PRIORITIES[self.dice.weighted(PRIORITIES.iter().map(|p| p.1))].0);
        em.emit(Event::NeedDeclared(NeedDeclared {
            need: need_id(idx),
            action: text(action),
            theme: self.themes[theme as usize].clone(),
            description,
            priority,
            groups: Vec::new(),
        }))
    }

    fn address_need<W: Write>(&mut self, em: &mut Emitter<W>) -> io::Result<bool> {
        let need = self.dice.pick(&self.live_needs);
        let theme = self.needs[need as usize].theme;
        let wanted = self.dice.between(1, 3);
        let mut by: Vec<u32> = Vec::with_capacity(wanted);
        for _ in 0..wanted {
            let mut pick = None;
            for _ in 0..6 {
                let Some(c) = self.attached() else { break };
                if by.contains(&c) || self.is_group(c) {
                    continue;
                }
                pick = Some(c);
                if self.sh[c as usize].themes.contains(&theme) {
                    break;
                }
            }
            by.extend(pick);
        }
        if by.is_empty() {
            return Ok(false);
        }
        em.emit(Event::NeedAddressed(NeedAddressed {
            need: need_id(need as usize),
            by: by
                .iter()
                .map(|&i| self.sh[i as usize].slug.clone())
                .collect(),
        }))?;
        Ok(true)
    }

    fn profile<W: Write>(&mut self, em: &mut Emitter<W>) -> io::Result<bool> {
        let Some(i) = self.any() else {
            return Ok(false);
        };
        let s = &self.sh[i as usize];
        let (kind, territory) = (s.kind, s.territory);
        let mut data = StakeholderProfileChanged {
            stakeholder: s.slug.clone(),
            name: None,
            kind: None,
            themes: None,
            territory: None,
            contact: None,
            grammar: None,
        };
        let mut field = self.dice.weighted([45, 25, 12, 12, 6].into_iter());
        let new_kind = KIND_CHANGES
            .iter()
            .filter(|(from, _)| *from == kind)
            .map(|&(_, to)| to)
            .next();
        if field == 4 && new_kind.is_none() {
            field = 0;
        }
        match field {
            0 => {
                let mut themes = self.sh[i as usize].themes.clone();
                if themes.len() >= 2 && (themes.len() >= 6 || self.dice.chance(0.3)) {
                    themes.remove(self.dice.below(themes.len()));
                } else {
                    let extra = self.pick_themes(kind, 3);
                    match extra.iter().find(|t| !themes.contains(t)) {
                        Some(&t) => themes.push(t),
                        None => themes.push(
                            (0..THEME_COUNT as u8)
                                .find(|t| !themes.contains(t))
                                .expect("fewer than 6 of 21 themes"),
                        ),
                    }
                }
                data.themes = Some(self.theme_list(&themes));
                self.sh[i as usize].themes = themes;
            }
            1 => data.contact = Some(self.contact(&self.sh[i as usize].slug.clone())),
            2 => {
                let mut t = self.territory_for(kind);
                if t == territory {
                    t = ((t as usize + 1) % TERRITORIES.len()) as u8;
                }
                data.territory = Some(Self::territory(t));
                self.sh[i as usize].territory = t;
                self.attach(i);
            }
            3 => data.name = Some(self.name(kind, territory)),
            _ => {
                let to = new_kind.expect("checked above");
                data.kind = Some(to);
                self.sh[i as usize].kind = to;
            }
        }
        em.emit(Event::StakeholderProfileChanged(data))?;
        Ok(true)
    }

    fn archive<W: Write>(&mut self, em: &mut Emitter<W>) -> io::Result<bool> {
        if (self.archived + 1) * 20 > self.sh.len() || self.active <= 2 {
            return Ok(false);
        }
        let Some(i) = self.any() else {
            return Ok(false);
        };
        let group = self.is_group(i);
        if group && self.active_groups <= 2 {
            return Ok(false);
        }
        self.sh[i as usize].archived = true;
        self.active -= 1;
        self.archived += 1;
        if group {
            self.active_groups -= 1;
        }
        em.emit(Event::StakeholderArchived(StakeholderArchived {
            stakeholder: self.sh[i as usize].slug.clone(),
            reason: Some(text(self.dice.pick(&ARCHIVE_REASONS))),
        }))?;
        Ok(true)
    }

    fn revise_or_end<W: Write>(&mut self, em: &mut Emitter<W>) -> io::Result<bool> {
        if self.live_partnerships.is_empty() {
            return Ok(false);
        }
        let k = self.dice.below(self.live_partnerships.len());
        let p = self.live_partnerships[k] as usize;
        if self.dice.chance(0.4) {
            self.live_partnerships.swap_remove(k);
            em.emit(Event::PartnershipEnded(PartnershipEnded {
                partnership: partnership_id(p),
                reason: Some(text(self.dice.pick(&END_REASONS))),
            }))?;
            return Ok(true);
        }
        let mut data = PartnershipRevised {
            partnership: partnership_id(p),
            kind: None,
            themes: None,
            groups: None,
        };
        let formal = PartnershipKind::FormalAgreement;
        let pt = &self.partnerships[p];
        let candidate = self.sh[pt.a as usize]
            .themes
            .iter()
            .chain(&self.sh[pt.b as usize].themes)
            .find(|t| !pt.themes.contains(t))
            .copied()
            .filter(|_| pt.themes.len() < 6);
        if pt.kind < formal && (self.dice.chance(0.6) || candidate.is_none()) {
            // Partnerships grow more formal; funding leads to a formal
            // agreement, as co-delivery does.
            let kind = match pt.kind {
                PartnershipKind::Informal => PartnershipKind::InformationSharing,
                PartnershipKind::InformationSharing => PartnershipKind::Referral,
                PartnershipKind::Referral => PartnershipKind::CoDelivery,
                _ => formal,
            };
            data.kind = Some(kind);
            self.partnerships[p].kind = kind;
        } else if let Some(t) = candidate {
            self.partnerships[p].themes.push(t);
            data.themes = Some(self.theme_list(&self.partnerships[p].themes));
        } else {
            data.kind = Some(PartnershipKind::Informal);
            self.partnerships[p].kind = PartnershipKind::Informal;
        }
        em.emit(Event::PartnershipRevised(data))?;
        Ok(true)
    }

    fn note<W: Write>(&mut self, em: &mut Emitter<W>) -> io::Result<bool> {
        let mut about_kind = self.dice.weighted([50, 20, 20, 10].into_iter());
        if about_kind == 1 && self.needs.is_empty()
            || about_kind == 2 && self.partnerships.is_empty()
        {
            about_kind = 3;
        }
        self.notes += 1;
        let idx = self.notes - 1;
        let texts = NOTE_TEXTS[about_kind];
        let template = self.dice.pick(texts);
        let about = match about_kind {
            0 => {
                let Some(i) = self.any() else {
                    return Ok(false);
                };
                let s = &self.sh[i as usize];
                let text = fill(template, s.themes[0], "");
                (About::Stakeholder(s.slug.clone()), text)
            }
            1 => {
                let n = self.dice.below(self.needs.len());
                let text = fill(template, self.needs[n].theme, "");
                (About::Need(need_id(n)), text)
            }
            2 => {
                let p = self.dice.below(self.partnerships.len());
                (About::Partnership(partnership_id(p)), template.to_owned())
            }
            _ => {
                let gap = self.dice.pick(&GAP_KINDS);
                let subject = if self.sh.is_empty() {
                    "network"
                } else {
                    self.sh[self.dice.below(self.sh.len())].slug.as_str()
                };
                (
                    About::Gap(text(&format!("{gap}:{subject}"))),
                    template.to_owned(),
                )
            }
        };
        em.emit(Event::ReviewNoteAdded(ReviewNoteAdded {
            note: slug(&format!("note-{:05}", idx + 1)),
            about: about.0,
            text: text(&about.1),
            distrusted_by: Vec::new(),
        }))?;
        Ok(true)
    }

    fn milestone<W: Write>(&mut self, em: &mut Emitter<W>) -> io::Result<()> {
        let k = self.dice.weighted(MILESTONES.iter().map(|m| m.1));
        let (kind, _, labels) = MILESTONES[k];
        self.milestones += 1;
        let label = format!("{} (#{})", self.dice.pick(labels), self.milestones);
        em.emit(Event::MilestoneMarked(MilestoneMarked {
            milestone: slug(&format!("ms-{:03}", self.milestones)),
            label: text(&label),
            kind,
            stakeholders: Vec::new(),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vocabulary_follows_the_catalogue() {
        for (k, spec) in KINDS.iter().enumerate() {
            assert_eq!(
                spec.kind,
                StakeholderKind::ALL[k],
                "KINDS in catalogue order"
            );
        }
        assert_eq!(KINDS.iter().map(|k| k.weight).sum::<u32>(), 1000);
        for (from, to) in KIND_CHANGES {
            assert_ne!(from, StakeholderKind::BeneficiaryGroup);
            assert_ne!(to, StakeholderKind::BeneficiaryGroup);
        }
        let draws = [
            CHANNELS.map(|c| c.0 as usize).to_vec(),
            OUTCOMES.map(|o| o.0 as usize).to_vec(),
            PARTNERSHIP_KINDS.map(|k| k.0 as usize).to_vec(),
            LEVELS.map(|l| l.0 as usize).to_vec(),
            PRIORITIES.map(|p| p.0 as usize).to_vec(),
            MILESTONES.map(|m| m.0 as usize).to_vec(),
        ];
        let sizes = [
            Channel::ALL.len(),
            Outcome::ALL.len(),
            PartnershipKind::ALL.len(),
            Level::ALL.len(),
            Priority::ALL.len(),
            MilestoneKind::ALL.len(),
        ];
        for (mut drawn, size) in draws.into_iter().zip(sizes) {
            drawn.sort_unstable();
            assert_eq!(drawn, (0..size).collect::<Vec<_>>(), "every value once");
        }
        assert_eq!(THEME_WORDS.len(), THEME_COUNT);
        for t in 0..THEME_COUNT {
            assert!(Theme::parse(theme_slug(t)).is_ok());
            assert!(!Theme::REFERENCE[..t.min(REFERENCE_THEMES)].contains(&theme_slug(t)));
        }
    }

    #[test]
    fn participant_codes_are_distinct_and_valid() {
        let codes: HashSet<String> = (0..100_000).map(participant_code).collect();
        assert_eq!(codes.len(), 100_000);
        assert!(codes.iter().all(|c| ParticipantCode::parse(c).is_ok()));
    }
}
