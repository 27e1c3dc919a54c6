//! Graph metrics on a [`Topology`]: the simple, undirected, unweighted graph
//! of the ties present at one time.
//!
//! **Owns** the structural measures of PRODUCT.md §4 — degree, betweenness,
//! closeness, eigenvector centrality, core number, Burt's constraint and
//! effective size, Louvain communities and their modularity, density,
//! components, articulation points, bridges and the E-I index — each defined
//! as networkx (3.6) defines it by default, and checked against it by the
//! golden tests (`tests/golden.rs`, fixtures written by
//! `scripts/golden_metrics.py`).
//!
//! **Must not** know events, stakeholders, tie strengths or time: a caller
//! (the network projection) numbers its nodes `0..n` and hands over the
//! present ties. Nodes are plain indices and results are plain vectors.
//!
//! # Definitions
//! With `n` nodes, `m` edges, `d_v` the degree and `N(v)` the neighbours of v:
//! - **density** `2m / (n(n − 1))`, 0 when `n < 2` (`nx.density`).
//! - **betweenness** `Σ_{s≠v≠t} σ_st(v)/σ_st`, normalized by
//!   `(n − 1)(n − 2)` over ordered pairs, endpoints excluded
//!   (`nx.betweenness_centrality`; Brandes 2001, *J. Math. Sociol.* 25:163).
//! - **closeness** `(r − 1)/Σ_u d(v, u) · (r − 1)/(n − 1)`, `r` the size of
//!   v's component, 0 for an isolate (`nx.closeness_centrality`,
//!   Wasserman & Faust's improved formula).
//! - **eigenvector** the principal eigenvector of the adjacency matrix, unit
//!   Euclidean norm, by power iteration on `A + I` from the uniform vector
//!   until `Σ|Δx| < n · tol` (`nx.eigenvector_centrality`; Bonacich 1987).
//!   On a disconnected graph the iteration, like networkx's, converges to the
//!   Perron vector of the component of largest spectral radius and the other
//!   components decay towards 0 (to the order of `tol`); if several
//!   components tie, the limit mixes them as the uniform start projects on
//!   them. A graph without edges gives `1/√n` everywhere. If `max_iter`
//!   steps do not converge, the last iterate is returned and
//!   [`NetworkMetrics::eigenvector`] says so (networkx would raise).
//! - **core number** the largest k such that v is in the k-core
//!   (`nx.core_number`; Batagelj & Zaversnik 2003).
//! - **constraint** `Σ_{u∈N(v)} (p_vu + Σ_w p_vw p_wu)²` with
//!   `p_vu = 1/d_v` (`nx.constraint`; Burt 1992, *Structural Holes*);
//!   **effective size** `d_v − 2t_v/d_v`, `t_v` the ties among v's
//!   neighbours (`nx.effective_size`; Borgatti 1997). Both are `None` for an
//!   isolate, where networkx gives NaN.
//! - **communities** Louvain (Blondel et al. 2008, *J. Stat. Mech.* P10008)
//!   as `nx.community.louvain_communities` (resolution 1, threshold 1e-7),
//!   nodes visited in an order shuffled by a seeded ChaCha8 generator, with
//!   a queue of nodes to revisit instead of full passes (Traag et al. 2019);
//!   the partition differs from networkx's for the same seed, its
//!   modularity is as good (tested within 0.02, equal on average);
//!   **modularity** `Σ_c [L_c/m − (D_c/2m)²]` (Newman 2006).
//! - **E-I index** `(E − I)/(E + I)` over edges between (E) and within (I)
//!   groups (Krackhardt & Stern 1988, *Soc. Psychol. Q.* 51:123).
//!
//! # Exact or sampled betweenness and closeness
//! Up to [`MetricsConfig::exact_limit`] nodes (default 5,000) betweenness
//! and closeness are exact (a breadth-first search from every node,
//! `O(nm)`). Above it both come
//! from `k` = [`MetricsConfig::pivots`] (default 256) breadth-first searches
//! from distinct pivots drawn uniformly by a seeded ChaCha8 generator:
//! - betweenness: Brandes's dependencies of the pivots, scaled by `n/k`
//!   (Brandes & Pich 2007, *Int. J. Bifurc. Chaos* 17:2303), with networkx's
//!   refinement that a pivot is scaled from the other `k − 1`: unbiased.
//! - closeness: the distance sum of v is `(r − 1)/k_v · Σ_p d(p, v)` over the
//!   `k_v` pivots of v's component other than v (Eppstein & Wang 2004,
//!   *J. Graph Algorithms Appl.* 8:39); a node whose component holds no other
//!   pivot gets its own exact search.
//!
//! **Error.** Each estimate is a mean over `k` sampled sources, so its
//! standard error is `σ/√k` (times `√((n−k)/n)` for sampling without
//! replacement), σ being the spread of the per-source terms. For closeness
//! the terms are distances, whose spread is a fraction of their mean: the
//! relative error is about 1% at `k = 256` (measured on 10,000-node,
//! 50,000-edge random and preferential-attachment graphs: mean 0.7%,
//! worst node 4.5%). For betweenness the terms are dependencies, heavy
//! tailed (a source next to v weighs much more than a far one), with σ about
//! 1.5–3 times the mean for the high-betweenness nodes: a relative error of
//! 10–20% at `k = 256` (measured: 9 of the 10 top brokers of the
//! preferential-attachment graph found, each within 40%; mean 25% over the
//! top 100), larger relative but small absolute errors for nodes of little
//! betweenness. Where betweenness is nearly uniform (a random graph) the
//! ranks are mostly noise. Halving the error costs four times the pivots.
//!
//! **Defaults.** 256 pivots keep every metric of a 10,000-node,
//! 50,000-edge graph at about 0.16–0.19 s in release on two idle cores
//! (0.3–0.6 s measured while other builds shared them; the searches take
//! two thirds of it), well under the one-second budget. The seed (42) fixes
//! the pivots, and the sums are taken in a fixed order, so a result is the
//! same bit for bit on every run and machine. Exact betweenness and
//! closeness on 5,000 nodes and 25,000 edges take 1–2 s.
//!
//! **Reuse.** rustworkx-core computes core numbers, articulation points and
//! bridges, petgraph the components. Betweenness, closeness and eigenvector
//! centrality are written here although rustworkx-core has them (the tests
//! compare against it): its parallel betweenness sums in thread-scheduling
//! order, so two runs differ in the last bits, its closeness is a second
//! all-pairs pass, neither samples, and its eigenvector centrality drops the
//! iterate when it does not converge (`metrics/paths.rs`,
//! `metrics/eigenvector.rs`). Louvain is written here too
//! (`metrics/louvain.rs` says which crates were weighed).

