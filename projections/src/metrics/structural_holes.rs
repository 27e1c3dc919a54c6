//! Burt's constraint and effective size on an unweighted topology, from the
//! common neighbours of each edge's endpoints.

use super::Topology;

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
pub(crate) fn structural_holes(t: &Topology) -> Vec<(Option<f64>, Option<f64>)> {
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

/// Calls `common` with each item of both ascending, duplicate-free lists:
/// binary search of the shorter list's items in the longer one when that is
/// cheaper, a linear merge otherwise.
pub(crate) fn sorted_intersection<T: Ord + Copy>(x: &[T], y: &[T], mut common: impl FnMut(T)) {
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
            for (v, (constraint, size)) in structural_holes(&t).into_iter().enumerate() {
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
