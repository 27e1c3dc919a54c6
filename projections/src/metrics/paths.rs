//! Shortest-path centralities — betweenness and closeness — from
//! breadth-first searches: from every node (exact) or from a seeded sample
//! of pivots (estimated).
//!
//! rustworkx-core has both centralities, and the tests check these against
//! them, but they are not used here: its betweenness adds each source's
//! dependencies under a lock in thread-scheduling order, so two runs differ
//! in the last bits (a rebuilt projection must equal the original), its
//! closeness makes a second all-pairs pass with a hash map per source, and
//! neither samples. One search per source here yields both, and the sums
//! are taken in a fixed order whatever the number of threads.

use rand::seq::index;
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha8Rng;

use super::{Estimate, Topology};
use crate::cancel::Cancel;

/// The sampled accumulation is split into this many chunks of pivots, each
/// summed in pivot order and then added up in chunk order, so a result does
/// not depend on how many threads ran it.
const CHUNKS: usize = 8;

/// Stream of the ChaCha generator that draws pivots (Louvain uses another).
pub(crate) const PIVOT_STREAM: u64 = 1;

const UNSEEN: u32 = u32::MAX;

/// Betweenness and closeness of every node, and how they were obtained.
pub(crate) struct PathCentralities {
    pub betweenness: Vec<f64>,
    pub closeness: Vec<f64>,
    pub estimate: Estimate,
}

/// Exact betweenness and closeness: a search from every node.
pub(crate) fn exact(
    t: &Topology,
    component_of: &[usize],
    component_size: &[usize],
    cancel: &Cancel,
) -> PathCentralities {
    let all: Vec<usize> = (0..t.node_count()).collect();
    let (betweenness, closeness) = from_sources(t, &all, component_of, component_size, cancel);
    PathCentralities {
        betweenness,
        closeness,
        estimate: Estimate::Exact,
    }
}

/// Betweenness and closeness estimated from `k` (at least 2, below n)
/// pivots drawn with `seed`; see the module docs of [`crate::metrics`].
pub(crate) fn sampled(
    t: &Topology,
    k: usize,
    seed: u64,
    component_of: &[usize],
    component_size: &[usize],
    cancel: &Cancel,
) -> PathCentralities {
    let pivots = pivots(t.node_count(), k, seed);
    let (betweenness, closeness) = from_sources(t, &pivots, component_of, component_size, cancel);
    PathCentralities {
        betweenness,
        closeness,
        estimate: Estimate::Sampled {
            pivots: pivots.len(),
            seed,
        },
    }
}

/// `k` distinct pivots drawn uniformly from `0..n` by ChaCha8 seeded with
/// `seed` (stream [`PIVOT_STREAM`]), in ascending order.
pub(crate) fn pivots(n: usize, k: usize, seed: u64) -> Vec<usize> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(PIVOT_STREAM);
    let mut chosen = index::sample(&mut rng, n, k.min(n)).into_vec();
    chosen.sort_unstable();
    chosen
}

