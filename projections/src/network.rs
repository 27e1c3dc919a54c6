//! The network graph of one programme at one time: one node per active
//! stakeholder, one [`Tie`] per pair that has interacted, aggregating its
//! partnership, its outreach contacts and its co-attendance at sessions.
//!
//! **Presence.** A tie is present from its first interaction until its
//! partnership ends: a pair with an active partnership is tied; a pair whose
//! partnerships have all ended is not; a pair that never had a partnership is
//! tied while any contact between them had a positive outcome (interested or
//! committed) or they attended a session together.
//!
//! **Strength.** `strength = base × 2^(−Δ / (half_life × factor))`, where
//! `Δ` is the time from the tie's last interaction to the as-of time (never
//! negative), `half_life` defaults to 180 days and `factor` depends on the
//! kind of the tie's active partnership ([`half_life_factor`]: informal and
//! information sharing 1, referral 1.5, co-delivery and funding 2, formal
//! agreement 3, institutional none: no decay; 1 without an active
//! partnership). `base` is the largest of
//! the tie's components: the active partnership's formality weight
//! ([`formality`]: informal 0.3 … formal_agreement 1.0; institutional 0.5,
//! a structural link rather than a working one), the best contact
//! outcome's weight ([`outcome_weight`]: committed 0.5, interested 0.3,
//! acknowledged 0.1) and 0.4 for co-attendance. A kind with no factor never
//! decays, so it never goes dormant ([`can_go_dormant`]).
//!
//! **Refresh.** Everything two stakeholders do together refreshes their
//! tie: the last interaction is the latest of
//! - a contact between them with an outcome of at least `acknowledged`;
//! - the formation and the latest revision of an active partnership;
//! - a session both took part in, as stakeholders, facilitators or groups
//!   ([`Session::attendees`]);
//! - a milestone naming both;
//! - a need one of them addressed, at or after the formation of an active
//!   partnership between them whose (current) themes include the need's
//!   theme (the partner rule);
//! - a need both addressed: every `NeedAddressed` naming one of them once
//!   the other had addressed it too (co-providers).
//!
//! Needs (and milestones) only refresh ties that contacts, partnerships or
//! sessions made; they make no tie of their own: two co-providers who never
//! met stay untied. Their events join the evidence of the ties they
//! refresh. A refresh counts as an interaction: it can also move the first
//! interaction (decision 018).
//!
//! Centralities are computed on the topology of present ties, unweighted
//! ([`crate::metrics`]); strength weighs the weighted degree and the map.

use std::collections::{BTreeMap, BTreeSet};

use rayon::prelude::*;
use rustc_hash::FxHashMap;

use chrono::{DateTime, Utc};
use passerelle_events::event::{Outcome, PartnershipKind, StakeholderKind};
use uuid::Uuid;

use crate::cancel::{Cancel, Stopped};
use crate::metrics::{self, MetricsConfig, NetworkMetrics, NodeMetrics, Topology};
use crate::model::{Partnership, Programme, Session};

/// Settings of the network projection.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct NetworkConfig {
    /// Days for a tie's strength to halve without interaction (default 180).
    pub half_life_days: f64,
}

impl Default for NetworkConfig {
    fn default() -> Self {
        Self {
            half_life_days: 180.0,
        }
    }
}

/// How formal a partnership kind is, in (0, 1].
pub fn formality(kind: PartnershipKind) -> f64 {
    match kind {
        PartnershipKind::Informal => 0.3,
        PartnershipKind::InformationSharing => 0.4,
        PartnershipKind::Referral => 0.6,
        PartnershipKind::CoDelivery => 0.8,
        PartnershipKind::Funding => 0.8,
        PartnershipKind::FormalAgreement => 1.0,
        PartnershipKind::Institutional => 0.5,
    }
}

/// How many configured half-lives a tie whose active partnership is of this
/// kind takes to halve, or `None` when it does not decay at all. Informal and
/// information-sharing ties fade at the configured pace (1×), referrals 1.5×,
/// co-delivery and funding 2× (a funded relationship lasts the grant; once
/// ended it is no tie), formal agreements 3×; an institutional link (a
/// council and its services) does not fade: it holds its base strength until
/// ended. A tie without an active partnership fades at 1× (decision 018).
pub fn half_life_factor(kind: PartnershipKind) -> Option<f64> {
    match kind {
        PartnershipKind::Informal | PartnershipKind::InformationSharing => Some(1.0),
        PartnershipKind::Referral => Some(1.5),
        PartnershipKind::CoDelivery | PartnershipKind::Funding => Some(2.0),
        PartnershipKind::FormalAgreement => Some(3.0),
        PartnershipKind::Institutional => None,
    }
}

/// Whether a partnership of this kind can go dormant: whether its tie
/// decays at all ([`half_life_factor`]). A tie that never decays keeps its
/// base strength while the partnership is active, so the gap report must not
/// call it dormant however long it has been quiet.
pub fn can_go_dormant(kind: PartnershipKind) -> bool {
    half_life_factor(kind).is_some()
}

/// Whether partnership `x` defines a tie rather than `y`: the more formal,
/// then the slower to decay (no decay slowest).
fn outranks(x: PartnershipKind, y: PartnershipKind) -> bool {
    let persistence = |k| half_life_factor(k).unwrap_or(f64::INFINITY);
    formality(x)
        .total_cmp(&formality(y))
        .then(persistence(x).total_cmp(&persistence(y)))
        .is_gt()
}