mod connectivity;
mod eigenvector;
mod louvain;
mod paths;
mod structural_holes;
mod topology;

use crate::cancel::{Cancel, Stopped};

pub use louvain::modularity;
pub use topology::Topology;

/// The communities of `t`'s nodes (Louvain, seeded as [`compute`] seeds it:
/// the same numbers as its `community`), without the other metrics.
pub fn communities(t: &Topology, seed: u64) -> Vec<usize> {
    louvain::louvain(t, seed, &Cancel::never())
}

/// Settings of [`compute`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MetricsConfig {
    /// Largest node count with exact betweenness and closeness (default
    /// 5,000: exact costs `O(nm)`, 1–2 s there on two cores).
    pub exact_limit: usize,
    /// Pivot sources for sampled betweenness and closeness above
    /// `exact_limit` (default 256; at least 2 are used; as many as there are
    /// nodes makes the result exact).
    pub pivots: usize,
    /// Seed of the pivots and of Louvain's visiting order (default 42).
    pub seed: u64,
    /// Power-iteration steps for eigenvector centrality (default 1,000).
    pub eigenvector_max_iter: usize,
    /// Tolerance of the power iteration, per node (default 1e-12).
    pub eigenvector_tol: f64,
}

impl Default for MetricsConfig {
    fn default() -> Self {
        Self {
            exact_limit: 5_000,
            pivots: 256,
            seed: 42,
            eigenvector_max_iter: 1_000,
            eigenvector_tol: 1e-12,
        }
    }
}