/// Betweenness and closeness from breadth-first searches rooted at
/// `sources` (distinct, ascending; every node for the exact values). With
/// k sources of n nodes:
///
/// - betweenness is networkx's estimator for k sampled sources (3.5+): the
///   dependencies summed over the sources, normalized by `(n − 1)(n − 2)`
///   and scaled by `(n − 1)/k`, except that a source's own dependency is
///   always 0, so a source is scaled from the other `k − 1`. Unbiased, and
///   exact when k = n.
/// - closeness needs the distance sum of v to the `r − 1` other nodes of its
///   component: `(r − 1)/k_v · Σ_p d(p, v)` over the `k_v` sources of that
///   component other than v (exact when every node is a source); a node
///   whose component has no other source gets its own search.
///
/// Once `cancel` is stopped, the searches left are skipped: the figures are
/// then meaningless, and the caller, checking `cancel`, drops them.
fn from_sources(
    t: &Topology,
    sources: &[usize],
    component_of: &[usize],
    component_size: &[usize],
    cancel: &Cancel,
) -> (Vec<f64>, Vec<f64>) {
    let n = t.node_count();
    let k = sources.len();
    if k == 0 {
        return (vec![0.0; n], vec![0.0; n]);
    }

    let g = Compact::new(t);
    let chunk_len = k.div_ceil(CHUNKS);
    let chunks: Vec<&[usize]> = sources.chunks(chunk_len).collect();
    let partials = parallel_map(chunks.len(), |c| {
        let mut acc = Accumulator::new(n);
        let mut scratch = Scratch::new(n);
        for &s in chunks[c] {
            if cancel.check().is_err() {
                break;
            }
            scratch.brandes(&g, s, &mut acc);
        }
        acc
    });
    let mut dependency = vec![0.0f64; n];
    let mut distance_sum = vec![0u64; n];
    for part in &partials {
        for v in 0..n {
            dependency[v] += part.dependency[v];
            distance_sum[v] += part.distance_sum[v];
        }
    }

    let mut is_source = vec![false; n];
    for &p in sources {
        is_source[p] = true;
    }

    let mut betweenness = dependency;
    if n > 2 {
        let pairs = (n - 2) as f64;
        let as_other = 1.0 / (k as f64 * pairs);
        let as_source = if k > 1 {
            1.0 / ((k - 1) as f64 * pairs)
        } else {
            0.0
        };
        for (v, b) in betweenness.iter_mut().enumerate() {
            *b *= if is_source[v] { as_source } else { as_other };
        }
    }

    let mut sources_in = vec![0usize; component_size.len()];
    for &p in sources {
        sources_in[component_of[p]] += 1;
    }
    let mut scratch = Scratch::new(n);
    let closeness = (0..n)
        .map(|v| {
            let r = component_size[component_of[v]];
            if r <= 1 {
                return 0.0;
            }
            let others = sources_in[component_of[v]] - usize::from(is_source[v]);
            let total = if others == r - 1 {
                distance_sum[v] as f64
            } else if others == 0 {
                if cancel.check().is_err() {
                    return 0.0;
                }
                scratch.distance_sum(&g, v) as f64
            } else {
                distance_sum[v] as f64 * (r - 1) as f64 / others as f64
            };
            let reach = (r - 1) as f64;
            (reach / total) * (reach / (n - 1) as f64)
        })
        .collect();
    (betweenness, closeness)
}

/// What the searches of one chunk of pivots add up.
struct Accumulator {
    /// Σ over the chunk's pivots s of Brandes's dependency δ_s(v).
    dependency: Vec<f64>,
    /// Σ over the chunk's pivots s of the distance d(s, v) (0 if unreachable).
    distance_sum: Vec<u64>,
}

impl Accumulator {
    fn new(n: usize) -> Self {
        Self {
            dependency: vec![0.0; n],
            distance_sum: vec![0; n],
        }
    }
}

/// The topology with 32-bit node numbers: half the memory per neighbour
/// for the searches, which spend their time reading neighbour lists.
struct Compact {
    offsets: Vec<u32>,
    adjacency: Vec<u32>,
}

impl Compact {
    /// # Panics
    /// If the graph has 2³² adjacency entries or more.
    fn new(t: &Topology) -> Self {
        let narrow = |x: usize| u32::try_from(x).expect("fewer than 2^32 adjacency entries");
        let mut offsets = Vec::with_capacity(t.node_count() + 1);
        let mut adjacency = Vec::with_capacity(2 * t.edge_count());
        offsets.push(0);
        for v in 0..t.node_count() {
            adjacency.extend(t.neighbours(v).iter().map(|&w| narrow(w)));
            offsets.push(narrow(adjacency.len()));
        }
        Self { offsets, adjacency }
    }

    fn neighbours(&self, v: usize) -> &[u32] {
        &self.adjacency[self.offsets[v] as usize..self.offsets[v + 1] as usize]
    }
}

/// What a search knows of one node; kept together so that visiting a
/// neighbour touches one cache line.
#[derive(Clone, Copy)]
struct Visit {
    distance: u32,
    /// Shortest paths from the source.
    sigma: f64,
    /// Brandes's dependency of the source on this node.
    delta: f64,
}

const UNVISITED: Visit = Visit {
    distance: UNSEEN,
    sigma: 0.0,
    delta: 0.0,
};

/// Per-search state, reset only where the previous search went.
struct Scratch {
    visit: Vec<Visit>,
    /// Nodes in the order the search reached them (also its queue).
    order: Vec<u32>,
}

impl Scratch {
    fn new(n: usize) -> Self {
        Self {
            visit: vec![UNVISITED; n],
            order: Vec::with_capacity(n),
        }
    }