/// What a contact outcome weighs in a tie's base strength.
pub fn outcome_weight(outcome: Outcome) -> f64 {
    match outcome {
        Outcome::Committed => 0.5,
        Outcome::Interested => 0.3,
        Outcome::Acknowledged => 0.1,
        Outcome::Declined | Outcome::NoResponse => 0.0,
    }
}

/// What attending sessions together weighs in a tie's base strength.
pub const CO_ATTENDANCE_WEIGHT: f64 = 0.4;

/// The partnership side of a tie.
#[derive(Debug, Clone, PartialEq)]
pub struct TiePartnership {
    /// Partnership id.
    pub id: String,
    /// Its kind.
    pub kind: PartnershipKind,
    /// Its themes.
    pub themes: Vec<String>,
    /// When formed.
    pub formed_at: DateTime<Utc>,
    /// When ended, if it has.
    pub ended_at: Option<DateTime<Utc>>,
}

/// The outreach side of a tie (both directions).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ContactSummary {
    /// Contacts logged.
    pub count: usize,
    /// Of which interested or committed.
    pub positive: usize,
    /// The latest contact.
    pub last: Option<DateTime<Utc>>,
    /// The best outcome.
    pub best: Option<Outcome>,
}

/// Everything between two stakeholders.
#[derive(Debug, Clone, PartialEq)]
pub struct Tie {
    /// The node index of the stakeholder with the smaller id
    /// (`Network::nodes[a]`).
    pub a: usize,
    /// The node index of the stakeholder with the larger id.
    pub b: usize,
    /// The partnership that defines the tie: the most formal active one, else
    /// the latest ended one.
    pub partnership: Option<TiePartnership>,
    /// Outreach contacts between the two.
    pub contacts: ContactSummary,
    /// Sessions both attended.
    pub sessions: Vec<String>,
    /// The first interaction of any kind.
    pub first_interaction: DateTime<Utc>,
    /// The last interaction that keeps a tie warm.
    pub last_interaction: DateTime<Utc>,
    /// Whether the tie is present at the as-of time.
    pub present: bool,
    /// Strength before decay.
    pub base: f64,
    /// Decayed strength at the as-of time (0 when not present).
    pub strength: f64,
    /// The events behind the tie.
    pub evidence: Vec<Uuid>,
}

/// One programme's network at one time.
#[derive(Debug, Clone)]
pub struct Network {
    /// Programme id.
    pub programme: String,
    /// The time strengths are measured at.
    pub as_of: DateTime<Utc>,
    /// The log position the network reflects.
    pub position: u64,
    /// Active stakeholder ids, sorted; node `i` is `nodes[i]`.
    pub nodes: Vec<String>,
    /// Kind of each node.
    pub kinds: Vec<StakeholderKind>,
    /// Every pair that ever interacted (present or not), sorted by (a, b).
    pub ties: Vec<Tie>,
    /// Present ties only, as node indexes.
    pub topology: Topology,
    index: FxHashMap<String, usize>,
    /// Per node, the indexes (into `ties`) of its present ties.
    incident: Vec<Vec<usize>>,
    /// Indexes into the programme's contacts, grouped by tie in tie order.
    contacts: Vec<u32>,
    /// Where each tie's contacts start in `contacts`, and one past the last.
    contact_start: Vec<u32>,
}

/// Two node indexes, smaller first, packed into one sortable key.
fn pair_key(i: usize, j: usize) -> u64 {
    ((i as u64) << 32) | j as u64
}

/// The node indexes of a [`pair_key`].
fn unpack(k: u64) -> (usize, usize) {
    ((k >> 32) as usize, (k & u64::from(u32::MAX)) as usize)
}

/// The key of the first item of a list, if any.
fn head<T>(list: &[(u64, T)]) -> Option<u64> {
    list.first().map(|(k, _)| *k)
}

/// Splits off the leading items of a list sorted by key that have key `k`.
fn take_key<'l, T>(list: &mut &'l [(u64, T)], k: u64) -> &'l [(u64, T)] {
    let n = list.iter().take_while(|(key, _)| *key == k).count();
    let (head, tail) = list.split_at(n);
    *list = tail;
    head
}

/// The first interaction of a pair, and the last that keeps it warm.
#[derive(Default)]
struct Interactions {
    first: Option<DateTime<Utc>>,
    last: Option<DateTime<Utc>>,
}

impl Interactions {
    fn touch(&mut self, at: DateTime<Utc>, warm: bool) {
        self.first = Some(self.first.map_or(at, |f| f.min(at)));
        if warm {
            self.last = Some(self.last.map_or(at, |l| l.max(at)));
        }
    }
}

/// Something two stakeholders did together that refreshes their tie without
/// making one: a milestone naming both, or a need addressed by both
/// (co-providers). When, and its event.
type Refresh = (DateTime<Utc>, Uuid);

/// A need one stakeholder addressed, for the partner rule: its theme, when,
/// and the `NeedAddressed` event.
type Addressing<'a> = (&'a str, DateTime<Utc>, Uuid);

/// What ties are made from.
struct Sources<'a> {
    p: &'a Programme,
    as_of: DateTime<Utc>,
    half_life: f64,
    /// Per node, the needs it addressed (only nodes that addressed one).
    addressing: FxHashMap<usize, Vec<Addressing<'a>>>,
}

/// Where the items of one pair lie in the four sorted lists.
struct Group {
    key: u64,
    contacts: std::ops::Range<usize>,
    partnerships: std::ops::Range<usize>,
    sessions: std::ops::Range<usize>,
    refreshes: std::ops::Range<usize>,
}

