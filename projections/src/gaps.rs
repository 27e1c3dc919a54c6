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
use passerelle_events::event::{Level, Outcome, Priority, StakeholderKind};
use uuid::Uuid;

pub use crate::messages::Bilingual;
use crate::messages::{self, bilingual, label, Arg};
use crate::model::{Audience, Contact, NeedStatus, Programme, Session, Stakeholder};
use crate::network::{Analysis, Network, Tie};

/// Thresholds of the gap report.
#[derive(Debug, Clone, PartialEq)]
pub struct GapConfig {
    /// A partnership whose tie strength is below this is dormant (0.25: a
    /// referral partnership untouched for about 7 months).
    pub dormant_strength: f64,
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
    /// At most this many suggested introductions (10).
    pub max_introductions: usize,
}

impl Default for GapConfig {
    fn default() -> Self {
        Self {
            dormant_strength: 0.25,
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
            max_introductions: 10,
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
}

impl FindingKind {
    /// Every kind.
    pub const ALL: [FindingKind; 10] = [
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
    ];

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
    /// Findings by severity, then kind, then id.
    pub findings: Vec<Finding>,
    /// The share findings ([`is_share`]) computed over public sessions
    /// only: what mentors and viewers get instead of those in `findings`.
    pub public_shares: Vec<Finding>,
}

/// Subjects of the findings that measure a share of beneficiaries.
const SHARES: [&str; 2] = ["women_share", "returning"];

/// Whether a finding measures a share of beneficiaries (women's share,
/// returning share), which depends on which sessions are summed.
pub fn is_share(f: &Finding) -> bool {
    f.kind == FindingKind::Participation
        && matches!(f.subjects.as_slice(), [s] if SHARES.contains(&s.as_str()))
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

/// A theme id as words in a sentence: `social_support` → `social support`.
fn theme_words(theme: &str) -> String {
    theme.replace('_', " ")
}

/// The day of `t` as `YYYY-MM-DD`.
fn day(t: DateTime<Utc>) -> String {
    t.date_naive().to_string()
}

/// `a, b and c`, in both languages.
fn and(names: &[String]) -> Arg {
    messages::list(names, "list.and").into()
}

/// `a, b or c`, in both languages.
fn or(names: &[String]) -> Arg {
    messages::list(names, "list.or").into()
}

struct Ctx<'a> {
    p: &'a Programme,
    net: &'a Network,
    /// The metrics; `None` while computing [`NetworkFindings`].
    an: Option<&'a Analysis>,
    cfg: &'a GapConfig,
    out: Vec<Finding>,
    /// The name of each node.
    node_names: Vec<&'a str>,
}

impl<'a> Ctx<'a> {
    fn new(
        p: &'a Programme,
        net: &'a Network,
        an: Option<&'a Analysis>,
        cfg: &'a GapConfig,
        out: Vec<Finding>,
    ) -> Self {
        let node_names = net
            .nodes
            .iter()
            .map(|id| {
                p.stakeholders
                    .get(id)
                    .map_or(id.as_str(), |s| s.name.as_str())
            })
            .collect();
        Self {
            p,
            net,
            an,
            cfg,
            out,
            node_names,
        }
    }

    /// The name of one end of tie `t`, given the end's id.
    fn end_name(&self, t: &Tie, id: &str) -> &'a str {
        if self.net.nodes[t.a] == id {
            self.node_names[t.a]
        } else {
            self.node_names[t.b]
        }
    }

    fn an(&self) -> &'a Analysis {
        self.an
            .expect("only the kinds of `complete` read the metrics")
    }

    fn name(&self, id: &str) -> String {
        self.p
            .stakeholders
            .get(id)
            .map_or_else(|| id.to_owned(), |s| s.name.clone())
    }

    fn names(&self, ids: &[String]) -> Vec<String> {
        ids.iter().map(|i| self.name(i)).collect()
    }

    fn kind(&self, i: usize) -> StakeholderKind {
        self.net.kinds[i]
    }

