//! The gap report: what the network lacks, as findings a coordinator can act
//! on. The ten finding kinds of PRODUCT.md §4 are computed from a programme's
//! model, its network at the as-of time and the network's metrics.
//!
//! Every finding has a stable id built from its kind and subjects only (the
//! same finding keeps its id across runs and as-of times, so review notes can
//! point at it), a severity, an explanation and a suggestion in English and
//! French, and the ids of the events that are its evidence. Thresholds are in
//! [`GapConfig`], with defaults documented there.
//!
//! Two findings measure shares of beneficiaries over a window (women's
//! share, returning share). Mentors and viewers get them computed over
//! public sessions only ([`GapReport::for_audience`]): otherwise the change
//! of a share when a session with small counts enters or leaves the window
//! would give those counts away. Evidence never lists attendance events
//! (their number would be the attendance): a session is shown by its own
//! event.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use rustc_hash::{FxHashMap, FxHashSet};
use std::fmt;

use chrono::{DateTime, Utc};
use passerelle_events::event::{
    About, Gender, GrammaticalNumber, Level, Outcome, PartnershipKind, Priority, StakeholderKind,
};
use uuid::Uuid;

pub use crate::messages::Bilingual;
use crate::messages::{self, bilingual, label, Arg, Noun};
use crate::model::{
    Audience, Contact, Need, NeedStatus, Note, Partnership, Programme, Session, Stakeholder,
};
use crate::network::{Analysis, Network, Tie};

#[cfg(test)]
mod every_kind;
mod introductions;
mod mentor;
mod merge;
mod needs;
mod participation;
mod sectors;
mod structure;
mod ties;

use introductions::*;
pub use mentor::{mentor_practice, mentors, Practice};
use merge::*;
use needs::*;
pub use needs::{committed, delivers, sector_of, serves};
use participation::*;
use sectors::*;
use structure::*;
use ties::*;

/// Thresholds of the gap report.
#[derive(Debug, Clone, PartialEq)]
pub struct GapConfig {
    /// A partnership whose tie has lost more than this share of its
    /// strength is dormant (0.5: one half-life without interaction — six
    /// months for an informal partnership, nine for a referral, eighteen for
    /// a formal agreement; an institutional link never is).
    pub dormant_ratio: f64,
    /// A stakeholder whose only tie is weaker than this hangs on a weak tie (0.2).
    pub weak_strength: f64,
    /// This many contacts without a positive outcome is stalled outreach (3).
    pub stalled_contacts: usize,
    /// Betweenness at or above this marks a broker (0.25).
    pub broker_betweenness: f64,
    /// …when its Burt constraint is at most this (0.4: few redundant ties).
    pub broker_constraint: f64,
    /// A kind whose ties have an E-I index at or below this is siloed (−0.5).
    pub silo_ei: f64,
    /// Target share of women among beneficiaries (0.5).
    pub target_women_share: f64,
    /// Minimum share of returning participants (0.25).
    pub min_returning_share: f64,
    /// Participation stuck at inform/consult over this many latest sessions (3).
    pub stuck_sessions: usize,
    /// Participation shares are measured over this many days before the as-of time (365).
    pub participation_window_days: i64,
    /// Both ties to a common partner must be at least this strong for an
    /// introduction (0.3).
    pub introduction_strength: f64,
    /// At most this many suggested introductions (3).
    pub max_introductions: usize,
    /// Whether findings telling the same problem are merged into one (true).
    pub merge: bool,
    /// A follow-up more than this many days overdue is no longer warm (30).
    pub warm_days: i64,
    /// A positive or pending contact with nothing after it for this many
    /// days has no next step (30)…
    pub next_step_days: i64,
    /// …unless it is older than this many days: then it has gone cold
    /// (365).
    pub next_step_max_days: i64,
    /// A stakeholder facilitating at least this share of the sessions with
    /// beneficiaries carries too much of the work (0.5)…
    pub workload_share: f64,
    /// …over at least this many sessions (4).
    pub workload_sessions: usize,
}