/// The groups of four lists sorted by key, in key order: one per key of the
/// first three lists. Items of the fourth (refreshes) whose key is in none of
/// the three belong to no group: a refresh alone makes no tie.
fn groups<A, B, C, D>(
    c: &[(u64, A)],
    x: &[(u64, B)],
    s: &[(u64, C)],
    r: &[(u64, D)],
) -> Vec<Group> {
    let (mut rc, mut rx, mut rs, mut rr) = (c, x, s, r);
    let mut out = Vec::with_capacity(c.len().max(x.len() + s.len()));
    while let Some(key) = [head(rc), head(rx), head(rs)].into_iter().flatten().min() {
        let (ic, ix, is) = (c.len() - rc.len(), x.len() - rx.len(), s.len() - rs.len());
        let skip = rr.iter().take_while(|(k, _)| *k < key).count();
        rr = &rr[skip..];
        let ir = r.len() - rr.len();
        out.push(Group {
            key,
            contacts: ic..ic + take_key(&mut rc, key).len(),
            partnerships: ix..ix + take_key(&mut rx, key).len(),
            sessions: is..is + take_key(&mut rs, key).len(),
            refreshes: ir..ir + take_key(&mut rr, key).len(),
        });
    }
    out
}

impl Sources<'_> {
    /// The tie of pair `key` from its contacts (indexes into the
    /// programme's), partnerships (in id order), shared sessions (in id
    /// order) and refreshes (milestones naming both, needs both addressed).
    fn tie(
        &self,
        key: u64,
        cs: &[(u64, usize)],
        xs: &[(u64, &Partnership)],
        ss: &[(u64, &Session)],
        rs: &[(u64, Refresh)],
    ) -> Tie {
        let (p, as_of) = (self.p, self.as_of);
        let (ia, ib) = unpack(key);
        let mut interactions = Interactions::default();
        let mut evidence = Vec::with_capacity(
            cs.len() + ss.len() + rs.len() + xs.iter().map(|(_, x)| x.events.len()).sum::<usize>(),
        );
        let mut contacts = ContactSummary::default();
        for &(_, n) in cs {
            let c = &p.contacts[n];
            contacts.count += 1;
            if c.outcome.is_positive() {
                contacts.positive += 1;
            }
            contacts.last = Some(
                contacts
                    .last
                    .map_or(c.occurred_at, |l| l.max(c.occurred_at)),
            );
            contacts.best = Some(contacts.best.map_or(c.outcome, |b| b.max(c.outcome)));
            interactions.touch(c.occurred_at, c.outcome >= Outcome::Acknowledged);
            evidence.push(c.event);
        }
        let (mut active, mut ended): (Option<&Partnership>, Option<&Partnership>) = (None, None);
        for (_, x) in xs {
            evidence.extend(&x.events);
            match x.ended_at {
                None => {
                    interactions.touch(x.formed_at, true);
                    interactions.touch(x.revised_at, true);
                    // In id order: the first of the most formal, then
                    // slowest to decay, wins.
                    if active.is_none_or(|a| outranks(x.kind, a.kind)) {
                        active = Some(x);
                    }
                    // The partner rule: a need one end addressed, while
                    // partners, on a theme of this partnership.
                    for end in [ia, ib] {
                        let Some(needs) = self.addressing.get(&end) else {
                            continue;
                        };
                        for &(theme, at, event) in needs {
                            if at >= x.formed_at && x.themes.iter().any(|t| t == theme) {
                                interactions.touch(at, true);
                                evidence.push(event);
                            }
                        }
                    }
                }
                Some(end) => {
                    interactions.touch(x.formed_at, false);
                    if ended.is_none_or(|e| e.ended_at.is_some_and(|t| t < end)) {
                        ended = Some(x);
                    }
                }
            }
        }
        let mut sessions = Vec::with_capacity(ss.len());
        for (_, s) in ss {
            sessions.push(s.id.clone());
            interactions.touch(s.occurred_at, true);
            evidence.push(s.events[0]);
        }
        for &(_, (at, event)) in rs {
            interactions.touch(at, true);
            evidence.push(event);
        }

        let present = active.is_some()
            || (ended.is_none() && (contacts.positive > 0 || !sessions.is_empty()));
        let mut base: f64 = 0.0;
        if let Some(x) = active {
            base = base.max(formality(x.kind));
        }
        if ended.is_none() || active.is_some() {
            if let Some(best) = contacts.best {
                base = base.max(outcome_weight(best));
            }
            if !sessions.is_empty() {
                base = base.max(CO_ATTENDANCE_WEIGHT);
            }
        }
        let first = interactions.first.unwrap_or(as_of);
        let last = interactions.last.unwrap_or(first);
        let factor = active.map_or(Some(1.0), |x| half_life_factor(x.kind));
        let strength = match (present, factor) {
            (false, _) => 0.0,
            (true, None) => base,
            (true, Some(f)) => base * decay(as_of, last, self.half_life * f),
        };
        evidence.sort_unstable();
        evidence.dedup();
        Tie {
            a: ia,
            b: ib,
            partnership: active.or(ended).map(|x| TiePartnership {
                id: x.id.clone(),
                kind: x.kind,
                themes: x.themes.clone(),
                formed_at: x.formed_at,
                ended_at: x.ended_at,
            }),
            contacts,
            sessions,
            first_interaction: first,
            last_interaction: last,
            present,
            base,
            strength,
            evidence,
        }
    }
}