    /// Breadth-first search from `s` counting shortest paths, then Brandes's
    /// dependency accumulation in reverse order (predecessors found by
    /// distance rather than stored).
    fn brandes(&mut self, t: &Compact, s: usize, acc: &mut Accumulator) {
        self.search(t, s);
        let visit = &mut self.visit;
        for &w in self.order.iter().rev() {
            let w = w as usize;
            let Visit {
                distance: dw,
                sigma,
                delta,
            } = visit[w];
            if dw == 0 {
                continue;
            }
            let coeff = (1.0 + delta) / sigma;
            for &v in t.neighbours(w) {
                let p = &mut visit[v as usize];
                // Branch-free: whether v precedes w is as good as random.
                let on_path = if p.distance == dw - 1 { p.sigma } else { 0.0 };
                p.delta += on_path * coeff;
            }
            acc.dependency[w] += delta;
            acc.distance_sum[w] += u64::from(dw);
        }
    }

    /// Σ of the distances from `s` to every node it reaches.
    fn distance_sum(&mut self, t: &Compact, s: usize) -> u64 {
        self.search(t, s);
        self.order
            .iter()
            .map(|&v| u64::from(self.visit[v as usize].distance))
            .sum()
    }

    fn search(&mut self, t: &Compact, s: usize) {
        for &v in &self.order {
            self.visit[v as usize] = UNVISITED;
        }
        self.order.clear();
        self.visit[s] = Visit {
            distance: 0,
            sigma: 1.0,
            delta: 0.0,
        };
        self.order.push(s as u32);
        let mut head = 0;
        while head < self.order.len() {
            let v = self.order[head] as usize;
            head += 1;
            let Visit {
                distance, sigma, ..
            } = self.visit[v];
            let next = distance + 1;
            for &w in t.neighbours(v) {
                let q = &mut self.visit[w as usize];
                if q.distance == UNSEEN {
                    q.distance = next;
                    self.order.push(w);
                }
                // Branch-free: whether w is one step further is as good as random.
                q.sigma += if q.distance == next { sigma } else { 0.0 };
            }
        }
    }
}

/// `f(0), …, f(count − 1)` computed on up to as many threads as the machine
/// has cores, returned in index order.
fn parallel_map<T: Send>(count: usize, f: impl Fn(usize) -> T + Sync) -> Vec<T> {
    let workers = std::thread::available_parallelism()
        .map_or(1, |p| p.get())
        .min(count);
    if workers <= 1 {
        return (0..count).map(f).collect();
    }
    let f = &f;
    let mut results: Vec<(usize, T)> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..workers)
            .map(|w| {
                scope.spawn(move || {
                    (w..count)
                        .step_by(workers)
                        .map(|i| (i, f(i)))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("a metrics worker panicked"))
            .collect()
    });
    results.sort_by_key(|(i, _)| *i);
    results.into_iter().map(|(_, r)| r).collect()
}

#[cfg(test)]
mod tests {
    use rustworkx_core::centrality::{betweenness_centrality, closeness_centrality};

    use super::super::tests::random_graph;
    use super::super::{compute, connectivity, MetricsConfig};
    use super::*;

    /// rustworkx-core's exact centralities, as networkx defines them.
    fn rustworkx(t: &Topology) -> (Vec<f64>, Vec<f64>) {
        let g = t.to_petgraph();
        let b = betweenness_centrality(&g, false, true, 50);
        let c = closeness_centrality(&g, true, 50);
        (
            b.into_iter().map(Option::unwrap).collect(),
            c.into_iter().map(Option::unwrap).collect(),
        )
    }

    fn from(t: &Topology, sources: &[usize]) -> (Vec<f64>, Vec<f64>) {
        let (component_of, sizes) = connectivity::components(t);
        from_sources(t, sources, &component_of, &sizes, &Cancel::never())
    }

    /// A random graph plus a triangle with a tail, a lone edge and an isolate.
    fn awkward() -> Topology {
        let mut edges: Vec<(usize, usize)> = random_graph(80, 200, 5).edges().collect();
        edges.extend([(80, 81), (82, 83), (83, 84), (84, 82), (84, 85)]);
        Topology::new(87, edges)
    }

    #[test]
    fn exact_equals_rustworkx() {
        let t = awkward();
        let (component_of, sizes) = connectivity::components(&t);
        let ours = exact(&t, &component_of, &sizes, &Cancel::never());
        let (b, c) = rustworkx(&t);
        for v in 0..t.node_count() {
            assert!(
                (ours.betweenness[v] - b[v]).abs() < 1e-12,
                "betweenness of {v}"
            );
            assert!((ours.closeness[v] - c[v]).abs() < 1e-12, "closeness of {v}");
        }
    }