impl Default for GapConfig {
    fn default() -> Self {
        Self {
            dormant_ratio: 0.5,
            weak_strength: 0.2,
            stalled_contacts: 3,
            broker_betweenness: 0.25,
            broker_constraint: 0.4,
            silo_ei: -0.5,
            target_women_share: 0.5,
            min_returning_share: 0.25,
            stuck_sessions: 3,
            participation_window_days: 365,
            introduction_strength: 0.3,
            max_introductions: 3,
            merge: true,
            warm_days: 30,
            next_step_days: 30,
            next_step_max_days: 365,
            workload_share: 0.5,
            workload_sessions: 4,
        }
    }
}

/// How urgent a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    /// Act now.
    High,
    /// Plan for it.
    Medium,
    /// Worth knowing.
    Low,
}

impl Severity {
    /// Every severity, the most urgent first.
    pub const ALL: [Severity; 3] = [Severity::High, Severity::Medium, Severity::Low];

    /// `high`, `medium` or `low`.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::High => "high",
            Severity::Medium => "medium",
            Severity::Low => "low",
        }
    }
}

/// The ten kinds of finding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[allow(missing_docs)]
pub enum FindingKind {
    UncoveredNeed,
    MissingSector,
    SinglePointOfFailure,
    IsolatedStakeholder,
    StalledOutreach,
    DormantTie,
    BrokerDependency,
    SiloedSector,
    SuggestedIntroduction,
    Participation,
    WorkloadConcentration,
    MissingNextStep,
}

impl FindingKind {
    /// Every kind.
    pub const ALL: [FindingKind; 12] = [
        FindingKind::UncoveredNeed,
        FindingKind::MissingSector,
        FindingKind::SinglePointOfFailure,
        FindingKind::IsolatedStakeholder,
        FindingKind::StalledOutreach,
        FindingKind::DormantTie,
        FindingKind::BrokerDependency,
        FindingKind::SiloedSector,
        FindingKind::SuggestedIntroduction,
        FindingKind::Participation,
        FindingKind::WorkloadConcentration,
        FindingKind::MissingNextStep,
    ];

    /// What a coordinator should act on first, among findings of one
    /// severity: a need nobody covers before a tie to renew.
    pub fn rank(self) -> u8 {
        match self {
            FindingKind::UncoveredNeed => 0,
            FindingKind::SinglePointOfFailure => 1,
            FindingKind::WorkloadConcentration => 2,
            FindingKind::StalledOutreach => 3,
            FindingKind::MissingNextStep => 4,
            FindingKind::Participation => 5,
            FindingKind::IsolatedStakeholder => 6,
            FindingKind::DormantTie => 7,
            FindingKind::MissingSector => 8,
            FindingKind::BrokerDependency => 9,
            FindingKind::SiloedSector => 10,
            FindingKind::SuggestedIntroduction => 11,
        }
    }

    /// The snake_case name.
    pub fn as_str(self) -> &'static str {
        match self {
            FindingKind::UncoveredNeed => "uncovered_need",
            FindingKind::MissingSector => "missing_sector",
            FindingKind::SinglePointOfFailure => "single_point_of_failure",
            FindingKind::IsolatedStakeholder => "isolated_stakeholder",
            FindingKind::StalledOutreach => "stalled_outreach",
            FindingKind::DormantTie => "dormant_tie",
            FindingKind::BrokerDependency => "broker_dependency",
            FindingKind::SiloedSector => "siloed_sector",
            FindingKind::SuggestedIntroduction => "suggested_introduction",
            FindingKind::Participation => "participation",
            FindingKind::WorkloadConcentration => "workload_concentration",
            FindingKind::MissingNextStep => "missing_next_step",
        }
    }
}