/// The key of the pair of stakeholders `x` and `y`, if both are nodes and
/// they differ. Node order is id order, so sorting the keys sorts the pairs
/// by (a, b).
fn key_of(index: &FxHashMap<String, usize>, x: &str, y: &str) -> Option<u64> {
    let (i, j) = (*index.get(x)?, *index.get(y)?);
    match i.cmp(&j) {
        std::cmp::Ordering::Less => Some(pair_key(i, j)),
        std::cmp::Ordering::Greater => Some(pair_key(j, i)),
        std::cmp::Ordering::Equal => None,
    }
}

/// Refreshes by pair, sorted by pair key.
type Refreshes = Vec<(u64, Refresh)>;

/// Per node, the needs it addressed.
type AddressingByNode<'a> = FxHashMap<usize, Vec<Addressing<'a>>>;

/// What needs and milestones say about pairs: the refreshes (by pair key,
/// sorted) — every milestone naming both, every `NeedAddressed` naming one of
/// two co-providers of a need once the other has addressed it too — and, per
/// node, the needs it addressed, for the partner rule ([`Sources::tie`]).
fn refreshes<'a>(
    p: &'a Programme,
    index: &FxHashMap<String, usize>,
) -> (Refreshes, AddressingByNode<'a>) {
    let mut refreshes = Refreshes::new();
    let mut addressing = AddressingByNode::default();
    // Each addresser of the need, with the first time it addressed it.
    let mut firsts: Vec<(&str, DateTime<Utc>)> = Vec::new();
    for n in p.needs.values() {
        firsts.clear();
        for a in &n.addressed {
            if let Some(&i) = index.get(&a.by) {
                addressing
                    .entry(i)
                    .or_default()
                    .push((n.theme.as_str(), a.at, a.event));
            }
            match firsts.iter_mut().find(|(s, _)| *s == a.by) {
                Some((_, t)) => *t = (*t).min(a.at),
                None => firsts.push((&a.by, a.at)),
            }
        }
        for a in &n.addressed {
            for &(other, since) in &firsts {
                if since <= a.at {
                    if let Some(k) = key_of(index, &a.by, other) {
                        refreshes.push((k, (a.at, a.event)));
                    }
                }
            }
        }
    }
    for m in p.milestones.values() {
        for (i, x) in m.stakeholders.iter().enumerate() {
            for y in &m.stakeholders[i + 1..] {
                if let Some(k) = key_of(index, x, y) {
                    refreshes.push((k, (m.occurred_at, m.event)));
                }
            }
        }
    }
    refreshes.sort_unstable_by_key(|(k, _)| *k);
    (refreshes, addressing)
}

impl Network {
    /// Builds the network of `p` (already folded up to the as-of time).
    pub fn build(p: &Programme, as_of: DateTime<Utc>, position: u64, cfg: &NetworkConfig) -> Self {
        let nodes: Vec<String> = p.active_stakeholders().map(|s| s.id.clone()).collect();
        let kinds = p.active_stakeholders().map(|s| s.kind).collect();
        let index: FxHashMap<String, usize> = nodes
            .iter()
            .enumerate()
            .map(|(i, s)| (s.clone(), i))
            .collect();

        // Pairs are keyed by their node indexes, smaller first, packed into
        // one integer; node order is id order, so sorting the keys sorts the
        // ties by (a, b).
        let key = |x: &str, y: &str| key_of(&index, x, y);
        // Each source of interaction becomes a list of (pair, item) sorted
        // by pair; the ties are then one merge of the four lists. Contacts
        // are the bulk: on large programmes their list is made on this thread
        // while a second thread makes the others (needs and milestones are
        // few per programme).
        let contacts = || {
            let mut v: Vec<(u64, usize)> = p
                .contacts
                .iter()
                .enumerate()
                .filter_map(|(n, c)| Some((key(&c.from, &c.to)?, n)))
                .collect();
            // By pair, then in the order logged.
            v.sort_unstable();
            v
        };
        let the_rest = || {
            let mut partnerships: Vec<(u64, &Partnership)> = p
                .partnerships
                .values()
                .filter_map(|x| Some((key(&x.between[0], &x.between[1])?, x)))
                .collect();
            // Stable: within a pair, partnerships stay in id order.
            partnerships.sort_by_key(|(k, _)| *k);
            let mut sessions: Vec<(u64, &Session)> = Vec::new();
            for s in p.sessions.values() {
                let attendees: Vec<&str> = s.attendees().into_iter().collect();
                for (i, x) in attendees.iter().enumerate() {
                    for y in &attendees[i + 1..] {
                        if let Some(k) = key(x, y) {
                            sessions.push((k, s));
                        }
                    }
                }
            }
            // Stable: within a pair, sessions stay in id order.
            sessions.sort_by_key(|(k, _)| *k);
            let (refreshes, addressing) = refreshes(p, &index);
            (partnerships, sessions, refreshes, addressing)
        };
        /// Below this many contacts a second thread costs more than it saves.
        const PARALLEL_CONTACTS: usize = 20_000;
        let (contacts, (partnerships, sessions, refreshes, addressing)) =
            if p.contacts.len() >= PARALLEL_CONTACTS {
                std::thread::scope(|scope| {
                    let rest = scope.spawn(the_rest);
                    let contacts = contacts();
                    (
                        contacts,
                        rest.join().expect("the sorting thread does not panic"),
                    )
                })
            } else {
                (contacts(), the_rest())
            };

        // One group per pair, in key order: where its items lie in the
        // four lists. The ties are then made from the groups in parallel.
        let groups = groups(&contacts, &partnerships, &sessions, &refreshes);
        let sources = Sources {
            p,
            as_of,
            half_life: cfg.half_life_days.max(f64::MIN_POSITIVE),
            addressing,
        };
        let make = |g: &Group| {
            sources.tie(
                g.key,
                &contacts[g.contacts.clone()],
                &partnerships[g.partnerships.clone()],
                &sessions[g.sessions.clone()],
                &refreshes[g.refreshes.clone()],
            )
        };
        let ties: Vec<Tie> = if contacts.len() >= PARALLEL_CONTACTS {
            groups.par_iter().map(make).collect()
        } else {
            groups.iter().map(make).collect()
        };
        let edges: Vec<(usize, usize)> = ties
            .iter()
            .filter(|t| t.present)
            .map(|t| (t.a, t.b))
            .collect();
        // The contacts list is sorted by pair: it is already grouped by tie.
        let contact_start = std::iter::once(0)
            .chain(groups.iter().map(|g| g.contacts.end as u32))
            .collect();
        let contacts = contacts.iter().map(|&(_, n)| n as u32).collect();
        let topology = Topology::new(nodes.len(), edges);
        let mut incident = vec![Vec::new(); nodes.len()];
        for (k, t) in ties.iter().enumerate().filter(|(_, t)| t.present) {
            incident[t.a].push(k);
            incident[t.b].push(k);
        }
        Self {
            programme: p.id.clone(),
            as_of,
            position,
            nodes,
            kinds,
            ties,
            topology,
            index,
            incident,
            contacts,
            contact_start,
        }
    }

