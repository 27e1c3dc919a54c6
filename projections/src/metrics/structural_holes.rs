//! Burt's constraint and effective size on an unweighted topology, from the
//! common neighbours of each edge's endpoints.

use super::Topology;
use crate::cancel::Cancel;

/// Per node, `(constraint, effective_size)`; `None` for isolates.
///
/// With `p_vu = 1/d_v` for a tie and `S_vu = Σ_{w ∈ N(v) ∩ N(u)} 1/d_w`
/// (symmetric in v and u), Burt's local constraint is
/// `ℓ(v, u) = (p_vu + Σ_w p_vw p_wu)² = (1 + S_vu)² / d_v²`, and
/// `constraint(v) = Σ_{u ∈ N(v)} ℓ(v, u)`. Borgatti's effective size is
/// `d_v − 2 t_v / d_v`, with `t_v` the ties among v's neighbours, i.e.
/// `2 t_v = Σ_{u ∈ N(v)} |N(v) ∩ N(u)|`.
///
/// Each edge is examined once, from its end with more neighbours (the
/// larger index on equal degrees): that end's neighbours are marked, and
/// the other end's list is scanned against the marks, so an edge costs
/// `O(min(d_a, d_b))` without branching on the data (the "compact forward"
/// order of triangle listing; Latapy 2008, *Theor. Comput. Sci.* 407:458).
///
/// Once `cancel` is stopped, the nodes left are skipped (the caller,
/// checking `cancel`, drops the result).
pub(crate) fn structural_holes(t: &Topology, cancel: &Cancel) -> Vec<(Option<f64>, Option<f64>)> {
    let n = t.node_count();
    let inverse_degree: Vec<f64> = (0..n)
        .map(|v| match t.degree(v) {
            0 => 0.0,
            d => 1.0 / d as f64,
        })
        .collect();
    let mut local_sum = vec![0.0f64; n];
    let mut shared = vec![0usize; n];
    // `mark[w] == v` while the neighbours of v are marked.
    let mut mark = vec![usize::MAX; n];
    for v in 0..n {
        if v.is_multiple_of(1024) && cancel.check().is_err() {
            break;
        }
        let around = t.neighbours(v);
        for &w in around {
            mark[w] = v;
        }
        let rank = (around.len(), v);
        for &u in around {
            let theirs = t.neighbours(u);
            if (theirs.len(), u) > rank {
                continue;
            }
            let (mut common, mut s) = (0usize, 0.0f64);
            for &w in theirs {
                let hit = mark[w] == v;
                common += usize::from(hit);
                s += if hit { inverse_degree[w] } else { 0.0 };
            }
            let local = (1.0 + s) * (1.0 + s);
            local_sum[v] += local;
            local_sum[u] += local;
            shared[v] += common;
            shared[u] += common;
        }
    }
    (0..n)
        .map(|v| match t.degree(v) {
            0 => (None, None),
            d => {
                let d = d as f64;
                (Some(local_sum[v] / (d * d)), Some(d - shared[v] as f64 / d))
            }
        })
        .collect()
}

#[cfg(test)]
mod properties {
    use proptest::prelude::*;

    use super::*;

    /// networkx's definitions read literally: local constraint
    /// `(p_vu + Σ_{w ∈ N(v)} p_vw p_wu)²` with `p_xy = [x ~ y]/d_x`, and
    /// effective size `|E| − 2·size(E)/|E|` for the ego network E without v.
    fn literal(t: &Topology, v: usize) -> (Option<f64>, Option<f64>) {
        let nv = t.neighbours(v);
        if nv.is_empty() {
            return (None, None);
        }
        let p = |x: usize, y: usize| {
            if t.neighbours(x).contains(&y) {
                1.0 / t.degree(x) as f64
            } else {
                0.0
            }
        };
        let constraint = nv
            .iter()
            .map(|&u| (p(v, u) + nv.iter().map(|&w| p(v, w) * p(w, u)).sum::<f64>()).powi(2))
            .sum();
        let ties_among = nv
            .iter()
            .map(|&a| {
                nv.iter()
                    .filter(|&&b| b > a && t.neighbours(a).contains(&b))
                    .count()
            })
            .sum::<usize>() as f64;
        let size = nv.len() as f64;
        (Some(constraint), Some(size - 2.0 * ties_among / size))
    }

    proptest! {
        #[test]
        fn equals_the_literal_definitions(
            n in 1usize..25,
            raw in prop::collection::vec((0usize..25, 0usize..25), 0..120),
        ) {
            let t = Topology::new(n, raw.into_iter().map(|(a, b)| (a % n, b % n)));
            for (v, (constraint, size)) in structural_holes(&t, &Cancel::never()).into_iter().enumerate() {
                let (c, e) = literal(&t, v);
                prop_assert_eq!(constraint.is_some(), c.is_some());
                prop_assert_eq!(size.is_some(), e.is_some());
                if let (Some(a), Some(b)) = (constraint, c) {
                    prop_assert!((a - b).abs() < 1e-12);
                }
                if let (Some(a), Some(b)) = (size, e) {
                    prop_assert!((a - b).abs() < 1e-12);
                }
            }
        }
    }
}