    #[test]
    fn exact_is_the_same_bits_every_time() {
        let t = random_graph(300, 900, 8);
        let (component_of, sizes) = connectivity::components(&t);
        let first = exact(&t, &component_of, &sizes, &Cancel::never());
        for _ in 0..3 {
            let again = exact(&t, &component_of, &sizes, &Cancel::never());
            assert_eq!(again.betweenness, first.betweenness);
            assert_eq!(again.closeness, first.closeness);
        }
    }

    #[test]
    fn closeness_without_another_pivot_in_the_component_is_exact() {
        // Pivots 0 and 1 lie in the first path; the second path has none.
        let t = Topology::new(8, [(0, 1), (1, 2), (2, 3), (4, 5), (5, 6), (6, 7)]);
        let (_, ours) = from(&t, &[0, 1]);
        let (_, theirs) = rustworkx(&t);
        for v in 4..8 {
            assert!((ours[v] - theirs[v]).abs() < 1e-15);
        }
        // Node 0's only other pivot is 1, at distance 1: Σd ≈ 3 · 1.
        assert!((ours[0] - (3.0 / 3.0) * (3.0 / 7.0)).abs() < 1e-15);
    }

    /// The tolerances are derived, not guessed. The betweenness estimate of
    /// node v is a mean of k draws without replacement among the other
    /// n − 1 sources of the per-source dependency δ_s(v), whose standard
    /// deviation σ_v is computed here from every source; its standard error
    /// is σ_v/√k · √((n − 1 − k)/(n − 2)). Closeness likewise estimates the
    /// distance sum from the k_v pivots among the r − 1 other nodes of v's
    /// component. Every node must fall within 5 standard errors of the
    /// truth on both (a miss has a chance under 1e-6 per node).
    #[test]
    fn sampled_estimates_are_within_five_standard_errors() {
        let (n, k) = (600, 150);
        let t = random_graph(n, 2_400, 7);
        let (component_of, sizes) = connectivity::components(&t);
        let mut dependency = vec![vec![0.0; n]; n];
        let mut distance = vec![vec![0u64; n]; n];
        let mut scratch = Scratch::new(n);
        let g = Compact::new(&t);
        for s in 0..n {
            let mut acc = Accumulator::new(n);
            scratch.brandes(&g, s, &mut acc);
            dependency[s] = acc.dependency;
            distance[s] = acc.distance_sum;
        }
        let cfg = MetricsConfig {
            exact_limit: 100,
            pivots: k,
            seed: 3,
            ..MetricsConfig::default()
        };
        let (estimate, _) = compute(&t, &cfg);
        let pivots = pivots(n, k, 3);

        /// Mean and standard error of the mean of `k` draws without
        /// replacement from `population`.
        fn mean_and_se(population: &[f64], k: usize) -> (f64, f64) {
            let size = population.len() as f64;
            let mean = population.iter().sum::<f64>() / size;
            let var = population.iter().map(|d| (d - mean).powi(2)).sum::<f64>() / size;
            let fpc = ((size - k as f64) / (size - 1.0)).max(0.0).sqrt();
            (mean, var.sqrt() / (k as f64).sqrt() * fpc)
        }
        let check = |what: &str, v: usize, got: f64, truth: f64, se: f64| {
            if se == 0.0 {
                assert!((got - truth).abs() < 1e-12, "{what} of {v}");
            } else {
                let z = (got - truth).abs() / se;
                assert!(z < 5.0, "{what} of {v} is {z:.1} standard errors off");
            }
        };

        let pairs = ((n - 1) * (n - 2)) as f64;
        for v in 0..n {
            let others: Vec<usize> = (0..n).filter(|&s| s != v).collect();
            let draws: Vec<f64> = others.iter().map(|&s| dependency[s][v]).collect();
            let (mean, se) = mean_and_se(&draws, k);
            let scale = (n - 1) as f64 / pairs;
            check(
                "betweenness",
                v,
                estimate[v].betweenness,
                mean * scale,
                se * scale,
            );

            let r = sizes[component_of[v]];
            let mates: Vec<usize> = others
                .into_iter()
                .filter(|&u| component_of[u] == component_of[v])
                .collect();
            let k_v = pivots
                .iter()
                .filter(|&&p| p != v && component_of[p] == component_of[v])
                .count();
            let draws: Vec<f64> = mates.iter().map(|&u| distance[u][v] as f64).collect();
            let (mean, se) = mean_and_se(&draws, k_v);
            let reach = (r - 1) as f64;
            let sum_estimate = reach * reach / ((n - 1) as f64 * estimate[v].closeness);
            check("closeness", v, sum_estimate, mean * reach, se * reach);
        }
    }
}