    /// The node index of a stakeholder.
    pub fn index_of(&self, id: &str) -> Option<usize> {
        self.index.get(id).copied()
    }

    /// Present ties.
    pub fn present_ties(&self) -> impl Iterator<Item = &Tie> {
        self.ties.iter().filter(|t| t.present)
    }

    /// The tie between two stakeholders, if they ever interacted.
    pub fn tie(&self, x: &str, y: &str) -> Option<&Tie> {
        self.tie_between(self.index_of(x)?, self.index_of(y)?)
    }

    /// The tie between nodes `i` and `j`, if they ever interacted.
    pub fn tie_between(&self, i: usize, j: usize) -> Option<&Tie> {
        let key = (i.min(j), i.max(j));
        self.ties
            .binary_search_by_key(&key, |t| (t.a, t.b))
            .ok()
            .map(|k| &self.ties[k])
    }

    /// The contacts of tie `k` (an index into `ties`), as indexes into the
    /// programme's `contacts`, in the order they were logged.
    pub fn contacts_of(&self, k: usize) -> impl ExactSizeIterator<Item = usize> + '_ {
        let (from, to) = (self.contact_start[k], self.contact_start[k + 1]);
        self.contacts[from as usize..to as usize]
            .iter()
            .map(|&n| n as usize)
    }

    /// The indexes (into `ties`) of the present ties of node `i`.
    pub fn incident(&self, i: usize) -> &[usize] {
        &self.incident[i]
    }

    /// Sum of present tie strengths per node.
    pub fn weighted_degree(&self) -> Vec<f64> {
        let mut w = vec![0.0; self.nodes.len()];
        for t in self.present_ties() {
            w[t.a] += t.strength;
            w[t.b] += t.strength;
        }
        w
    }

    /// Neighbours of a node over present ties, with the tie.
    pub fn neighbours(&self, id: &str) -> Vec<(&str, &Tie)> {
        let Some(&i) = self.index.get(id) else {
            return Vec::new();
        };
        self.incident[i]
            .iter()
            .map(|&k| {
                let t = &self.ties[k];
                let other = if t.a == i { t.b } else { t.a };
                (self.nodes[other].as_str(), t)
            })
            .collect()
    }

    /// Computes every metric of the network.
    pub fn analyse(&self, cfg: &MetricsConfig) -> Analysis {
        self.analyse_within(cfg, &Cancel::never())
            .expect("an analysis that is never stopped")
    }

    /// [`Network::analyse`], giving up soon after `cancel` is stopped (see
    /// [`metrics::compute_within`]).
    pub fn analyse_within(
        &self,
        cfg: &MetricsConfig,
        cancel: &Cancel,
    ) -> Result<Analysis, Stopped> {
        let (nodes, network) = metrics::compute_within(&self.topology, cfg, cancel)?;
        let kind_index: Vec<usize> = self.kinds.iter().map(|k| *k as usize).collect();
        let ei_by_kind = metrics::ei_index(&self.topology, &kind_index);
        let mut ei_per_kind = BTreeMap::new();
        let present_kinds: BTreeSet<StakeholderKind> = self.kinds.iter().copied().collect();
        for kind in present_kinds {
            let (mut internal, mut external) = (0usize, 0usize);
            for (a, b) in self.topology.edges() {
                let (ka, kb) = (self.kinds[a], self.kinds[b]);
                if ka == kind || kb == kind {
                    if ka == kb {
                        internal += 1;
                    } else {
                        external += 1;
                    }
                }
            }
            if internal + external > 0 {
                ei_per_kind.insert(
                    kind,
                    (external as f64 - internal as f64) / (external + internal) as f64,
                );
            }
        }
        Ok(Analysis {
            weighted_degree: self.weighted_degree(),
            nodes,
            network,
            ei_by_kind,
            ei_per_kind,
        })
    }
}

/// `2^(−Δ / half_life)` with `Δ` in days, never more than 1.
pub fn decay(as_of: DateTime<Utc>, last: DateTime<Utc>, half_life_days: f64) -> f64 {
    let days = ((as_of - last).num_seconds() as f64 / 86_400.0).max(0.0);
    (-days / half_life_days).exp2()
}