/// How a path centrality was obtained.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Estimate {
    /// From every node as a source.
    Exact,
    /// From `pivots` sources drawn with `seed`.
    Sampled { pivots: usize, seed: u64 },
}

/// How the eigenvector power iteration ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PowerIteration {
    /// Steps taken.
    pub iterations: usize,
    /// Whether the change fell below the tolerance within the step limit.
    pub converged: bool,
}

/// The metrics of one node.
#[derive(Debug, Clone, PartialEq)]
pub struct NodeMetrics {
    pub degree: usize,
    /// Normalized shortest-path betweenness, in [0, 1].
    pub betweenness: f64,
    /// Wasserman–Faust closeness, in [0, 1].
    pub closeness: f64,
    /// Component of the unit-norm principal eigenvector, in [0, 1].
    pub eigenvector: f64,
    pub core_number: usize,
    /// Burt's constraint; `None` for an isolate.
    pub constraint: Option<f64>,
    /// Borgatti's effective size; `None` for an isolate.
    pub effective_size: Option<f64>,
    /// Louvain community, numbered by smallest member.
    pub community: usize,
}

/// The metrics of the whole network.
#[derive(Debug, Clone, PartialEq)]
pub struct NetworkMetrics {
    pub nodes: usize,
    pub edges: usize,
    pub density: f64,
    /// Number of connected components.
    pub components: usize,
    /// Component of each node, numbered by smallest member.
    pub component_of: Vec<usize>,
    /// Ascending.
    pub articulation_points: Vec<usize>,
    /// `(a, b)` with `a < b`, ascending.
    pub bridges: Vec<(usize, usize)>,
    /// Number of Louvain communities.
    pub communities: usize,
    /// Modularity of the Louvain partition (0 without edges).
    pub modularity: f64,
    pub betweenness: Estimate,
    pub closeness: Estimate,
    pub eigenvector: PowerIteration,
}

/// Every metric of every node, and of the network.
pub fn compute(t: &Topology, cfg: &MetricsConfig) -> (Vec<NodeMetrics>, NetworkMetrics) {
    compute_within(t, cfg, &Cancel::never()).expect("a computation that is never stopped")
}

/// [`compute`], giving up soon after `cancel` is stopped: the searches, the
/// power iteration, Louvain's passes and the structural holes check it
/// between steps.
pub fn compute_within(
    t: &Topology,
    cfg: &MetricsConfig,
    cancel: &Cancel,
) -> Result<(Vec<NodeMetrics>, NetworkMetrics), Stopped> {
    cancel.check()?;
    let n = t.node_count();
    let g = t.to_petgraph();
    let (component_of, component_size) = connectivity::components(t);

    // Shortest paths (the bulk of the work on large networks) run on their
    // own thread beside the other metrics; every result is the same as
    // computed one after the other.
    let k = cfg.pivots.max(2);
    let (paths, (eigenvector, power), cores, holes, community, articulation_points, bridges) =
        std::thread::scope(|scope| {
            let paths = scope.spawn(|| {
                if n <= cfg.exact_limit || k >= n {
                    paths::exact(t, &component_of, &component_size, cancel)
                } else {
                    paths::sampled(t, k, cfg.seed, &component_of, &component_size, cancel)
                }
            });
            let eigenvector =
                eigenvector::eigenvector(t, cfg.eigenvector_max_iter, cfg.eigenvector_tol, cancel);
            let cores = connectivity::core_numbers(&g);
            let holes = structural_holes::structural_holes(t, cancel);
            let community = louvain::louvain(t, cfg.seed, cancel);
            let articulation_points = connectivity::cut_vertices(&g);
            let bridges = connectivity::cut_edges(&g);
            (
                paths
                    .join()
                    .expect("the shortest-path thread does not panic"),
                eigenvector,
                cores,
                holes,
                community,
                articulation_points,
                bridges,
            )
        });
    // What was cut short is meaningless: dropped here.
    cancel.check()?;
    let communities = community.iter().max().map_or(0, |c| c + 1);

    let nodes = (0..n)
        .map(|v| NodeMetrics {
            degree: t.degree(v),
            betweenness: paths.betweenness[v],
            closeness: paths.closeness[v],
            eigenvector: eigenvector[v],
            core_number: cores[v],
            constraint: holes[v].0,
            effective_size: holes[v].1,
            community: community[v],
        })
        .collect();
    let network = NetworkMetrics {
        nodes: n,
        edges: t.edge_count(),
        density: density(n, t.edge_count()),
        components: component_size.len(),
        component_of,
        articulation_points,
        bridges,
        communities,
        modularity: modularity(t, &community),
        betweenness: paths.estimate,
        closeness: paths.estimate,
        eigenvector: power,
    };
    Ok((nodes, network))
}