impl fmt::Display for FindingKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One finding.
#[derive(Debug, Clone, PartialEq)]
pub struct Finding {
    /// Stable id: `{kind}/{subjects}`.
    pub id: String,
    /// Kind.
    pub kind: FindingKind,
    /// Severity.
    pub severity: Severity,
    /// Stakeholder, need, partnership, session ids, kinds or themes concerned.
    pub subjects: Vec<String>,
    /// What is wrong, in plain language.
    pub explanation: Bilingual,
    /// The events that show it.
    pub evidence: Vec<Uuid>,
    /// A next step.
    pub suggestion: Bilingual,
    /// The ids of the findings told in this one: the same problem seen by
    /// several rules (an isolated stakeholder whose only tie is dormant),
    /// each with its evidence in `evidence`.
    pub merged: Vec<String>,
    /// The themes the finding is about (to find the mentor's practice).
    pub themes: Vec<String>,
    /// The sectors (stakeholder kinds) it is about.
    pub sectors: Vec<StakeholderKind>,
    /// The pairs of stakeholders the suggestion proposes to bring together,
    /// each sorted: never two that already share a present tie.
    pub introduces: Vec<[String; 2]>,
    /// The review notes about this finding (its id or the id of a finding
    /// merged into it), or about the need or partnership it is about, or
    /// the stakeholder it is centred on, in log order.
    pub notes: Vec<Note>,
    /// How many stakeholders it touches: the distinct stakeholders among its
    /// subjects together with the beneficiary groups of the needs among
    /// them; a rule that knows of more counts those too (the partners of a
    /// dormant hub, the stakeholders a single point of failure cuts off); a
    /// merged finding reaches as far as the widest of its parts. Stakeholders,
    /// never people: the order it gives tells a mentor or viewer no
    /// attendance. Among findings of one severity, the wider problem comes
    /// first ([`order_key`]).
    pub reach: usize,
    /// What the problem is centred on: the stakeholders (or `lean:` keys)
    /// that findings telling the same problem share. Findings sharing one
    /// are merged.
    pub focus: Vec<String>,
}

/// The findings of one programme at one time.
#[derive(Debug, Clone, PartialEq)]
pub struct GapReport {
    /// Programme id.
    pub programme: String,
    /// The time the network was measured at.
    pub as_of: DateTime<Utc>,
    /// The log position the report reflects.
    pub position: u64,
    /// Findings most important first: [`order_key`].
    pub findings: Vec<Finding>,
    /// The share findings ([`is_share`]) computed over public sessions
    /// only: what mentors and viewers get instead of those in `findings`.
    pub public_shares: Vec<Finding>,
    /// The mentor programmes' practice beside the findings, when the view
    /// was made with them ([`mentor_practice`]); it holds other programmes'
    /// data: readers who may not read them must not get it.
    pub practice: Vec<Practice>,
}

/// Subjects of the findings that measure a share of beneficiaries.
const SHARES: [&str; 2] = ["women_share", "returning"];

/// Whether a finding measures a share of beneficiaries (women's share,
/// returning share, overall or of one group), which depends on which
/// sessions are summed.
pub fn is_share(f: &Finding) -> bool {
    f.kind == FindingKind::Participation
        && matches!(f.subjects.first(), Some(s) if SHARES.contains(&s.as_str()))
}

const SERVICE_KINDS: [StakeholderKind; 9] = [
    StakeholderKind::CityService,
    StakeholderKind::IntegrationAgency,
    StakeholderKind::Association,
    StakeholderKind::Education,
    StakeholderKind::Health,
    StakeholderKind::LegalAid,
    StakeholderKind::Childcare,
    StakeholderKind::Interpreting,
    StakeholderKind::Employer,
];

const REFERENCE_SECTORS: [StakeholderKind; 12] = [
    StakeholderKind::CityService,
    StakeholderKind::IntegrationAgency,
    StakeholderKind::Association,
    StakeholderKind::CommunityChampion,
    StakeholderKind::BeneficiaryGroup,
    StakeholderKind::Education,
    StakeholderKind::Health,
    StakeholderKind::LegalAid,
    StakeholderKind::Childcare,
    StakeholderKind::Interpreting,
    StakeholderKind::Funder,
    StakeholderKind::Employer,
];

fn is_group(k: StakeholderKind) -> bool {
    matches!(
        k,
        StakeholderKind::BeneficiaryGroup | StakeholderKind::CommunityChampion
    )
}

fn is_service(k: StakeholderKind) -> bool {
    SERVICE_KINDS.contains(&k)
}