/// The metrics of a network.
#[derive(Debug, Clone)]
pub struct Analysis {
    /// Per node, in node order.
    pub nodes: Vec<NodeMetrics>,
    /// Sum of present tie strengths per node.
    pub weighted_degree: Vec<f64>,
    /// Network-wide figures.
    pub network: NetworkMetrics,
    /// E-I index of present ties with stakeholder kinds as groups.
    pub ei_by_kind: Option<f64>,
    /// E-I index of each kind's ties: −1 all within the kind, +1 all across.
    pub ei_per_kind: BTreeMap<StakeholderKind, f64>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::replay;
    use crate::testkit::{ev, stored};
    use serde_json::{json, Value};

    fn base() -> Vec<Value> {
        let mut v = vec![ev(
            "ProgrammeDefined",
            "2021-01-01",
            json!({"programme": "p", "name": "P"}),
        )];
        for s in ["a", "b", "c", "d"] {
            v.push(ev(
                "StakeholderRegistered",
                "2021-01-01",
                json!({"stakeholder": s, "name": s, "kind": "association"}),
            ));
        }
        v
    }

    fn network(wire: &[Value], as_of: &str) -> Network {
        let model = replay(stored(wire).iter());
        let t = passerelle_events::values::OccurredAt::parse(as_of)
            .unwrap()
            .datetime();
        Network::build(&model.programmes["p"], t, 0, &NetworkConfig::default())
    }

    #[test]
    fn strength_halves_every_half_life_since_the_last_interaction() {
        let mut w = base();
        w.push(ev(
            "PartnershipFormed",
            "2021-01-01",
            json!({"partnership": "x", "between": ["a", "b"], "kind": "informal"}),
        ));
        let at_once = network(&w, "2021-01-01");
        let later = network(&w, "2021-06-30");
        let tie = |n: &Network| n.tie("a", "b").unwrap().strength;
        assert!((tie(&at_once) - 0.3).abs() < 1e-12);
        assert!((tie(&later) - 0.15).abs() < 1e-12, "{}", tie(&later));
    }

    #[test]
    fn an_ended_partnership_is_no_tie_and_a_positive_contact_is_one() {
        let mut w = base();
        w.push(ev(
            "PartnershipFormed",
            "2021-01-01",
            json!({"partnership": "x", "between": ["a", "b"], "kind": "referral"}),
        ));
        w.push(ev(
            "PartnershipEnded",
            "2021-02-01",
            json!({"partnership": "x"}),
        ));
        w.push(ev(
            "OutreachContactLogged",
            "2021-02-01",
            json!({"from": "c", "to": "d", "channel": "phone", "outcome": "no_response"}),
        ));
        let n = network(&w, "2021-03-01");
        assert!(!n.tie("a", "b").unwrap().present);
        assert!(!n.tie("c", "d").unwrap().present);
        w.push(ev(
            "OutreachContactLogged",
            "2021-02-02",
            json!({"from": "d", "to": "c", "channel": "meeting", "outcome": "interested"}),
        ));
        let n = network(&w, "2021-03-01");
        let cd = n.tie("c", "d").unwrap();
        assert!(cd.present);
        assert_eq!(cd.contacts.count, 2);
        assert!((cd.base - outcome_weight(Outcome::Interested)).abs() < 1e-12);
        assert_eq!(n.topology.edge_count(), 1);
    }

    #[test]
    fn co_attendance_ties_the_stakeholders_of_a_session() {
        let mut w = base();
        w.push(ev(
            "CoCreationSessionHeld",
            "2021-03-01",
            json!({"session": "s", "title": "T", "level": "consult",
            "stakeholders": ["a", "c"], "facilitators": ["d"], "beneficiaries": {"total": 0}}),
        ));
        let n = network(&w, "2021-03-01");
        for (x, y) in [("a", "c"), ("a", "d"), ("c", "d")] {
            let t = n.tie(x, y).unwrap();
            assert!(t.present && (t.strength - CO_ATTENDANCE_WEIGHT).abs() < 1e-12);
        }
        assert!(n.tie("a", "b").is_none());
    }

    #[test]
    fn archived_stakeholders_leave_the_network() {
        let mut w = base();
        w.push(ev(
            "PartnershipFormed",
            "2021-01-01",
            json!({"partnership": "x", "between": ["a", "b"], "kind": "referral"}),
        ));
        w.push(ev(
            "StakeholderArchived",
            "2021-02-01",
            json!({"stakeholder": "b"}),
        ));
        let n = network(&w, "2021-03-01");
        assert_eq!(n.nodes, ["a", "c", "d"]);
        assert_eq!(n.topology.edge_count(), 0);
    }

    /// `v` with its event id set, to find it in a tie's evidence.
    fn with_id(mut v: Value, id: Uuid) -> Value {
        v["id"] = json!(id.to_string());
        v
    }

    /// A strength below which an informal partnership (base 0.3) has lost
    /// a sixth of its strength: what the refresh tests keep it above.
    const DORMANT: f64 = 0.25;

    /// `a` and `b` informal partners on housing since 1 January 2021: as of
    /// 1 June (151 days, 0.3 × 2^(−151/180) ≈ 0.17) the tie is dormant
    /// unless something refreshed it.
    fn quiet_partners() -> Vec<Value> {
        let mut w = base();
        w.push(ev(
            "PartnershipFormed",
            "2021-01-01",
            json!({"partnership": "x", "between": ["a", "b"], "kind": "informal",
                   "themes": ["housing"]}),
        ));
        w
    }

    const AS_OF: &str = "2021-06-01";

