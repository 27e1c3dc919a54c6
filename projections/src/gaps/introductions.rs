//! Suggested introductions: two stakeholders sharing themes, untied, with a
//! strong common partner.

use super::*;

/// Calls `common` with each item of both ascending, duplicate-free lists:
/// binary search of the shorter list's items in the longer one when that is
/// cheaper, a linear merge otherwise.
pub(super) fn sorted_intersection<T: Ord + Copy>(x: &[T], y: &[T], mut common: impl FnMut(T)) {
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
pub(super) type Candidate = ((usize, usize), (f64, usize));

/// The pairs a suggested introduction could be made for, from the network
/// alone: every untied pair sharing a theme and a common partner to whom
/// both are strongly tied, with the best partner for each. The community
/// factor of the score is the same for every partner of a pair, so the best
/// partner does not depend on it.
pub(super) fn introduction_candidates(cx: &Ctx) -> Vec<Candidate> {
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

pub(super) fn introductions(cx: &mut Ctx, candidates: Vec<Candidate>) {
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
        let people = [
            ("a", Arg::from(cx.node_noun(u))),
            ("b", Arg::from(cx.node_noun(v))),
            ("broker", Arg::from(cx.node_noun(w))),
        ];
        let evidence: Vec<Uuid> = [net.tie_between(u, w), net.tie_between(v, w)]
            .into_iter()
            .flatten()
            .flat_map(|t| t.evidence.iter().copied())
            .collect();
        let introduces = vec![pair(uid.clone(), vid.clone())];
        let f = cx.push(
            FindingKind::SuggestedIntroduction,
            Severity::Low,
            vec![uid, vid],
            bilingual(
                "finding.suggested_introduction.explanation",
                &[
                    people[0].clone(),
                    people[1].clone(),
                    people[2].clone(),
                    ("themes", messages::themes(&shared, "list.and")),
                ],
            ),
            evidence,
            bilingual("finding.suggested_introduction.suggestion", &people),
        );
        f.introduces = introduces;
        f.themes = shared;
    }
}