/// The snake_case name of a kind.
pub fn kind_name(k: StakeholderKind) -> String {
    serde_json::to_value(k)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

/// The label of a kind, in both languages.
fn kind_label(k: StakeholderKind) -> Bilingual {
    label("kind", k)
}

/// A theme in a sentence, in each language ([`messages::theme`]).
fn theme_words(theme: &str) -> Arg {
    messages::theme(theme)
}

/// The day of `t`, written as each language writes a date.
fn day(t: DateTime<Utc>) -> Arg {
    messages::day(t)
}

/// `a, b and c`, in both languages, with French articles and agreement.
fn and(names: &[Noun]) -> Arg {
    messages::nouns(names.to_vec(), "list.and")
}

/// `a, b or c`, in both languages, with French articles and agreement.
fn or(names: &[Noun]) -> Arg {
    messages::nouns(names.to_vec(), "list.or")
}

/// A stakeholder's name with the grammar French sentences need.
fn noun_of(s: &Stakeholder) -> Noun {
    Noun {
        name: s.name.clone(),
        feminine: s.grammar.gender == Gender::Feminine,
        plural: s.grammar.number == GrammaticalNumber::Plural,
        article: s.grammar.article,
    }
}

struct Ctx<'a> {
    p: &'a Programme,
    net: &'a Network,
    /// The metrics; `None` while computing [`NetworkFindings`].
    an: Option<&'a Analysis>,
    cfg: &'a GapConfig,
    out: Vec<Finding>,
    /// Each stakeholder's latest part in the programme's work (a session,
    /// a milestone, a need taken on, a partnership formed), made on first use.
    last_part: std::cell::OnceCell<FxHashMap<&'a str, DateTime<Utc>>>,
}

impl<'a> Ctx<'a> {
    fn new(
        p: &'a Programme,
        net: &'a Network,
        an: Option<&'a Analysis>,
        cfg: &'a GapConfig,
        out: Vec<Finding>,
    ) -> Self {
        Self {
            p,
            net,
            an,
            cfg,
            out,
            last_part: std::cell::OnceCell::new(),
        }
    }

    /// Whether stakeholder `id` took part in the programme's work after
    /// `t`: a session, a milestone naming it, a need it took on or a
    /// partnership it formed.
    fn active_since(&self, id: &str, t: DateTime<Utc>) -> bool {
        let p = self.p;
        let last = self.last_part.get_or_init(|| {
            let mut m: FxHashMap<&str, DateTime<Utc>> = FxHashMap::default();
            let mut saw = |id: &'a str, at: DateTime<Utc>| {
                let e = m.entry(id).or_insert(at);
                *e = (*e).max(at);
            };
            for s in p.sessions.values() {
                for x in s
                    .stakeholders
                    .iter()
                    .chain(&s.facilitators)
                    .chain(&s.groups)
                {
                    saw(x, s.occurred_at);
                }
            }
            for ms in p.milestones.values() {
                for x in &ms.stakeholders {
                    saw(x, ms.occurred_at);
                }
            }
            for n in p.needs.values() {
                for a in &n.addressed {
                    saw(&a.by, a.at);
                }
            }
            for x in p.partnerships.values() {
                for s in &x.between {
                    saw(s, x.formed_at);
                }
            }
            m
        });
        last.get(id).is_some_and(|at| *at > t)
    }

    fn an(&self) -> &'a Analysis {
        self.an
            .expect("only the kinds of `complete` read the metrics")
    }

    /// The name of stakeholder `id`, with its French grammar.
    fn noun(&self, id: &str) -> Noun {
        self.p
            .stakeholders
            .get(id)
            .map_or_else(|| Noun::proper(id), noun_of)
    }

    /// The names of stakeholders `ids`, with their French grammar.
    fn nouns(&self, ids: &[String]) -> Vec<Noun> {
        ids.iter().map(|i| self.noun(i)).collect()
    }

    /// The name of node `i`, with its French grammar.
    fn node_noun(&self, i: usize) -> Noun {
        self.noun(&self.net.nodes[i])
    }

    fn kind(&self, i: usize) -> StakeholderKind {
        self.net.kinds[i]
    }

    /// How many distinct stakeholders `subjects` name: the stakeholders
    /// among them and the beneficiary groups of the needs among them.
    fn touched(&self, subjects: &[String]) -> usize {
        let mut seen: BTreeSet<&str> = BTreeSet::new();
        for s in subjects {
            if self.p.stakeholders.contains_key(s) {
                seen.insert(s);
            } else if let Some(n) = self.p.needs.get(s) {
                seen.extend(
                    n.groups
                        .iter()
                        .filter(|g| self.p.stakeholders.contains_key(*g))
                        .map(String::as_str),
                );
            }
        }
        seen.len()
    }

    /// Adds a finding; the caller may then set its themes, sectors, focus,
    /// pairs and a wider reach on the finding returned.
    fn push(
        &mut self,
        kind: FindingKind,
        severity: Severity,
        subjects: Vec<String>,
        explanation: Bilingual,
        evidence: impl IntoIterator<Item = Uuid>,
        suggestion: Bilingual,
    ) -> &mut Finding {
        let mut evidence: Vec<Uuid> = evidence.into_iter().collect();
        evidence.sort();
        evidence.dedup();
        let reach = self.touched(&subjects);
        self.out.push(Finding {
            id: format!("{}/{}", kind.as_str(), subjects.join("+")),
            kind,
            severity,
            subjects,
            explanation,
            evidence,
            suggestion,
            merged: Vec::new(),
            themes: Vec::new(),
            sectors: Vec::new(),
            introduces: Vec::new(),
            notes: Vec::new(),
            reach,
            focus: Vec::new(),
        });
        self.out.last_mut().expect("just pushed")
    }
}