    /// The a–b tie as of [`AS_OF`], checked to be refreshed on 15 May and
    /// kept above the dormancy threshold.
    fn assert_refreshed(w: &[Value]) -> Tie {
        let n = network(w, AS_OF);
        let t = n.tie("a", "b").unwrap().clone();
        assert_eq!(t.last_interaction.to_rfc3339(), "2021-05-15T00:00:00+00:00");
        assert!(t.present && t.strength > DORMANT, "{}", t.strength);
        t
    }

    #[test]
    fn without_a_refresh_the_quiet_partnership_is_dormant() {
        let n = network(&quiet_partners(), AS_OF);
        let t = n.tie("a", "b").unwrap();
        assert_eq!(t.last_interaction.to_rfc3339(), "2021-01-01T00:00:00+00:00");
        assert!(t.present && t.strength < DORMANT, "{}", t.strength);
    }

    #[test]
    fn a_session_both_attend_refreshes_their_tie() {
        let mut w = quiet_partners();
        w.push(ev(
            "CoCreationSessionHeld",
            "2021-05-15",
            json!({"session": "s", "title": "T", "level": "consult",
                   "stakeholders": ["a", "b"], "beneficiaries": {"total": 0}}),
        ));
        assert_eq!(assert_refreshed(&w).sessions, ["s"]);
    }

    #[test]
    fn a_session_one_facilitates_and_the_other_attends_refreshes_their_tie() {
        let mut w = quiet_partners();
        w.push(ev(
            "CoCreationSessionHeld",
            "2021-05-15",
            json!({"session": "s", "title": "T", "level": "consult",
                   "stakeholders": ["a"], "facilitators": ["b"], "beneficiaries": {"total": 0}}),
        ));
        assert_eq!(assert_refreshed(&w).sessions, ["s"]);
    }

    #[test]
    fn a_session_one_facilitates_for_the_others_group_refreshes_their_tie() {
        let mut w = quiet_partners();
        w.push(ev(
            "CoCreationSessionHeld",
            "2021-05-15",
            json!({"session": "s", "title": "T", "level": "involve",
                   "facilitators": ["a"], "groups": ["b"], "beneficiaries": {"total": 0}}),
        ));
        assert_eq!(assert_refreshed(&w).sessions, ["s"]);
    }

    #[test]
    fn a_need_one_partner_addresses_on_a_theme_of_the_partnership_refreshes_the_tie() {
        let addressed = Uuid::from_u128(7);
        let mut w = quiet_partners();
        w.push(ev(
            "NeedDeclared",
            "2021-04-01",
            json!({"need": "n", "action": "A", "theme": "housing"}),
        ));
        w.push(with_id(
            ev(
                "NeedAddressed",
                "2021-05-15",
                json!({"need": "n", "by": ["b"]}),
            ),
            addressed,
        ));
        let t = assert_refreshed(&w);
        assert!(t.evidence.contains(&addressed));
        // Not a bond of its own: the base is still the partnership's.
        assert!((t.base - formality(PartnershipKind::Informal)).abs() < 1e-12);
    }

    #[test]
    fn a_need_on_a_theme_the_partnership_does_not_share_leaves_the_tie_dormant() {
        let mut w = quiet_partners();
        w.push(ev(
            "NeedDeclared",
            "2021-04-01",
            json!({"need": "n", "action": "A", "theme": "employment"}),
        ));
        w.push(ev(
            "NeedAddressed",
            "2021-05-15",
            json!({"need": "n", "by": ["b"]}),
        ));
        let n = network(&w, AS_OF);
        let t = n.tie("a", "b").unwrap();
        assert!(t.strength < DORMANT, "{}", t.strength);
    }

    #[test]
    fn a_need_both_address_refreshes_their_tie_whatever_its_theme() {
        let (first, second) = (Uuid::from_u128(8), Uuid::from_u128(9));
        let mut w = quiet_partners();
        w.push(ev(
            "NeedDeclared",
            "2021-03-01",
            json!({"need": "n", "action": "A", "theme": "employment"}),
        ));
        // a alone first: no pair yet; b joins on 15 May and they are
        // co-providers from then.
        w.push(with_id(
            ev(
                "NeedAddressed",
                "2021-03-02",
                json!({"need": "n", "by": ["a"]}),
            ),
            first,
        ));
        w.push(with_id(
            ev(
                "NeedAddressed",
                "2021-05-15",
                json!({"need": "n", "by": ["b"]}),
            ),
            second,
        ));
        let t = assert_refreshed(&w);
        assert!(t.evidence.contains(&second));
        assert!(!t.evidence.contains(&first));
    }

    #[test]
    fn a_need_addressed_by_two_strangers_does_not_tie_them() {
        let mut w = base();
        w.push(ev(
            "NeedDeclared",
            "2021-03-01",
            json!({"need": "n", "action": "A", "theme": "employment"}),
        ));
        w.push(ev(
            "NeedAddressed",
            "2021-03-02",
            json!({"need": "n", "by": ["c", "d"]}),
        ));
        let n = network(&w, AS_OF);
        assert!(n.tie("c", "d").is_none());
        assert!(n.ties.is_empty());
    }

    #[test]
    fn a_milestone_naming_both_refreshes_their_tie() {
        let named = Uuid::from_u128(10);
        let mut w = quiet_partners();
        w.push(with_id(
            ev(
                "MilestoneMarked",
                "2021-05-15",
                json!({"milestone": "m", "label": "Council decision", "kind": "decision",
                       "stakeholders": ["a", "c", "b"]}),
            ),
            named,
        ));
        let t = assert_refreshed(&w);
        assert!(t.evidence.contains(&named));
        assert!((t.base - formality(PartnershipKind::Informal)).abs() < 1e-12);
    }

