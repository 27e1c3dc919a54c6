//! Eigenvector centrality by power iteration on `A + I`, as networkx does.
//!
//! rustworkx-core's `eigenvector_centrality` runs the same iteration but
//! answers `None` when `max_iter` steps pass without convergence, dropping
//! the iterate; here the last iterate is kept and the caller is told
//! ([`PowerIteration`]). The tests compare the two where both converge.

use super::{PowerIteration, Topology};
use crate::cancel::Cancel;

/// The iterate after convergence (or after `max_iter` steps), with unit
/// Euclidean norm, and how the iteration ended.
///
/// Starts from the uniform vector and repeats `x ← (A + I)x / ‖(A + I)x‖₂`
/// until `Σ|xₜ − xₜ₋₁| < n · tol` (networkx's rule). `A + I` has the same
/// eigenvectors as `A` and, being primitive on a connected graph, no
/// oscillating bipartite component: the limit is the Perron vector of `A`.
///
/// Once `cancel` is stopped, the iteration ends where it is (the caller,
/// checking `cancel`, drops the result).
pub(crate) fn eigenvector(
    t: &Topology,
    max_iter: usize,
    tol: f64,
    cancel: &Cancel,
) -> (Vec<f64>, PowerIteration) {
    let n = t.node_count();
    if n == 0 {
        return (
            Vec::new(),
            PowerIteration {
                iterations: 0,
                converged: true,
            },
        );
    }
    let mut x = vec![1.0 / n as f64; n];
    let mut next = vec![0.0; n];
    for iteration in 1..=max_iter {
        if cancel.check().is_err() {
            break;
        }
        for (v, out) in next.iter_mut().enumerate() {
            *out = x[v] + t.neighbours(v).iter().map(|&u| x[u]).sum::<f64>();
        }
        let norm = next.iter().map(|y| y * y).sum::<f64>().sqrt();
        for y in next.iter_mut() {
            *y /= norm;
        }
        let change: f64 = next.iter().zip(&x).map(|(a, b)| (a - b).abs()).sum();
        std::mem::swap(&mut x, &mut next);
        if change < n as f64 * tol {
            return (
                x,
                PowerIteration {
                    iterations: iteration,
                    converged: true,
                },
            );
        }
    }
    (
        x,
        PowerIteration {
            iterations: max_iter,
            converged: false,
        },
    )
}

#[cfg(test)]
mod tests {
    use rustworkx_core::centrality::eigenvector_centrality;

    use super::super::tests::random_graph;
    use super::*;

    fn rustworkx(t: &Topology) -> Vec<f64> {
        eigenvector_centrality(
            &t.to_petgraph(),
            |_| Ok::<f64, ()>(1.0),
            Some(10_000),
            Some(1e-12),
        )
        .unwrap()
        .expect("rustworkx converges")
    }

    #[test]
    fn equals_rustworkx_where_both_converge() {
        // Connected, and with a smaller second component that decays.
        let mut edges: Vec<(usize, usize)> = random_graph(200, 800, 9).edges().collect();
        edges.extend([(200, 201), (201, 202), (202, 200)]);
        for t in [random_graph(200, 800, 9), Topology::new(203, edges)] {
            let (ours, run) = eigenvector(&t, 1_000, 1e-12, &Cancel::never());
            assert!(run.converged);
            let theirs = rustworkx(&t);
            for (a, b) in ours.iter().zip(&theirs) {
                assert!((a - b).abs() < 1e-10, "{a} vs {b}");
            }
            let norm: f64 = ours.iter().map(|x| x * x).sum();
            assert!((norm - 1.0).abs() < 1e-12);
        }
    }

    #[test]
    fn bipartite_graph_converges_thanks_to_the_shift() {
        // A star: iterating A alone would swing between centre and leaves
        // (eigenvalues ±√5). The limit: centre 1/√2, each leaf 1/√10.
        let t = Topology::new(6, (1..6).map(|leaf| (0, leaf)));
        let (x, run) = eigenvector(&t, 1_000, 1e-12, &Cancel::never());
        assert!(run.converged);
        assert!((x[0] - 0.5f64.sqrt()).abs() < 1e-10);
        assert!(x[1..].iter().all(|v| (v - 0.1f64.sqrt()).abs() < 1e-10));
    }
}