/// The findings that need only the network, not its metrics (uncovered
/// needs, missing sectors, isolated stakeholders, stalled outreach, dormant
/// ties, participation): [`views::view`](crate::views::view) computes them
/// while the metrics are computed, then [`complete`] adds the rest.
#[derive(Debug, Clone)]
pub struct NetworkFindings {
    findings: Vec<Finding>,
    public_shares: Vec<Finding>,
    introductions: Vec<Candidate>,
}

/// The first part of the gap report: every kind that needs only `net`.
pub fn network_findings(p: &Programme, net: &Network, cfg: &GapConfig) -> NetworkFindings {
    let mut cx = Ctx::new(p, net, None, cfg, Vec::new());
    uncovered_needs(&mut cx);
    missing_sectors(&mut cx);
    isolated(&mut cx);
    stalled_outreach(&mut cx);
    dormant_ties(&mut cx);
    participation(&mut cx);
    workload(&mut cx);
    shares(&mut cx, Audience::Full);
    let introductions = introduction_candidates(&cx);
    let findings = std::mem::take(&mut cx.out);
    shares(&mut cx, Audience::Restricted);
    NetworkFindings {
        findings,
        public_shares: cx.out,
        introductions,
    }
}

/// The gap report: `first` (from [`network_findings`] on the same network)
/// and the kinds that need the metrics, most important first ([`order_key`]).
pub fn complete(
    p: &Programme,
    net: &Network,
    an: &Analysis,
    cfg: &GapConfig,
    first: NetworkFindings,
) -> GapReport {
    let mut cx = Ctx::new(p, net, Some(an), cfg, first.findings);
    single_points_of_failure(&mut cx);
    brokers(&mut cx);
    silos(&mut cx);
    introductions(&mut cx, first.introductions);
    let findings = if cfg.merge { merge(cx.out) } else { cx.out };
    let mut findings = sorted(findings);
    attach_notes(p, &mut findings);
    let mut public_shares = first.public_shares;
    attach_notes(p, &mut public_shares);
    GapReport {
        programme: p.id.clone(),
        as_of: net.as_of,
        position: net.position,
        findings,
        public_shares,
        practice: Vec::new(),
    }
}

/// Where a finding stands in the report, most important first: by severity
/// (high first), then by reach (the widest first: [`Finding::reach`]), then
/// what to act on first ([`FindingKind::rank`]), then by id. Ids are unique
/// in a report, so the order is total, and the same on every read of one
/// report: a page of it starts where the previous one stopped.
pub fn order_key(f: &Finding) -> (Severity, std::cmp::Reverse<usize>, u8, &str) {
    (
        f.severity,
        std::cmp::Reverse(f.reach),
        f.kind.rank(),
        f.id.as_str(),
    )
}

/// Findings in [`order_key`] order, the first of each id only. The keys
/// are sorted rather than the findings, which then move once.
fn sorted(findings: Vec<Finding>) -> Vec<Finding> {
    let mut keys: Vec<(_, usize)> = findings
        .iter()
        .enumerate()
        .map(|(i, f)| (order_key(f), i))
        .collect();
    keys.sort_unstable();
    keys.dedup_by(|a, b| a.0 .3 == b.0 .3);
    let order: Vec<usize> = keys.into_iter().map(|k| k.1).collect();
    let mut slots: Vec<Option<Finding>> = findings.into_iter().map(Some).collect();
    order
        .into_iter()
        .map(|i| slots[i].take().expect("each finding is taken once"))
        .collect()
}