    #[test]
    fn a_milestone_naming_one_of_them_leaves_the_tie_dormant() {
        let mut w = quiet_partners();
        w.push(ev(
            "MilestoneMarked",
            "2021-05-15",
            json!({"milestone": "m", "label": "Visit", "kind": "study_visit",
                   "stakeholders": ["a", "c"]}),
        ));
        let n = network(&w, AS_OF);
        assert!(n.tie("a", "b").unwrap().strength < DORMANT);
    }

    #[test]
    fn a_milestone_alone_makes_no_tie() {
        let mut w = base();
        w.push(ev(
            "MilestoneMarked",
            "2021-05-15",
            json!({"milestone": "m", "label": "Workshop", "kind": "workshop",
                   "stakeholders": ["a", "b", "c", "d"]}),
        ));
        let n = network(&w, AS_OF);
        assert!(n.ties.is_empty());
        assert_eq!(n.topology.edge_count(), 0);
    }

    #[test]
    fn an_institutional_tie_never_decays_and_cannot_go_dormant() {
        assert_eq!(half_life_factor(PartnershipKind::Institutional), None);
        assert!(!can_go_dormant(PartnershipKind::Institutional));
        let mut w = base();
        w.push(ev(
            "PartnershipFormed",
            "2021-01-01",
            json!({"partnership": "x", "between": ["a", "b"], "kind": "institutional"}),
        ));
        for at in ["2021-01-01", "2023-01-01", "2031-01-01"] {
            let n = network(&w, at);
            let t = n.tie("a", "b").unwrap();
            assert!(t.present);
            assert_eq!(
                t.strength,
                formality(PartnershipKind::Institutional),
                "{at}"
            );
            assert!(t.strength > DORMANT);
        }
        // Ended, it is no tie, like any other kind.
        w.push(ev(
            "PartnershipEnded",
            "2023-01-01",
            json!({"partnership": "x"}),
        ));
        let n = network(&w, "2023-01-02");
        let t = n.tie("a", "b").unwrap();
        assert!(!t.present && t.strength == 0.0);
    }

    #[test]
    fn the_half_life_depends_on_the_kind_of_partnership() {
        use PartnershipKind::*;
        let factors = [
            (Informal, 1.0),
            (InformationSharing, 1.0),
            (Referral, 1.5),
            (CoDelivery, 2.0),
            (Funding, 2.0),
            (FormalAgreement, 3.0),
        ];
        // Every kind is here or does not decay.
        for kind in PartnershipKind::ALL {
            let listed = factors.iter().any(|(k, _)| *k == kind);
            assert_eq!(listed, half_life_factor(kind).is_some(), "{kind:?}");
        }
        for (kind, factor) in factors {
            assert_eq!(half_life_factor(kind), Some(factor), "{kind:?}");
            assert!(can_go_dormant(kind), "{kind:?}");
            // One factored half-life after formation, the tie is at half
            // its base.
            let mut w = base();
            w.push(ev(
                "PartnershipFormed",
                "2021-01-01",
                json!({"partnership": "x", "between": ["a", "b"], "kind": kind}),
            ));
            let days = (180.0 * factor) as i64;
            let at = (chrono::NaiveDate::from_ymd_opt(2021, 1, 1).unwrap()
                + chrono::Duration::days(days))
            .to_string();
            let t = network(&w, &at).tie("a", "b").unwrap().clone();
            assert!(
                (t.strength - formality(kind) / 2.0).abs() < 1e-12,
                "{kind:?}: {} after {days} days",
                t.strength
            );
        }
    }

    #[test]
    fn a_formal_agreement_fades_slower_than_an_informal_partnership() {
        let mut w = base();
        w.push(ev(
            "PartnershipFormed",
            "2021-01-01",
            json!({"partnership": "x", "between": ["a", "b"], "kind": "informal"}),
        ));
        w.push(ev(
            "PartnershipFormed",
            "2021-01-01",
            json!({"partnership": "y", "between": ["c", "d"], "kind": "formal_agreement"}),
        ));
        let (early, late) = (network(&w, "2021-01-01"), network(&w, "2022-01-01"));
        let kept = |n: &Network, x, y| {
            let t = n.tie(x, y).unwrap();
            t.strength / t.base
        };
        assert!((kept(&early, "a", "b") - 1.0).abs() < 1e-12);
        assert!((kept(&early, "c", "d") - 1.0).abs() < 1e-12);
        // A year: two half-lives of an informal tie, two thirds of one of a
        // formal agreement.
        assert!((kept(&late, "a", "b") - 2f64.powf(-365.0 / 180.0)).abs() < 1e-12);
        assert!((kept(&late, "c", "d") - 2f64.powf(-365.0 / 540.0)).abs() < 1e-12);
        assert!(late.tie("c", "d").unwrap().strength > DORMANT);
        assert!(late.tie("a", "b").unwrap().strength < DORMANT);
    }

    #[test]
    fn a_tie_without_partnership_fades_at_the_configured_half_life() {
        let mut w = base();
        w.push(ev(
            "OutreachContactLogged",
            "2021-01-01",
            json!({"from": "a", "to": "b", "channel": "meeting", "outcome": "committed"}),
        ));
        let t = network(&w, "2021-06-30").tie("a", "b").unwrap().clone();
        assert!((t.strength - outcome_weight(Outcome::Committed) / 2.0).abs() < 1e-12);
    }
}