/// `2m / (n(n − 1))`, 0 below two nodes.
fn density(n: usize, m: usize) -> f64 {
    if n < 2 {
        0.0
    } else {
        2.0 * m as f64 / (n as f64 * (n - 1) as f64)
    }
}

/// Krackhardt–Stern E-I index of the edges given a group per node:
/// `(E − I) / (E + I)` with E the edges between groups and I those within;
/// −1 when every tie stays inside its group, +1 when every tie crosses.
/// `None` without edges.
///
/// # Panics
/// If `group_of` does not have one entry per node.
pub fn ei_index(t: &Topology, group_of: &[usize]) -> Option<f64> {
    assert_eq!(
        group_of.len(),
        t.node_count(),
        "one group per node is needed"
    );
    let (mut external, mut internal) = (0usize, 0usize);
    for (a, b) in t.edges() {
        if group_of[a] == group_of[b] {
            internal += 1;
        } else {
            external += 1;
        }
    }
    let total = external + internal;
    (total > 0).then(|| (external as f64 - internal as f64) / total as f64)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    const EPS: f64 = 1e-9;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < EPS
    }

    fn exact() -> MetricsConfig {
        MetricsConfig::default()
    }

    /// `G(n, m)`: m distinct edges drawn uniformly by a seeded generator.
    pub(super) fn random_graph(n: usize, m: usize, seed: u64) -> Topology {
        use rand::Rng;
        use rand_chacha::rand_core::SeedableRng;
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        let mut seen = std::collections::HashSet::new();
        while seen.len() < m {
            let (a, b) = (rng.random_range(0..n), rng.random_range(0..n));
            if a != b {
                seen.insert((a.min(b), a.max(b)));
            }
        }
        Topology::new(n, seen)
    }

    fn pearson(a: &[f64], b: &[f64]) -> f64 {
        let n = a.len() as f64;
        let (ma, mb) = (a.iter().sum::<f64>() / n, b.iter().sum::<f64>() / n);
        let cov: f64 = a.iter().zip(b).map(|(x, y)| (x - ma) * (y - mb)).sum();
        let va: f64 = a.iter().map(|x| (x - ma).powi(2)).sum();
        let vb: f64 = b.iter().map(|y| (y - mb).powi(2)).sum();
        cov / (va * vb).sqrt()
    }

    #[test]
    fn empty_graph_has_empty_metrics() {
        let (nodes, net) = compute(&Topology::new(0, []), &exact());
        assert!(nodes.is_empty());
        assert_eq!((net.nodes, net.edges, net.components), (0, 0, 0));
        assert_eq!(
            (net.density, net.communities, net.modularity),
            (0.0, 0, 0.0)
        );
        assert!(net.articulation_points.is_empty() && net.bridges.is_empty());
        assert_eq!(net.betweenness, Estimate::Exact);
    }

    #[test]
    fn single_node_is_an_isolate_of_its_own() {
        let (nodes, net) = compute(&Topology::new(1, []), &exact());
        assert_eq!(
            nodes,
            vec![NodeMetrics {
                degree: 0,
                betweenness: 0.0,
                closeness: 0.0,
                eigenvector: 1.0,
                core_number: 0,
                constraint: None,
                effective_size: None,
                community: 0,
            }]
        );
        assert_eq!((net.components, net.communities, net.density), (1, 1, 0.0));
        assert_eq!(net.component_of, vec![0]);
    }

    #[test]
    fn path_of_five() {
        let t = Topology::new(5, [(0, 1), (1, 2), (2, 3), (3, 4)]);
        let (nodes, net) = compute(&t, &exact());
        let get = |f: fn(&NodeMetrics) -> f64| nodes.iter().map(f).collect::<Vec<_>>();
        let expect = |got: Vec<f64>, want: [f64; 5]| {
            assert!(
                got.iter().zip(want).all(|(g, w)| close(*g, w)),
                "{got:?} != {want:?}"
            )
        };
        // Pairs through node 1: (0,2) (0,3) (0,4) of C(4, 2) = 6.
        expect(get(|m| m.betweenness), [0.0, 0.5, 4.0 / 6.0, 0.5, 0.0]);
        expect(
            get(|m| m.closeness),
            [0.4, 4.0 / 7.0, 4.0 / 6.0, 4.0 / 7.0, 0.4],
        );
        // sin(kπ/6) normalised: (1, √3, 2, √3, 1) / √12.
        let s = 12f64.sqrt();
        expect(
            get(|m| m.eigenvector),
            [1.0 / s, 3f64.sqrt() / s, 2.0 / s, 3f64.sqrt() / s, 1.0 / s],
        );
        expect(get(|m| m.constraint.unwrap()), [1.0, 0.5, 0.5, 0.5, 1.0]);
        expect(
            get(|m| m.effective_size.unwrap()),
            [1.0, 2.0, 2.0, 2.0, 1.0],
        );
        assert!(nodes.iter().all(|m| m.core_number == 1));
        assert_eq!(net.articulation_points, vec![1, 2, 3]);
        assert_eq!(net.bridges, vec![(0, 1), (1, 2), (2, 3), (3, 4)]);
        assert!(close(net.density, 0.4));
        assert!(net.eigenvector.converged);
    }

    #[test]
    fn star_centre_brokers_everything() {
        let t = Topology::new(5, [(0, 1), (0, 2), (0, 3), (0, 4)]);
        let (nodes, net) = compute(&t, &exact());
        assert!(close(nodes[0].betweenness, 1.0) && close(nodes[1].betweenness, 0.0));
        assert!(close(nodes[0].closeness, 1.0) && close(nodes[1].closeness, 4.0 / 7.0));
        assert!(close(nodes[0].eigenvector, 0.5f64.sqrt()));
        assert!(close(nodes[1].eigenvector, 0.125f64.sqrt()));
        assert_eq!(nodes[0].constraint, Some(0.25));
        assert_eq!(nodes[0].effective_size, Some(4.0));
        assert_eq!(nodes[3].constraint, Some(1.0));
        assert_eq!(nodes[3].effective_size, Some(1.0));
        assert_eq!(net.articulation_points, vec![0]);
        assert_eq!(net.bridges.len(), 4);
    }

    #[test]
    fn two_components_are_numbered_by_smallest_member() {
        // A triangle {1, 2, 4} and an edge {0, 3}.
        let t = Topology::new(5, [(1, 2), (2, 4), (4, 1), (3, 0)]);
        let (nodes, net) = compute(&t, &exact());
        assert_eq!(net.components, 2);
        assert_eq!(net.component_of, vec![0, 1, 1, 0, 1]);
        // Closeness scales by the reachable share: (r−1)/Σd · (r−1)/(n−1).
        assert!(close(nodes[1].closeness, 1.0 * 2.0 / 4.0));
        assert!(close(nodes[0].closeness, 1.0 * 1.0 / 4.0));
        // The triangle (λ = 2) dominates the edge (λ = 1).
        assert!(close(nodes[1].eigenvector, 1.0 / 3f64.sqrt()));
        assert!(nodes[0].eigenvector < 1e-9);
        assert_eq!(net.communities, 2);
        assert_eq!(
            nodes.iter().map(|m| m.community).collect::<Vec<_>>(),
            vec![0, 1, 1, 0, 1]
        );
        // Triangle: 3/4 − (6/8)²; edge: 1/4 − (2/8)².
        assert!(close(net.modularity, 0.1875 + 0.1875));
        assert!(net.articulation_points.is_empty());
        assert_eq!(net.bridges, vec![(0, 3)]);
    }

    #[test]
    fn isolates_have_no_constraint_or_effective_size() {
        let t = Topology::new(4, [(0, 1)]);
        let (nodes, net) = compute(&t, &exact());
        for isolate in &nodes[2..] {
            assert_eq!((isolate.constraint, isolate.effective_size), (None, None));
            assert_eq!((isolate.closeness, isolate.core_number), (0.0, 0));
        }
        assert_eq!(nodes[0].constraint, Some(1.0));
        assert_eq!(net.components, 3);
        assert_eq!(net.communities, 3);
    }

    #[test]
    fn edgeless_graph_has_uniform_eigenvector() {
        let (nodes, net) = compute(&Topology::new(4, []), &exact());
        assert!(nodes.iter().all(|m| close(m.eigenvector, 0.5)));
        assert!(net.eigenvector.converged);
    }

    #[test]
    fn unconverged_eigenvector_is_reported() {
        let t = Topology::new(40, (0..39).map(|i| (i, i + 1)));
        let cfg = MetricsConfig {
            eigenvector_max_iter: 5,
            ..exact()
        };
        let (nodes, net) = compute(&t, &cfg);
        assert_eq!(
            net.eigenvector,
            PowerIteration {
                iterations: 5,
                converged: false
            }
        );
        assert!(nodes.iter().all(|m| m.eigenvector > 0.0));
    }

    #[test]
    fn louvain_separates_two_cliques_joined_by_a_bridge() {
        let mut edges = Vec::new();
        for base in [0, 5] {
            for a in base..base + 5 {
                for b in a + 1..base + 5 {
                    edges.push((a, b));
                }
            }
        }
        edges.push((4, 5));
        let t = Topology::new(10, edges);
        for seed in 0..10 {
            let (nodes, net) = compute(&t, &MetricsConfig { seed, ..exact() });
            let community: Vec<usize> = nodes.iter().map(|m| m.community).collect();
            assert_eq!(community, vec![0, 0, 0, 0, 0, 1, 1, 1, 1, 1], "seed {seed}");
            assert!(close(net.modularity, modularity(&t, &community)));
        }
    }

    #[test]
    fn sampled_is_close_to_exact_and_deterministic() {
        let t = random_graph(600, 2_400, 7);
        let (truth, _) = compute(&t, &MetricsConfig { seed: 3, ..exact() });
        let cfg = MetricsConfig {
            exact_limit: 100,
            pivots: 150,
            seed: 3,
            ..exact()
        };
        let (sampled, net) = compute(&t, &cfg);
        assert_eq!(
            net.betweenness,
            Estimate::Sampled {
                pivots: 150,
                seed: 3
            }
        );
        // Each estimate within 5 standard errors of the truth is checked in
        // `paths`; here: both estimates track the truth overall.
        let truth_b: Vec<f64> = truth.iter().map(|m| m.betweenness).collect();
        let est_b: Vec<f64> = sampled.iter().map(|m| m.betweenness).collect();
        assert!(pearson(&truth_b, &est_b) > 0.9);
        let truth_c: Vec<f64> = truth.iter().map(|m| m.closeness).collect();
        let est_c: Vec<f64> = sampled.iter().map(|m| m.closeness).collect();
        assert!(pearson(&truth_c, &est_c) > 0.9);
        // Everything else is exact whatever the sampling.
        for (a, b) in truth.iter().zip(&sampled) {
            assert_eq!(
                (a.degree, a.core_number, a.community),
                (b.degree, b.core_number, b.community)
            );
            assert_eq!((a.eigenvector, a.constraint), (b.eigenvector, b.constraint));
        }
        // Same seed, same bits; another seed, other pivots.
        assert_eq!(compute(&t, &cfg), (sampled.clone(), net));
        let (other, _) = compute(&t, &MetricsConfig { seed: 4, ..cfg });
        assert_ne!(
            other.iter().map(|m| m.betweenness).collect::<Vec<_>>(),
            sampled.iter().map(|m| m.betweenness).collect::<Vec<_>>()
        );
    }

    #[test]
    fn as_many_pivots_as_nodes_is_exact() {
        let t = random_graph(50, 120, 1);
        let cfg = MetricsConfig {
            exact_limit: 10,
            pivots: 50,
            ..exact()
        };
        let (_, net) = compute(&t, &cfg);
        assert_eq!(net.betweenness, Estimate::Exact);
    }

    #[test]
    fn ei_index_counts_ties_across_and_within_groups() {
        // 0-1 within A, 2-3 within B, 1-2 across.
        let t = Topology::new(4, [(0, 1), (2, 3), (1, 2)]);
        assert_eq!(ei_index(&t, &[0, 0, 1, 1]), Some((1.0 - 2.0) / 3.0));
        assert_eq!(ei_index(&t, &[0, 0, 0, 0]), Some(-1.0));
        assert_eq!(ei_index(&t, &[0, 1, 0, 1]), Some(1.0));
        assert_eq!(ei_index(&Topology::new(3, []), &[0, 1, 2]), None);
    }

    #[test]
    fn modularity_of_one_community_is_zero_and_labels_do_not_matter() {
        let t = random_graph(30, 60, 2);
        assert!(close(modularity(&t, &[7; 30]), 0.0));
        let a: Vec<usize> = (0..30).map(|v| v % 3).collect();
        let b: Vec<usize> = (0..30).map(|v| 100 + 5 * (v % 3)).collect();
        assert_eq!(modularity(&t, &a), modularity(&t, &b));
        assert_eq!(modularity(&Topology::new(3, []), &[0, 1, 2]), 0.0);
    }

    /// A cancel whose flag is raised after `checks` checks: stops the
    /// computation in the middle of whatever loop makes that check.
    fn stopped_after(checks: usize) -> Cancel {
        let cancel =
            Cancel::until(std::time::Instant::now() + std::time::Duration::from_secs(3600));
        cancel.stop_after_checks(checks);
        cancel
    }

    #[test]
    fn each_long_loop_of_the_metrics_gives_up_once_stopped() {
        let t = random_graph(400, 1_600, 5);
        // Stopped from the start: nothing is searched, iterated or moved.
        let stopped = stopped_after(0);
        let k = 64;
        let (component_of, component_size) = connectivity::components(&t);
        let paths = paths::sampled(&t, k, 1, &component_of, &component_size, &stopped);
        assert!(paths.betweenness.iter().all(|&b| b == 0.0), "no search ran");
        let (_, run) = eigenvector::eigenvector(&t, 1_000, 1e-12, &stopped);
        assert_eq!(
            (run.iterations, run.converged),
            (1_000, false),
            "no iteration ran"
        );
        assert!(structural_holes::structural_holes(&t, &stopped)
            .iter()
            .all(|&(c, _)| c.is_none_or(|c| c == 0.0)));
        let apart = louvain::louvain(&t, 1, &stopped);
        let whole = louvain::louvain(&t, 1, &Cancel::never());
        assert!(
            apart.iter().max() > whole.iter().max(),
            "stopped before its first pass, Louvain leaves more communities"
        );
        // Stopped in the middle: the whole computation says so.
        let cfg = MetricsConfig {
            exact_limit: 10,
            pivots: k,
            ..exact()
        };
        for checks in [1, 10, 100] {
            assert_eq!(
                compute_within(&t, &cfg, &stopped_after(checks)).err(),
                Some(Stopped::Abandoned),
                "after {checks} checks"
            );
        }
        // Never stopped: the same figures as `compute`.
        let (a, _) = compute(&t, &cfg);
        let (b, _) = compute_within(&t, &cfg, &stopped_after(usize::MAX)).expect("not stopped");
        assert_eq!(format!("{a:?}"), format!("{b:?}"));
    }
}