/// Computes the gap report of programme `p` from its network and metrics.
pub fn report(p: &Programme, net: &Network, an: &Analysis, cfg: &GapConfig) -> GapReport {
    complete(p, net, an, cfg, network_findings(p, net, cfg))
}

/// Two stakeholder ids as a sorted pair.
fn pair(a: String, b: String) -> [String; 2] {
    if a <= b {
        [a, b]
    } else {
        [b, a]
    }
}

/// Two sentences, one after the other.
fn then(mut a: Bilingual, b: Bilingual) -> Bilingual {
    append(&mut a, b);
    a
}

/// Sentence `b` after `a`, in each language.
fn append(a: &mut Bilingual, b: Bilingual) {
    for (own, more) in [(&mut a.en, b.en), (&mut a.fr, b.fr)] {
        own.push(' ');
        own.push_str(&more);
    }
}

/// Texts joined into one list in each language (`a, b and c`), the
/// conjunction being a `list.*` key.
fn joined(items: &[Bilingual], conjunction: &str) -> Bilingual {
    let each = |lang: fn(&Bilingual) -> &String| -> Vec<String> {
        items.iter().map(|b| lang(b).clone()).collect()
    };
    Bilingual {
        en: messages::list(&each(|b| &b.en), conjunction).en,
        fr: messages::list(&each(|b| &b.fr), conjunction).fr,
    }
}