    #[allow(clippy::too_many_arguments)]
    fn push(
        &mut self,
        kind: FindingKind,
        severity: Severity,
        subjects: Vec<String>,
        explanation: Bilingual,
        evidence: impl IntoIterator<Item = Uuid>,
        suggestion: Bilingual,
    ) {
        let mut evidence: Vec<Uuid> = evidence.into_iter().collect();
        evidence.sort();
        evidence.dedup();
        self.out.push(Finding {
            id: format!("{}/{}", kind.as_str(), subjects.join("+")),
            kind,
            severity,
            subjects,
            explanation,
            evidence,
            suggestion,
        });
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
/// and the kinds that need the metrics, sorted by severity, kind and id.
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
    let findings = sorted(cx.out);
    GapReport {
        programme: p.id.clone(),
        as_of: net.as_of,
        position: net.position,
        findings,
        public_shares: first.public_shares,
    }
}

/// Findings by severity, kind and id, the first of each id only. The keys
/// are sorted (stably) rather than the findings, which then move once.
fn sorted(findings: Vec<Finding>) -> Vec<Finding> {
    let mut keys: Vec<(Severity, FindingKind, &str, usize)> = findings
        .iter()
        .enumerate()
        .map(|(i, f)| (f.severity, f.kind, f.id.as_str(), i))
        .collect();
    keys.sort_unstable();
    keys.dedup_by(|a, b| a.2 == b.2);
    let order: Vec<usize> = keys.into_iter().map(|k| k.3).collect();
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

/// Per node, whether it is party to an active partnership with a present tie.
fn active_partners(net: &Network) -> Vec<bool> {
    let mut partner = vec![false; net.nodes.len()];
    for t in net.present_ties() {
        if t.partnership.as_ref().is_some_and(|x| x.ended_at.is_none()) {
            partner[t.a] = true;
            partner[t.b] = true;
        }
    }
    partner
}

/// A contact with the node index of each end (`None` for a stakeholder
/// outside the network).
type LooseContact<'a> = (&'a Contact, [Option<usize>; 2]);

fn uncovered_needs(cx: &mut Ctx) {
    let partners = active_partners(cx.net);
    let needs: Vec<_> =
        cx.p.needs
            .values()
            .filter(|n| n.status == NeedStatus::Open)
            .collect();
    // Active stakeholders come in id order: the node order.
    let active: Vec<&Stakeholder> = cx.p.active_stakeholders().collect();
    // The contacts that are not part of a tie (with an archived stakeholder,
    // say), with the node index of each end; found once if some need is
    // uncovered.
    let mut loose: Option<Vec<LooseContact>> = None;
    for n in needs {
        let covered = (0..active.len()).any(|i| partners[i] && active[i].themes.contains(&n.theme));
        if covered {
            continue;
        }
        let candidate: Vec<bool> = active.iter().map(|s| s.themes.contains(&n.theme)).collect();
        let candidates: Vec<&str> = (0..active.len())
            .filter(|&i| candidate[i])
            .map(|i| active[i].id.as_str())
            .collect();
        let (p, net) = (cx.p, cx.net);
        let loose = loose.get_or_insert_with(|| {
            let mut tied = vec![false; p.contacts.len()];
            for k in 0..net.ties.len() {
                for n in net.contacts_of(k) {
                    tied[n] = true;
                }
            }
            p.contacts
                .iter()
                .zip(tied)
                .filter(|(_, tied)| !tied)
                .map(|(c, _)| (c, [net.index_of(&c.from), net.index_of(&c.to)]))
                .collect()
        });
        let mut tried: Vec<&Contact> = Vec::new();
        for (k, t) in net.ties.iter().enumerate() {
            if candidate[t.a] || candidate[t.b] {
                tried.extend(net.contacts_of(k).map(|n| &p.contacts[n]));
            }
        }
        tried.extend(
            loose
                .iter()
                .filter(|(_, ends)| ends.iter().flatten().any(|&i| candidate[i]))
                .map(|(c, _)| *c),
        );
        let severity = match n.priority {
            Some(Priority::High) => Severity::High,
            Some(Priority::Low) => Severity::Low,
            _ => Severity::Medium,
        };
        let theme = theme_words(&n.theme);
        let what = n
            .description
            .as_deref()
            .unwrap_or(&theme)
            .trim_end_matches('.')
            .to_owned();
        let cand_names = cx.names(&candidates.iter().map(|s| s.to_string()).collect::<Vec<_>>());
        let mut explanation = bilingual(
            "finding.uncovered_need.explanation",
            &[
                ("action", n.action.as_str().into()),
                ("what", what.into()),
                ("theme", (&theme).into()),
            ],
        );
        if !tried.is_empty() {
            let best = tried
                .iter()
                .map(|c| c.outcome)
                .max()
                .unwrap_or(Outcome::NoResponse);
            let more = bilingual(
                "finding.uncovered_need.tried",
                &[
                    ("n", tried.len().to_string().into()),
                    ("names", and(&cand_names)),
                    ("outcome", label("outcome", best).into()),
                ],
            );
            explanation = then(explanation, more);
        }
        let suggestion = if cand_names.is_empty() {
            bilingual(
                "finding.uncovered_need.nobody.suggestion",
                &[("theme", (&theme).into())],
            )
        } else {
            bilingual(
                "finding.uncovered_need.suggestion",
                &[("names", or(&cand_names)), ("theme", (&theme).into())],
            )
        };
        let evidence: Vec<Uuid> = n
            .events
            .iter()
            .copied()
            .chain(tried.iter().map(|c| c.event))
            .collect();
        cx.push(
            FindingKind::UncoveredNeed,
            severity,
            vec![n.id.clone()],
            explanation,
            evidence,
            suggestion,
        );
    }
}

/// Two sentences, one after the other.
fn then(a: Bilingual, b: Bilingual) -> Bilingual {
    Bilingual {
        en: format!("{} {}", a.en, b.en),
        fr: format!("{} {}", a.fr, b.fr),
    }
}

fn missing_sectors(cx: &mut Ctx) {
    for kind in REFERENCE_SECTORS {
        let members: Vec<usize> = (0..cx.net.nodes.len())
            .filter(|&i| cx.kind(i) == kind)
            .collect();
        let k = kind_name(kind);
        let sector = [("sector", Arg::from(kind_label(kind)))];
        if members.is_empty() {
            let severity = if is_group(kind) {
                Severity::High
            } else {
                Severity::Medium
            };
            cx.push(
                FindingKind::MissingSector,
                severity,
                vec![k.clone()],
                bilingual("finding.missing_sector.explanation", &sector),
                Vec::new(),
                bilingual("finding.missing_sector.suggestion", &sector),
            );
            continue;
        }
        let tied = members
            .iter()
            .any(|&i| !cx.net.topology.neighbours(i).is_empty());
        if !tied {
            let ids: Vec<String> = members.iter().map(|&i| cx.net.nodes[i].clone()).collect();
            let names = cx.names(&ids);
            let evidence: Vec<Uuid> = ids
                .iter()
                .filter_map(|id| cx.p.stakeholders.get(id))
                .flat_map(|s| s.events.iter().copied())
                .collect();
            let mut subjects = vec![k.clone()];
            subjects.extend(ids);
            cx.push(
                FindingKind::MissingSector,
                if is_group(kind) {
                    Severity::High
                } else {
                    Severity::Low
                },
                subjects,
                bilingual(
                    "finding.missing_sector.untied.explanation",
                    &[sector[0].clone(), ("names", and(&names))],
                ),
                evidence,
                bilingual(
                    "finding.missing_sector.untied.suggestion",
                    &[("names", or(&names))],
                ),
            );
        }
    }
}

/// Per node of a DFS forest: discovery order, low-link, subtree counts.
struct Separations {
    /// Articulation points with the node sets (as DFS subtrees) they cut off.
    cuts: Vec<(usize, Vec<usize>)>,
    /// Bridges as (parent, child): removing it cuts off the child's subtree.
    bridges: Vec<(usize, usize)>,
    /// Nodes of each DFS subtree root's subtree, by discovery order range.
    order: Vec<usize>,
    tin: Vec<usize>,
    size: Vec<usize>,
    comp: Vec<usize>,
}

impl Separations {
    fn subtree(&self, v: usize) -> &[usize] {
        &self.order[self.tin[v]..self.tin[v] + self.size[v]]
    }
}

/// Tarjan's articulation points and bridges, iteratively, keeping for each
/// cut the child subtrees it separates (so "what does it cut off" is known
/// in linear time).
fn separations(net: &Network) -> Separations {
    let t = &net.topology;
    let n = t.node_count();
    let unseen = usize::MAX;
    let mut tin = vec![unseen; n];
    let mut low = vec![0; n];
    let mut size = vec![1; n];
    let mut comp = vec![0; n];
    let mut order = Vec::with_capacity(n);
    let mut cut_children: HashMap<usize, Vec<usize>> = HashMap::new();
    let mut bridges = Vec::new();
    let mut root_children = vec![0usize; n];
    for root in 0..n {
        if tin[root] != unseen {
            continue;
        }
        let c = root;
        let mut stack: Vec<(usize, usize, usize)> = vec![(root, usize::MAX, 0)];
        tin[root] = order.len();
        low[root] = tin[root];
        comp[root] = c;
        order.push(root);
        while let Some(&mut (v, parent, ref mut next)) = stack.last_mut() {
            let nb = t.neighbours(v);
            if *next < nb.len() {
                let w = nb[*next];
                *next += 1;
                if w == parent {
                    continue;
                }
                if tin[w] == unseen {
                    tin[w] = order.len();
                    low[w] = tin[w];
                    comp[w] = c;
                    order.push(w);
                    stack.push((w, v, 0));
                } else {
                    low[v] = low[v].min(tin[w]);
                }
            } else {
                stack.pop();
                if let Some(&(u, _, _)) = stack.last() {
                    low[u] = low[u].min(low[v]);
                    size[u] += size[v];
                    if low[v] > tin[u] {
                        bridges.push((u, v));
                    }
                    if u == root {
                        root_children[root] += 1;
                    }
                    if low[v] >= tin[u] {
                        cut_children.entry(u).or_default().push(v);
                    }
                }
            }
        }
    }
    let mut cuts: Vec<(usize, Vec<usize>)> = cut_children
        .into_iter()
        .filter(|(v, children)| {
            // A root is a cut only with two or more DFS children.
            comp[*v] != *v || children.len() >= 2 || root_children[*v] >= 2
        })
        .map(|(v, children)| {
            if comp[v] == v {
                // For a root, every child subtree is cut off from the others;
                // keep all but the largest as "cut off".
                let mut ch = children;
                ch.sort_by_key(|&c| std::cmp::Reverse(size[c]));
                ch.remove(0);
                (v, ch)
            } else {
                (v, children)
            }
        })
        .collect();
    cuts.sort();
    Separations {
        cuts,
        bridges,
        order,
        tin,
        size,
        comp,
    }
}

fn single_points_of_failure(cx: &mut Ctx) {
    let sep = separations(cx.net);
    let n = cx.net.nodes.len();
    // Services per connected component.
    let mut comp_services: HashMap<usize, usize> = HashMap::new();
    for i in 0..n {
        if is_service(cx.kind(i)) {
            *comp_services.entry(sep.comp[i]).or_default() += 1;
        }
    }
    for (v, children) in &sep.cuts {
        let v = *v;
        let cut_off: Vec<usize> = children
            .iter()
            .flat_map(|&c| sep.subtree(c).iter().copied())
            .collect();
        // Groups left without any service once v is gone: in a cut-off part
        // with no service, or in the rest when every service is cut off.
        let mut stranded: BTreeSet<usize> = BTreeSet::new();
        let comp_total = comp_services.get(&sep.comp[v]).copied().unwrap_or(0)
            - usize::from(is_service(cx.kind(v)));
        let mut cut_services = 0;
        for &c in children {
            let part = sep.subtree(c);
            let services = part.iter().filter(|&&i| is_service(cx.kind(i))).count();
            cut_services += services;
            if services == 0 && comp_total > 0 {
                stranded.extend(part.iter().copied().filter(|&i| is_group(cx.kind(i))));
            }
        }
        if cut_services == comp_total && comp_total > 0 {
            let cut: BTreeSet<usize> = cut_off.iter().copied().collect();
            let rest = sep
                .subtree(sep.comp[v])
                .iter()
                .copied()
                .filter(|i| *i != v && !cut.contains(i));
            stranded.extend(rest.filter(|&i| is_group(cx.kind(i))));
        }
        let vid = cx.net.nodes[v].clone();
        let vname = cx.name(&vid);
        let evidence: Vec<Uuid> = cx
            .net
            .neighbours(&vid)
            .into_iter()
            .flat_map(|(_, t)| t.evidence.iter().copied())
            .collect();
        if !stranded.is_empty() {
            let ids: Vec<String> = stranded.iter().map(|&i| cx.net.nodes[i].clone()).collect();
            let names = cx.names(&ids);
            let service = best_service(cx, &stranded);
            let mut subjects = vec![vid.clone()];
            subjects.extend(ids);
            cx.push(
                FindingKind::SinglePointOfFailure,
                Severity::High,
                subjects,
                bilingual(
                    "finding.single_point_of_failure.stranded.explanation",
                    &[("broker", (&vname).into()), ("names", and(&names))],
                ),
                evidence,
                bilingual(
                    "finding.single_point_of_failure.stranded.suggestion",
                    &[("names", and(&names)), ("service", service)],
                ),
            );
        } else if cut_off.len() >= 2 {
            let severity = if cut_off.len() >= 5 {
                Severity::Medium
            } else {
                Severity::Low
            };
            cx.push(
                FindingKind::SinglePointOfFailure,
                severity,
                vec![vid.clone()],
                bilingual(
                    "finding.single_point_of_failure.explanation",
                    &[
                        ("broker", (&vname).into()),
                        ("n", cut_off.len().to_string().into()),
                    ],
                ),
                evidence,
                bilingual(
                    "finding.single_point_of_failure.suggestion",
                    &[("broker", (&vname).into())],
                ),
            );
        }
    }
    for &(u, v) in &sep.bridges {
        // Leaves hanging on one tie are reported as isolated stakeholders.
        if cx.net.topology.neighbours(u).len() < 2 || cx.net.topology.neighbours(v).len() < 2 {
            continue;
        }
        let (a, b) = (cx.net.nodes[u].clone(), cx.net.nodes[v].clone());
        let tie = cx.net.tie(&a, &b).cloned();
        let (an, bn) = (cx.name(&a), cx.name(&b));
        let side = sep.size[v];
        let mut subjects = vec![a.clone(), b.clone()];
        subjects.sort();
        cx.push(
            FindingKind::SinglePointOfFailure,
            Severity::Medium,
            subjects,
            bilingual(
                "finding.single_point_of_failure.bridge.explanation",
                &[
                    ("a", (&an).into()),
                    ("b", (&bn).into()),
                    ("n", side.to_string().into()),
                ],
            ),
            tie.map(|t| t.evidence).unwrap_or_default(),
            bilingual(
                "finding.single_point_of_failure.bridge.suggestion",
                &[("a", (&an).into()), ("b", (&bn).into())],
            ),
        );
    }
}

/// The service most tied in the network, outside `exclude`.
fn best_service(cx: &Ctx, exclude: &BTreeSet<usize>) -> Arg {
    (0..cx.net.nodes.len())
        .filter(|i| !exclude.contains(i) && is_service(cx.kind(*i)))
        .max_by(|&a, &b| {
            cx.an().weighted_degree[a]
                .partial_cmp(&cx.an().weighted_degree[b])
                .unwrap_or(std::cmp::Ordering::Equal)
                .then(b.cmp(&a))
        })
        .map(|i| Arg::from(cx.name(&cx.net.nodes[i])))
        .unwrap_or_else(|| bilingual("finding.single_point_of_failure.any_service", &[]).into())
}

fn isolated(cx: &mut Ctx) {
    // Contacts of the isolated nodes only, found in one pass.
    let isolated: FxHashSet<&str> = (0..cx.net.nodes.len())
        .filter(|&i| cx.net.topology.neighbours(i).is_empty())
        .map(|i| cx.net.nodes[i].as_str())
        .collect();
    let mut contacts_of: FxHashMap<&str, Vec<Uuid>> = FxHashMap::default();
    if !isolated.is_empty() {
        for c in &cx.p.contacts {
            for end in [c.from.as_str(), c.to.as_str()] {
                if isolated.contains(end) {
                    contacts_of.entry(end).or_default().push(c.event);
                }
            }
        }
    }
    for i in 0..cx.net.nodes.len() {
        let degree = cx.net.topology.neighbours(i).len();
        if degree > 1 {
            continue;
        }
        let id = cx.net.nodes[i].clone();
        let name = cx.node_names[i];
        let reg: Vec<Uuid> =
            cx.p.stakeholders
                .get(&id)
                .map(|s| s.events.clone())
                .unwrap_or_default();
        if degree == 0 {
            let contacts: Vec<Uuid> = contacts_of.remove(id.as_str()).unwrap_or_default();
            let severity = if is_group(cx.kind(i)) {
                Severity::High
            } else {
                Severity::Medium
            };
            cx.push(
                FindingKind::IsolatedStakeholder,
                severity,
                vec![id.clone()],
                bilingual(
                    "finding.isolated_stakeholder.explanation",
                    &[("name", name.into())],
                ),
                reg.into_iter().chain(contacts),
                bilingual(
                    "finding.isolated_stakeholder.suggestion",
                    &[("name", name.into())],
                ),
            );
        } else if degree == 1 {
            let (other, tie) = cx.net.neighbours(&id)[0];
            if tie.strength < cx.cfg.weak_strength {
                let other = cx.name(other);
                let s = tie.strength;
                let ev = tie.evidence.clone();
                cx.push(
                    FindingKind::IsolatedStakeholder,
                    Severity::Low,
                    vec![id.clone()],
                    bilingual(
                        "finding.isolated_stakeholder.weak.explanation",
                        &[
                            ("name", name.into()),
                            ("other", (&other).into()),
                            ("strength", format!("{s:.2}").into()),
                        ],
                    ),
                    reg.into_iter().chain(ev),
                    bilingual(
                        "finding.isolated_stakeholder.weak.suggestion",
                        &[("name", name.into()), ("other", (&other).into())],
                    ),
                );
            }
        }
    }
}

fn stalled_outreach(cx: &mut Ctx) {
    let (p, net) = (cx.p, cx.net);
    let today = net.as_of.date_naive();
    // Ties come sorted by ids, each with its contacts.
    for (k, t) in net.ties.iter().enumerate() {
        if t.contacts.count == 0 {
            continue;
        }
        let contacts = || net.contacts_of(k).map(|n| &p.contacts[n]);
        let stalled =
            t.contacts.positive == 0 && !t.present && t.contacts.count >= cx.cfg.stalled_contacts;
        let Some(last) = contacts().max_by_key(|c| (c.occurred_at, c.event)) else {
            continue;
        };
        let overdue = last
            .follow_up_due
            .filter(|due| *due < today)
            .map(|due| (due, (today - due).num_days()));
        if !stalled && overdue.is_none() {
            continue;
        }
        let count = t.contacts.count;
        let (from, to) = (cx.end_name(t, &last.from), cx.end_name(t, &last.to));
        let first = contacts()
            .map(|c| c.occurred_at)
            .min()
            .unwrap_or(last.occurred_at);
        let ends = [("from", Arg::from(from)), ("to", Arg::from(to))];
        let stalled_text = stalled.then(|| {
            bilingual(
                "finding.stalled_outreach.explanation",
                &[
                    ends[0].clone(),
                    ends[1].clone(),
                    ("n", count.to_string().into()),
                    ("since", first.date_naive().to_string().into()),
                    ("outcome", label("outcome", last.outcome).into()),
                ],
            )
        });
        let overdue_text = overdue.map(|(due, days)| {
            bilingual(
                "finding.stalled_outreach.overdue.explanation",
                &[
                    ends[0].clone(),
                    ends[1].clone(),
                    ("due", due.to_string().into()),
                    ("days", days.to_string().into()),
                ],
            )
        });
        let explanation = match (stalled_text, overdue_text) {
            (Some(a), Some(b)) => then(a, b),
            (Some(a), None) | (None, Some(a)) => a,
            (None, None) => unreachable!("stalled or overdue"),
        };
        let severity = match (stalled, overdue.is_some()) {
            (true, true) => Severity::High,
            (true, false) => Severity::Medium,
            (false, _) if last.outcome.is_positive() => Severity::Medium,
            _ => Severity::Low,
        };
        let suggestion = if stalled {
            bilingual("finding.stalled_outreach.suggestion", &ends)
        } else {
            bilingual("finding.stalled_outreach.overdue.suggestion", &ends)
        };
        let subjects = vec![net.nodes[t.a].clone(), net.nodes[t.b].clone()];
        cx.push(
            FindingKind::StalledOutreach,
            severity,
            subjects,
            explanation,
            contacts().map(|c| c.event),
            suggestion,
        );
    }
}

fn dormant_ties(cx: &mut Ctx) {
    let (net, threshold) = (cx.net, cx.cfg.dormant_strength);
    let dormant = net.present_ties().filter(|t| {
        t.partnership.as_ref().is_some_and(|x| x.ended_at.is_none()) && t.strength < threshold
    });
    for t in dormant {
        let x = t.partnership.as_ref().expect("filtered on partnership");
        let (a, b) = (cx.node_names[t.a], cx.node_names[t.b]);
        let days = (cx.net.as_of - t.last_interaction).num_days();
        let last = day(t.last_interaction);
        let s = t.strength;
        cx.push(
            FindingKind::DormantTie,
            Severity::Medium,
            vec![x.id.clone()],
            bilingual(
                "finding.dormant_tie.explanation",
                &[
                    ("a", a.into()),
                    ("b", b.into()),
                    ("last", last.into()),
                    ("days", days.to_string().into()),
                    ("strength", format!("{s:.2}").into()),
                ],
            ),
            t.evidence.iter().copied(),
            bilingual(
                "finding.dormant_tie.suggestion",
                &[("a", a.into()), ("b", b.into())],
            ),
        );
    }
}

fn brokers(cx: &mut Ctx) {
    for i in 0..cx.net.nodes.len() {
        let m = &cx.an().nodes[i];
        let constrained = m.constraint.is_none_or(|c| c > cx.cfg.broker_constraint);
        if m.betweenness < cx.cfg.broker_betweenness || constrained {
            continue;
        }
        let id = cx.net.nodes[i].clone();
        let name = cx.name(&id);
        let share = m.betweenness * 100.0;
        let severity = if m.betweenness >= 0.5 {
            Severity::High
        } else {
            Severity::Medium
        };
        // Two partners of the broker in different communities, if any.
        let nb = cx.net.topology.neighbours(i);
        let pair = nb.iter().enumerate().find_map(|(k, &x)| {
            nb[k + 1..]
                .iter()
                .find(|&&y| cx.an().nodes[x].community != cx.an().nodes[y].community)
                .map(|&y| (x, y))
        });
        let suggestion = match pair {
            Some((x, y)) => bilingual(
                "finding.broker_dependency.pair.suggestion",
                &[
                    ("name", (&name).into()),
                    ("a", cx.name(&cx.net.nodes[x]).into()),
                    ("b", cx.name(&cx.net.nodes[y]).into()),
                ],
            ),
            None => bilingual(
                "finding.broker_dependency.suggestion",
                &[("name", (&name).into())],
            ),
        };
        let evidence: Vec<Uuid> = cx
            .net
            .neighbours(&id)
            .into_iter()
            .flat_map(|(_, t)| t.evidence.iter().copied())
            .collect();
        cx.push(
            FindingKind::BrokerDependency,
            severity,
            vec![id.clone()],
            bilingual(
                "finding.broker_dependency.explanation",
                &[
                    ("name", (&name).into()),
                    ("share", format!("{share:.0}").into()),
                ],
            ),
            evidence,
            suggestion,
        );
    }
}

fn silos(cx: &mut Ctx) {
    for (&kind, &ei) in &cx.an().ei_per_kind {
        let members: Vec<usize> = (0..cx.net.nodes.len())
            .filter(|&i| cx.kind(i) == kind)
            .collect();
        if members.len() < 2 || ei > cx.cfg.silo_ei {
            continue;
        }
        let k = kind_name(kind);
        let evidence: Vec<Uuid> = cx
            .net
            .present_ties()
            .filter(|t| cx.kind(t.a) == kind && cx.kind(t.b) == kind)
            .flat_map(|t| t.evidence.iter().copied())
            .collect();
        cx.push(
            FindingKind::SiloedSector,
            Severity::Medium,
            vec![k.clone()],
            bilingual(
                "finding.siloed_sector.explanation",
                &[
                    ("sector", kind_label(kind).into()),
                    ("ei", format!("{ei:.2}").into()),
                ],
            ),
            evidence,
            bilingual(
                "finding.siloed_sector.suggestion",
                &[("sector", kind_label(kind).into())],
            ),
        );
    }
    // Components cut off from the main one: groups with no tie across (E-I = −1).
    let comps = &cx.an().network.component_of;
    let mut members: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    for (i, &c) in comps.iter().enumerate() {
        members.entry(c).or_default().push(i);
    }
    let Some(main) = members
        .iter()
        .max_by_key(|(c, m)| (m.len(), std::cmp::Reverse(**c)))
        .map(|(c, _)| *c)
    else {
        return;
    };
    for (c, m) in &members {
        if *c == main || m.len() < 2 {
            continue;
        }
        let ids: Vec<String> = m.iter().map(|&i| cx.net.nodes[i].clone()).collect();
        let names = cx.names(&ids);
        let evidence: Vec<Uuid> = cx
            .net
            .present_ties()
            .filter(|t| m.contains(&t.a))
            .flat_map(|t| t.evidence.iter().copied())
            .collect();
        let first = names[0].clone();
        cx.push(
            FindingKind::SiloedSector,
            Severity::Medium,
            ids.clone(),
            bilingual(
                "finding.siloed_sector.component.explanation",
                &[("names", and(&names))],
            ),
            evidence,
            bilingual(
                "finding.siloed_sector.component.suggestion",
                &[("first", first.into())],
            ),
        );
    }
}

/// Calls `common` with each item of both ascending, duplicate-free lists:
/// binary search of the shorter list's items in the longer one when that is
/// cheaper, a linear merge otherwise.
fn sorted_intersection<T: Ord + Copy>(x: &[T], y: &[T], mut common: impl FnMut(T)) {
    let (short, long) = if x.len() <= y.len() { (x, y) } else { (y, x) };
    let log_long = usize::BITS - long.len().leading_zeros();
    if short.len() * (log_long as usize) < short.len() + long.len() {
        let mut rest = long;
        for &w in short {
            match rest.binary_search(&w) {
                Ok(i) => {
                    common(w);
                    rest = &rest[i + 1..];
                }
                Err(i) => rest = &rest[i..],
            }
        }
    } else {
        let (mut i, mut j) = (0, 0);
        while i < short.len() && j < long.len() {
            match short[i].cmp(&long[j]) {
                std::cmp::Ordering::Less => i += 1,
                std::cmp::Ordering::Greater => j += 1,
                std::cmp::Ordering::Equal => {
                    common(short[i]);
                    i += 1;
                    j += 1;
                }
            }
        }
    }
}

/// A pair that could be introduced: `(u, v)` with `u < v`, the score before
/// the community factor, and the common partner.
type Candidate = ((usize, usize), (f64, usize));

/// The pairs a suggested introduction could be made for, from the network
/// alone: every untied pair sharing a theme and a common partner to whom
/// both are strongly tied, with the best partner for each. The community
/// factor of the score is the same for every partner of a pair, so the best
/// partner does not depend on it.
fn introduction_candidates(cx: &Ctx) -> Vec<Candidate> {
    /// Neighbours considered per common partner (the strongest ones).
    const PER_PARTNER: usize = 50;
    let min = cx.cfg.introduction_strength;
    let net = cx.net;
    // Each node's themes as sorted theme numbers, to count shared themes
    // without comparing strings.
    let mut theme_no: FxHashMap<&str, u32> = FxHashMap::default();
    let themes: Vec<Vec<u32>> = net
        .nodes
        .iter()
        .map(|id| {
            let mut v: Vec<u32> = cx.p.stakeholders.get(id).map_or_else(Vec::new, |s| {
                s.themes
                    .iter()
                    .map(|t| {
                        let next = theme_no.len() as u32;
                        *theme_no.entry(t.as_str()).or_insert(next)
                    })
                    .collect()
            });
            v.sort_unstable();
            v.dedup();
            v
        })
        .collect();
    let shared_count = |u: usize, v: usize| {
        let mut n = 0;
        sorted_intersection(&themes[u], &themes[v], |_| n += 1);
        n
    };
    // (u, v) → (score, common partner); the first partner with the best score wins.
    let mut best: FxHashMap<(usize, usize), (f64, usize)> = FxHashMap::default();
    let mut strong: Vec<(usize, f64)> = Vec::new();
    for w in 0..net.nodes.len() {
        strong.clear();
        strong.extend(net.incident(w).iter().filter_map(|&k| {
            let t = &net.ties[k];
            (t.strength >= min).then_some((if t.a == w { t.b } else { t.a }, t.strength))
        }));
        strong.sort_by(|a, b| {
            b.1.partial_cmp(&a.1)
                .unwrap_or(std::cmp::Ordering::Equal)
                .then(a.0.cmp(&b.0))
        });
        strong.truncate(PER_PARTNER);
        for (k, &(u, su)) in strong.iter().enumerate() {
            for &(v, sv) in &strong[k + 1..] {
                let (u, v, su, sv) = if u < v {
                    (u, v, su, sv)
                } else {
                    (v, u, sv, su)
                };
                if net.topology.neighbours(u).binary_search(&v).is_ok() {
                    continue;
                }
                let shared = shared_count(u, v);
                if shared == 0 {
                    continue;
                }
                let score = shared as f64 * su.min(sv);
                let e = best.entry((u, v)).or_insert((f64::MIN, w));
                if score > e.0 || (score == e.0 && w < e.1) {
                    *e = (score, w);
                }
            }
        }
    }
    let mut candidates: Vec<Candidate> = best.into_iter().collect();
    // In pair order, so that the result does not depend on hashing.
    candidates.sort_unstable_by_key(|(pair, _)| *pair);
    candidates
}

fn introductions(cx: &mut Ctx, candidates: Vec<Candidate>) {
    let net = cx.net;
    let mut ranked: Vec<Candidate> = candidates
        .into_iter()
        .map(|((u, v), (score, w))| {
            let hole = cx.an().nodes[u].community != cx.an().nodes[v].community;
            ((u, v), (score * if hole { 1.5 } else { 1.0 }, w))
        })
        .collect();
    // Best score first, then by pair: a total order, so the top few can be
    // selected before sorting them.
    let order = |a: &Candidate, b: &Candidate| {
        b.1 .0
            .partial_cmp(&a.1 .0)
            .unwrap_or(std::cmp::Ordering::Equal)
            .then(a.0.cmp(&b.0))
    };
    let keep = cx.cfg.max_introductions;
    if ranked.len() > keep {
        ranked.select_nth_unstable_by(keep, order);
        ranked.truncate(keep);
    }
    ranked.sort_by(order);
    for ((u, v), (_, w)) in ranked {
        let (us, vs) = (
            &cx.p.stakeholders[&net.nodes[u]],
            &cx.p.stakeholders[&net.nodes[v]],
        );
        let shared: Vec<String> = us
            .themes
            .iter()
            .filter(|t| vs.themes.contains(t))
            .cloned()
            .collect();
        let (uid, vid) = (net.nodes[u].clone(), net.nodes[v].clone());
        let (un, vn, wn) = (cx.node_names[u], cx.node_names[v], cx.node_names[w]);
        let shared: Vec<String> = shared.iter().map(|t| theme_words(t)).collect();
        let people = [
            ("a", Arg::from(un)),
            ("b", Arg::from(vn)),
            ("broker", Arg::from(wn)),
        ];
        let evidence: Vec<Uuid> = [net.tie_between(u, w), net.tie_between(v, w)]
            .into_iter()
            .flatten()
            .flat_map(|t| t.evidence.iter().copied())
            .collect();
        cx.push(
            FindingKind::SuggestedIntroduction,
            Severity::Low,
            vec![uid, vid],
            bilingual(
                "finding.suggested_introduction.explanation",
                &[
                    people[0].clone(),
                    people[1].clone(),
                    people[2].clone(),
                    ("themes", and(&shared)),
                ],
            ),
            evidence,
            bilingual("finding.suggested_introduction.suggestion", &people),
        );
    }
}

fn participation(cx: &mut Ctx) {
    let mut sessions: Vec<_> = cx.p.sessions.values().collect();
    sessions.sort_by(|a, b| (a.occurred_at, &a.id).cmp(&(b.occurred_at, &b.id)));
    for s in &sessions {
        if s.beneficiaries.total == 0 {
            let title = s.title.clone();
            let date = day(s.occurred_at);
            cx.push(
                FindingKind::Participation,
                Severity::Medium,
                vec![s.id.clone()],
                bilingual(
                    "finding.participation.empty_session.explanation",
                    &[("title", title.into()), ("date", date.into())],
                ),
                [s.event()],
                bilingual("finding.participation.empty_session.suggestion", &[]),
            );
        }
    }
    // Themes of the action plan never co-created with beneficiaries.
    let co_created: BTreeSet<&str> = sessions
        .iter()
        .filter(|s| s.beneficiaries.total > 0)
        .flat_map(|s| s.themes.iter().map(String::as_str))
        .collect();
    let plan: BTreeMap<&str, Vec<Uuid>> =
        cx.p.needs
            .values()
            .filter(|n| n.status != NeedStatus::Withdrawn)
            .fold(BTreeMap::new(), |mut m, n| {
                m.entry(n.theme.as_str())
                    .or_insert_with(Vec::new)
                    .extend(&n.events);
                m
            });
    for (theme, evidence) in plan {
        if co_created.contains(theme) {
            continue;
        }
        let words = theme_words(theme);
        cx.push(
            FindingKind::Participation,
            Severity::Low,
            vec![format!("theme:{theme}")],
            bilingual(
                "finding.participation.theme.explanation",
                &[("theme", (&words).into())],
            ),
            evidence,
            bilingual(
                "finding.participation.theme.suggestion",
                &[("theme", (&words).into())],
            ),
        );
    }
    let with_people: Vec<_> = sessions
        .iter()
        .filter(|s| s.beneficiaries.total > 0)
        .collect();
    let k = cx.cfg.stuck_sessions;
    if with_people.len() >= k {
        let last = &with_people[with_people.len() - k..];
        if last.iter().all(|s| s.level <= Level::Consult) {
            cx.push(
                FindingKind::Participation,
                Severity::Medium,
                vec!["levels".to_owned()],
                bilingual(
                    "finding.participation.levels.explanation",
                    &[
                        ("n", k.to_string().into()),
                        ("inform", label("level", Level::Inform).into()),
                        ("consult", label("level", Level::Consult).into()),
                    ],
                ),
                last.iter().map(|s| s.event()),
                bilingual(
                    "finding.participation.levels.suggestion",
                    &[
                        ("involve", label("level", Level::Involve).into()),
                        ("collaborate", label("level", Level::Collaborate).into()),
                    ],
                ),
            );
        }
    }
}

/// The findings on shares of beneficiaries over the window before the as-of
/// time (women's share, returning share), summed over the sessions
/// `audience` sees the counts of: every session, or the public ones.
fn shares(cx: &mut Ctx, audience: Audience) {
    let as_of = cx.net.as_of;
    let window_start = as_of - chrono::Duration::days(cx.cfg.participation_window_days);
    let recent: Vec<&Session> =
        cx.p.sessions
            .values()
            .filter(|s| s.beneficiaries.total > 0)
            .filter(|s| audience == Audience::Full || s.is_public())
            .filter(|s| s.occurred_at > window_start && s.occurred_at <= as_of)
            .collect();
    let total: u64 = recent
        .iter()
        .map(|s| u64::from(s.beneficiaries.total))
        .sum();
    if total > 0 {
        let women: u64 = recent
            .iter()
            .map(|s| u64::from(s.beneficiaries.women))
            .sum();
        let share = women as f64 / total as f64;
        if share < cx.cfg.target_women_share {
            let (pct, target) = (share * 100.0, cx.cfg.target_women_share * 100.0);
            cx.push(
                FindingKind::Participation,
                Severity::Medium,
                vec!["women_share".to_owned()],
                bilingual(
                    "finding.participation.women_share.explanation",
                    &[
                        ("pct", format!("{pct:.0}").into()),
                        ("target", format!("{target:.0}").into()),
                    ],
                ),
                recent.iter().map(|s| s.event()),
                bilingual("finding.participation.women_share.suggestion", &[]),
            );
        }
        let first: u64 = recent
            .iter()
            .map(|s| u64::from(s.beneficiaries.first_time))
            .sum();
        let returning: u64 = recent
            .iter()
            .map(|s| u64::from(s.beneficiaries.returning))
            .sum();
        if first + returning > 0 {
            let share = returning as f64 / (first + returning) as f64;
            if share < cx.cfg.min_returning_share {
                let (pct, min) = (share * 100.0, cx.cfg.min_returning_share * 100.0);
                cx.push(
                    FindingKind::Participation,
                    Severity::Low,
                    vec!["returning".to_owned()],
                    bilingual(
                        "finding.participation.returning.explanation",
                        &[
                            ("pct", format!("{pct:.0}").into()),
                            ("min", format!("{min:.0}").into()),
                        ],
                    ),
                    recent.iter().map(|s| s.event()),
                    bilingual("finding.participation.returning.suggestion", &[]),
                );
            }
        }
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
            "Les 3 dernières séances avec des bénéficiaires sont restées au niveau informer ou consulter : les bénéficiaires sont entendus mais ne pèsent pas sur les décisions."
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
                .starts_with("Les femmes représentaient 30 % des bénéficiaires"),
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
    }
}
