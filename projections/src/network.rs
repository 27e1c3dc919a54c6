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
//! **Strength.** `strength = base × 2^(−Δ / half_life)`, where `Δ` is the time
//! from the tie's last interaction to the as-of time (never negative) and
//! `half_life` defaults to 180 days. `base` is the largest of the tie's
//! components: the active partnership's formality weight ([`formality`]:
//! informal 0.3 … formal_agreement 1.0), the best contact outcome's weight
//! ([`outcome_weight`]: committed 0.5, interested 0.3, acknowledged 0.1) and
//! 0.4 for co-attendance. The last interaction is the latest of the
//! partnership's formation or revision, a contact with an outcome of at least
//! `acknowledged`, and a shared session.
//!
//! Centralities are computed on the topology of present ties, unweighted
//! ([`crate::metrics`]); strength weighs the weighted degree and the map.

use std::collections::{BTreeMap, BTreeSet};

use rustc_hash::FxHashMap;

use chrono::{DateTime, Utc};
use passerelle_events::event::{Outcome, PartnershipKind, StakeholderKind};
use uuid::Uuid;

use crate::metrics::{self, MetricsConfig, NetworkMetrics, NodeMetrics, Topology};
use crate::model::Programme;

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
    }
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
    /// The smaller stakeholder id.
    pub a: String,
    /// The larger stakeholder id.
    pub b: String,
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
    /// Per tie (same order as `ties`), the node indexes of `a` and `b`.
    ends: Vec<(usize, usize)>,
    /// Per node, the indexes (into `ties`) of its present ties.
    incident: Vec<Vec<usize>>,
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

        #[derive(Default)]
        struct Acc {
            active: Option<TiePartnership>,
            ended: Option<TiePartnership>,
            contacts: ContactSummary,
            sessions: Vec<String>,
            first: Option<DateTime<Utc>>,
            last: Option<DateTime<Utc>>,
            evidence: Vec<Uuid>,
        }
        fn touch(acc: &mut Acc, at: DateTime<Utc>, warm: bool) {
            acc.first = Some(acc.first.map_or(at, |f| f.min(at)));
            if warm {
                acc.last = Some(acc.last.map_or(at, |l| l.max(at)));
            }
        }
        // Pairs are keyed by their node indexes, smaller first; node order is
        // id order, so sorting the keys sorts the ties by (a, b).
        let key = |x: &str, y: &str| -> Option<(usize, usize)> {
            let (i, j) = (*index.get(x)?, *index.get(y)?);
            match i.cmp(&j) {
                std::cmp::Ordering::Less => Some((i, j)),
                std::cmp::Ordering::Greater => Some((j, i)),
                std::cmp::Ordering::Equal => None,
            }
        };

        // Contacts are the bulk of the pairs: on large programmes
        // partnerships and sessions are accumulated on a second thread while
        // contacts are accumulated here, then the two maps are merged.
        let from_contacts = || {
            let mut pairs: FxHashMap<(usize, usize), Acc> = FxHashMap::default();
            for c in &p.contacts {
                let Some(k) = key(&c.from, &c.to) else {
                    continue;
                };
                let acc = pairs.entry(k).or_default();
                acc.contacts.count += 1;
                if c.outcome.is_positive() {
                    acc.contacts.positive += 1;
                }
                acc.contacts.last = Some(
                    acc.contacts
                        .last
                        .map_or(c.occurred_at, |l| l.max(c.occurred_at)),
                );
                acc.contacts.best = Some(acc.contacts.best.map_or(c.outcome, |b| b.max(c.outcome)));
                touch(acc, c.occurred_at, c.outcome >= Outcome::Acknowledged);
                acc.evidence.push(c.event);
            }
            pairs
        };
        let from_the_rest = || {
            let mut pairs: FxHashMap<(usize, usize), Acc> = FxHashMap::default();
            for x in p.partnerships.values() {
                let Some(k) = key(&x.between[0], &x.between[1]) else {
                    continue;
                };
                let acc = pairs.entry(k).or_default();
                acc.evidence.extend(&x.events);
                let tie_partnership = || TiePartnership {
                    id: x.id.clone(),
                    kind: x.kind,
                    themes: x.themes.clone(),
                    formed_at: x.formed_at,
                    ended_at: x.ended_at,
                };
                match x.ended_at {
                    None => {
                        touch(acc, x.formed_at, true);
                        touch(acc, x.revised_at, true);
                        // Partnerships come in id order: the first of the most formal wins.
                        let better = acc
                            .active
                            .as_ref()
                            .is_none_or(|a| formality(x.kind) > formality(a.kind));
                        if better {
                            acc.active = Some(tie_partnership());
                        }
                    }
                    Some(end) => {
                        touch(acc, x.formed_at, false);
                        let later = acc
                            .ended
                            .as_ref()
                            .is_none_or(|e| e.ended_at.is_some_and(|t| t < end));
                        if later {
                            acc.ended = Some(tie_partnership());
                        }
                    }
                }
            }
            for s in p.sessions.values() {
                let attendees: Vec<&str> = s.attendees().into_iter().collect();
                for (i, x) in attendees.iter().enumerate() {
                    for y in &attendees[i + 1..] {
                        let Some(k) = key(x, y) else { continue };
                        let acc = pairs.entry(k).or_default();
                        acc.sessions.push(s.id.clone());
                        touch(acc, s.occurred_at, true);
                        acc.evidence.push(s.events[0]);
                    }
                }
            }
            pairs
        };
        /// Below this many contacts a second thread costs more than it saves.
        const PARALLEL_CONTACTS: usize = 20_000;
        let (mut pairs, rest) = if p.contacts.len() >= PARALLEL_CONTACTS {
            std::thread::scope(|scope| {
                let rest = scope.spawn(from_the_rest);
                let pairs = from_contacts();
                (
                    pairs,
                    rest.join().expect("the accumulating thread does not panic"),
                )
            })
        } else {
            (from_contacts(), from_the_rest())
        };
        for (k, o) in rest {
            let acc = pairs.entry(k).or_default();
            acc.active = o.active;
            acc.ended = o.ended;
            acc.sessions = o.sessions;
            acc.first = match (acc.first, o.first) {
                (Some(x), Some(y)) => Some(x.min(y)),
                (x, y) => x.or(y),
            };
            acc.last = match (acc.last, o.last) {
                (Some(x), Some(y)) => Some(x.max(y)),
                (x, y) => x.or(y),
            };
            acc.evidence.extend(o.evidence);
        }

        let half_life = cfg.half_life_days.max(f64::MIN_POSITIVE);
        let mut pairs: Vec<((usize, usize), Acc)> = pairs.into_iter().collect();
        pairs.sort_unstable_by_key(|(k, _)| *k);
        let mut ties = Vec::with_capacity(pairs.len());
        let mut ends = Vec::with_capacity(pairs.len());
        let mut edges = Vec::new();
        for ((ia, ib), acc) in pairs {
            let present = acc.active.is_some()
                || (acc.ended.is_none() && (acc.contacts.positive > 0 || !acc.sessions.is_empty()));
            let mut base: f64 = 0.0;
            if let Some(x) = &acc.active {
                base = base.max(formality(x.kind));
            }
            if acc.ended.is_none() || acc.active.is_some() {
                if let Some(best) = acc.contacts.best {
                    base = base.max(outcome_weight(best));
                }
                if !acc.sessions.is_empty() {
                    base = base.max(CO_ATTENDANCE_WEIGHT);
                }
            }
            let first = acc.first.unwrap_or(as_of);
            let last = acc.last.unwrap_or(first);
            let strength = if present {
                base * decay(as_of, last, half_life)
            } else {
                0.0
            };
            if present {
                edges.push((ia, ib));
            }
            let mut evidence = acc.evidence;
            evidence.sort_unstable();
            evidence.dedup();
            ends.push((ia, ib));
            ties.push(Tie {
                a: nodes[ia].clone(),
                b: nodes[ib].clone(),
                partnership: acc.active.or(acc.ended),
                contacts: acc.contacts,
                sessions: acc.sessions,
                first_interaction: first,
                last_interaction: last,
                present,
                base,
                strength,
                evidence,
            });
        }
        let topology = Topology::new(nodes.len(), edges);
        let mut incident = vec![Vec::new(); nodes.len()];
        for (k, _) in ties.iter().enumerate().filter(|(_, t)| t.present) {
            let (ia, ib) = ends[k];
            incident[ia].push(k);
            incident[ib].push(k);
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
            ends,
            incident,
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
        let (a, b) = if x < y { (x, y) } else { (y, x) };
        self.ties
            .binary_search_by(|t| (t.a.as_str(), t.b.as_str()).cmp(&(a, b)))
            .ok()
            .map(|i| &self.ties[i])
    }

    /// The tie between nodes `i` and `j`, if they ever interacted.
    pub fn tie_between(&self, i: usize, j: usize) -> Option<&Tie> {
        let key = (i.min(j), i.max(j));
        self.ends.binary_search(&key).ok().map(|k| &self.ties[k])
    }

    /// The node indexes of the ends of tie `k` (an index into `ties`).
    pub fn ends(&self, k: usize) -> (usize, usize) {
        self.ends[k]
    }

    /// The indexes (into `ties`) of the present ties of node `i`.
    pub fn incident(&self, i: usize) -> &[usize] {
        &self.incident[i]
    }

    /// Sum of present tie strengths per node.
    pub fn weighted_degree(&self) -> Vec<f64> {
        let mut w = vec![0.0; self.nodes.len()];
        for (k, t) in self.ties.iter().enumerate().filter(|(_, t)| t.present) {
            let (ia, ib) = self.ends[k];
            w[ia] += t.strength;
            w[ib] += t.strength;
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
                (
                    if t.a == id {
                        t.b.as_str()
                    } else {
                        t.a.as_str()
                    },
                    t,
                )
            })
            .collect()
    }

    /// Computes every metric of the network.
    pub fn analyse(&self, cfg: &MetricsConfig) -> Analysis {
        let (nodes, network) = metrics::compute(&self.topology, cfg);
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
        Analysis {
            weighted_degree: self.weighted_degree(),
            nodes,
            network,
            ei_by_kind,
            ei_per_kind,
        }
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
            json!({"partnership": "x", "between": ["a", "b"], "kind": "formal_agreement"}),
        ));
        let at_once = network(&w, "2021-01-01");
        let later = network(&w, "2021-06-30");
        let tie = |n: &Network| n.tie("a", "b").unwrap().strength;
        assert!((tie(&at_once) - 1.0).abs() < 1e-12);
        assert!((tie(&later) - 0.5).abs() < 1e-12, "{}", tie(&later));
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
}