impl GapReport {
    /// The report as `audience` may see it: for mentors and viewers, the
    /// share findings computed over public sessions only.
    pub fn for_audience(&self, audience: Audience) -> std::borrow::Cow<'_, GapReport> {
        match audience {
            Audience::Full => std::borrow::Cow::Borrowed(self),
            Audience::Restricted => {
                let findings = self
                    .findings
                    .iter()
                    .filter(|f| !is_share(f))
                    .chain(&self.public_shares)
                    .cloned()
                    .collect();
                std::borrow::Cow::Owned(GapReport {
                    programme: self.programme.clone(),
                    as_of: self.as_of,
                    position: self.position,
                    findings: sorted(findings),
                    public_shares: self.public_shares.clone(),
                    practice: self.practice.clone(),
                })
            }
        }
    }

    /// Findings of one kind.
    pub fn of_kind(&self, kind: FindingKind) -> impl Iterator<Item = &Finding> {
        self.findings.iter().filter(move |f| f.kind == kind)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_intersection_strategies_agree() {
        let weight: Vec<f64> = (0..200).map(|w| 1.0 / (w + 1) as f64).collect();
        let long: Vec<usize> = (0..200).step_by(3).collect();
        for short in [
            vec![3usize, 4, 9, 150],
            vec![0, 1, 2, 3, 6, 7, 99, 198],
            (0..200).step_by(2).collect(),
        ] {
            let merged = {
                let (mut c, mut s) = (0, 0.0);
                for &w in &short {
                    if long.contains(&w) {
                        c += 1;
                        s += weight[w];
                    }
                }
                (c, s)
            };
            for (x, y) in [(&short, &long), (&long, &short)] {
                let (mut c, mut s) = (0, 0.0);
                sorted_intersection(x, y, |w| {
                    c += 1;
                    s += weight[w];
                });
                assert_eq!(c, merged.0);
                assert!((s - merged.1).abs() < 1e-15);
            }
        }
    }
    use crate::engine::replay;
    use crate::metrics::MetricsConfig;
    use crate::network::NetworkConfig;
    use crate::testkit::{ev, stored};
    use serde_json::{json, Value};

    fn gaps(wire: &[Value], as_of: &str) -> GapReport {
        let model = replay(stored(wire).iter());
        let p = &model.programmes["p"];
        let t = passerelle_events::values::OccurredAt::parse(as_of)
            .unwrap()
            .datetime();
        let net = Network::build(p, t, 0, &NetworkConfig::default());
        let an = net.analyse(&MetricsConfig::default());
        report(p, &net, &an, &GapConfig::default())
    }

    fn programme(stakeholders: &[(&str, &str)]) -> Vec<Value> {
        let mut v = vec![ev(
            "ProgrammeDefined",
            "2021-01-01",
            json!({"programme": "p", "name": "P"}),
        )];
        for (id, kind) in stakeholders {
            v.push(ev(
                "StakeholderRegistered",
                "2021-01-01",
                json!({"stakeholder": id, "name": id, "kind": kind, "themes": ["language"]}),
            ));
        }
        v
    }

    fn partnership(id: &str, a: &str, b: &str) -> Value {
        ev(
            "PartnershipFormed",
            "2021-01-02",
            json!({"partnership": id, "between": [a, b], "kind": "referral"}),
        )
    }

    #[test]
    fn a_separate_component_is_a_silo() {
        let mut w = programme(&[
            ("a", "association"),
            ("b", "association"),
            ("c", "city_service"),
            ("x", "health"),
            ("y", "health"),
        ]);
        w.push(partnership("p1", "a", "b"));
        w.push(partnership("p2", "b", "c"));
        w.push(partnership("p3", "x", "y"));
        let r = gaps(&w, "2021-01-02");
        let silo = r
            .of_kind(FindingKind::SiloedSector)
            .find(|f| f.subjects == ["x", "y"]);
        assert!(silo.is_some(), "{:#?}", r.findings);
        // The health sector is tied only within itself: E-I −1.
        assert!(r
            .of_kind(FindingKind::SiloedSector)
            .any(|f| f.id == "siloed_sector/health"));
    }

    #[test]
    fn stuck_levels_and_a_low_women_share_are_participation_findings() {
        let mut w = programme(&[("a", "association"), ("g", "beneficiary_group")]);
        for (i, level) in ["inform", "consult", "consult"].iter().enumerate() {
            w.push(ev(
                "CoCreationSessionHeld",
                &format!("2021-0{}-01", i + 2),
                json!({
                "session": format!("s{i}"), "title": "T", "level": level, "groups": ["g"],
                "beneficiaries": {"total": 10, "women": 3, "men": 7, "first_time": 10}}),
            ));
        }
        let r = gaps(&w, "2021-05-01");
        let ids: Vec<&str> = r
            .of_kind(FindingKind::Participation)
            .map(|f| f.id.as_str())
            .collect();
        assert!(ids.contains(&"participation/levels"), "{ids:?}");
        assert!(ids.contains(&"participation/women_share"), "{ids:?}");
        assert!(ids.contains(&"participation/returning"), "{ids:?}");
        // The texts come from the catalogue, names and numbers filled in,
        // the levels with their labels in each language.
        let levels = r
            .of_kind(FindingKind::Participation)
            .find(|f| f.id == "participation/levels")
            .expect("found above");
        assert_eq!(
            levels.explanation.en,
            "The last 3 sessions with beneficiaries stayed at inform or consult: beneficiaries are heard but do not shape decisions."
        );
        assert_eq!(
            levels.explanation.fr,
            "Les 3 dernières séances avec des personnes concernées sont restées au niveau «\u{202f}informer\u{202f}» ou «\u{202f}consulter\u{202f}»\u{202f}: les personnes sont entendues mais ne pèsent pas sur les décisions."
        );
        assert!(levels.suggestion.fr.contains("(impliquer ou collaborer)"));
        let women = r
            .of_kind(FindingKind::Participation)
            .find(|f| f.id == "participation/women_share")
            .expect("found above");
        assert!(
            women
                .explanation
                .fr
                .starts_with("Les femmes représentaient 30\u{202f}% des personnes concernées"),
            "{}",
            women.explanation.fr
        );
        assert!(
            women
                .explanation
                .en
                .starts_with("Women were 30% of beneficiaries"),
            "{}",
            women.explanation.en
        );
        // One session at "involve" unsticks the levels.
        w.push(ev(
            "CoCreationSessionHeld",
            "2021-04-15",
            json!({
            "session": "s9", "title": "T", "level": "involve", "groups": ["g"],
            "beneficiaries": {"total": 10, "women": 8, "men": 2, "first_time": 2, "returning": 8}}),
        ));
        let r = gaps(&w, "2021-05-01");
        assert!(!r
            .of_kind(FindingKind::Participation)
            .any(|f| f.id == "participation/levels"));
    }

    #[test]
    fn an_isolated_beneficiary_group_is_high_and_a_missing_sector_is_reported() {
        let w = programme(&[("a", "association"), ("g", "beneficiary_group")]);
        let r = gaps(&w, "2021-01-02");
        let iso = r
            .findings
            .iter()
            .find(|f| f.id == "isolated_stakeholder/g")
            .expect("isolated");
        assert_eq!(iso.severity, Severity::High);
        assert!(r
            .findings
            .iter()
            .any(|f| f.id == "missing_sector/city_service"));
        assert!(!r
            .findings
            .iter()
            .any(|f| f.id == "missing_sector/association"));
    }

    /// Among findings of one severity, the one touching more stakeholders
    /// comes first, whatever its kind: a hub whose three ties went dormant
    /// (four stakeholders) before a stakeholder with no tie (one), though an
    /// isolated stakeholder is acted on first when both reach as far.
    #[test]
    fn the_wider_finding_comes_first_within_a_severity() {
        let mut w = programme(&[
            ("hub", "association"),
            ("x", "city_service"),
            ("y", "health"),
            ("z", "education"),
            ("alone", "legal_aid"),
        ]);
        for (id, other) in [("p1", "x"), ("p2", "y"), ("p3", "z")] {
            w.push(partnership(id, "hub", other));
        }
        let r = gaps(&w, "2022-06-01");
        let position = |prefix: &str| {
            r.findings
                .iter()
                .position(|f| f.id.starts_with(prefix))
                .unwrap_or_else(|| {
                    let ids: Vec<&str> = r.findings.iter().map(|f| f.id.as_str()).collect();
                    panic!("no {prefix} in {ids:?}")
                })
        };
        let (hub, alone) = (
            position("dormant_tie/hub"),
            position("isolated_stakeholder/alone"),
        );
        let (hub, alone) = (&r.findings[hub], &r.findings[alone]);
        assert_eq!(hub.severity, alone.severity, "{hub:?} {alone:?}");
        assert_eq!((hub.reach, alone.reach), (4, 1));
        assert!(FindingKind::IsolatedStakeholder.rank() < FindingKind::DormantTie.rank());
        assert!(
            position("dormant_tie/hub") < position("isolated_stakeholder/alone"),
            "the hub's dormant ties first"
        );
        in_order(&r.findings);
    }

    /// Each finding after the one before it by [`order_key`], ids unique.
    fn in_order(findings: &[Finding]) {
        for w in findings.windows(2) {
            assert!(
                order_key(&w[0]) < order_key(&w[1]),
                "{} ({:?}, reach {}) before {} ({:?}, reach {})",
                w[0].id,
                w[0].severity,
                w[0].reach,
                w[1].id,
                w[1].severity,
                w[1].reach
            );
        }
    }

    /// A need's beneficiary groups are among the stakeholders it reaches.
    #[test]
    fn an_uncovered_need_reaches_its_beneficiary_groups() {
        let mut w = programme(&[
            ("a", "association"),
            ("g1", "beneficiary_group"),
            ("g2", "beneficiary_group"),
        ]);
        w.push(ev(
            "NeedDeclared",
            "2021-01-03",
            json!({"need": "n1", "action": "act", "theme": "housing", "groups": ["g1", "g2"]}),
        ));
        let r = gaps(&w, "2022-06-01");
        let need = r
            .findings
            .iter()
            .find(|f| {
                f.id == "uncovered_need/n1" || f.merged.iter().any(|m| m == "uncovered_need/n1")
            })
            .expect("the uncovered need");
        assert!(need.reach >= 2, "reach {} of {need:?}", need.reach);
        in_order(&r.findings);
    }

    #[test]
    fn findings_are_ordered_by_severity_and_have_unique_ids() {
        let mut w = programme(&[
            ("a", "association"),
            ("b", "city_service"),
            ("g", "beneficiary_group"),
        ]);
        w.push(partnership("p1", "a", "b"));
        let r = gaps(&w, "2022-06-01");
        let sev: Vec<Severity> = r.findings.iter().map(|f| f.severity).collect();
        let mut sorted = sev.clone();
        sorted.sort();
        assert_eq!(sev, sorted);
        let ids: BTreeSet<&str> = r.findings.iter().map(|f| f.id.as_str()).collect();
        assert_eq!(ids.len(), r.findings.len());
        assert!(r.findings.iter().any(|f| f.id == "dormant_tie/p1"));
        in_order(&r.findings);
    }
}
