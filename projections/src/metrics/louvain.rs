//! Communities by the Louvain method (Blondel et al. 2008), following
//! networkx's `louvain_communities` (resolution 1, threshold 1e-7), and
//! Newman's modularity.
//!
//! No maintained crate fits: `graphrs` 0.12 brings its own graph type keyed
//! by hashable node names, rand 0.8, rand_chacha 0.3 and f32 modularity;
//! `fa-leiden-cd` 0.1 and `single-clustering` 0.7 declare no licence. This
//! one works on [`Topology`] directly, in f64.

use std::collections::{HashMap, VecDeque};

use rand::seq::SliceRandom;
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha8Rng;

use super::Topology;
use crate::cancel::Cancel;

/// Stream of the ChaCha generator that orders Louvain's node visits.
pub(crate) const LOUVAIN_STREAM: u64 = 2;

/// A level stops the method when it raises modularity by no more than this
/// (networkx's default `threshold`).
const THRESHOLD: f64 = 1e-7;

/// Guard against floating-point ties making a level cycle for ever: no
/// level of a real graph visits a node this many times on average.
const MAX_VISITS_PER_NODE: usize = 1_000;

/// Newman's modularity of a partition (resolution 1), as
/// `nx.community.modularity`: `Q = Σ_c [ L_c / m − (D_c / 2m)² ]` with `L_c`
/// the edges inside community `c`, `D_c` the sum of its degrees and `m` the
/// number of edges. Community ids are any labels; 0 for a graph without
/// edges (where networkx divides by zero).
///
/// # Panics
/// If `community_of` does not have one entry per node.
pub fn modularity(t: &Topology, community_of: &[usize]) -> f64 {
    assert_eq!(
        community_of.len(),
        t.node_count(),
        "one community per node is needed"
    );
    let m = t.edge_count() as f64;
    if m == 0.0 {
        return 0.0;
    }
    let mut sums: HashMap<usize, (f64, f64)> = HashMap::new();
    for (v, &c) in community_of.iter().enumerate() {
        sums.entry(c).or_default().1 += t.degree(v) as f64;
    }
    for (a, b) in t.edges() {
        if community_of[a] == community_of[b] {
            sums.entry(community_of[a]).or_default().0 += 1.0;
        }
    }
    let mut q: Vec<f64> = sums
        .into_values()
        .map(|(inside, degrees)| inside / m - (degrees / (2.0 * m)).powi(2))
        .collect();
    // Summed in a fixed order so the value does not depend on hashing.
    q.sort_by(f64::total_cmp);
    q.into_iter().sum()
}

/// The community of each node, numbered `0, 1, …` in the order of their
/// smallest member. Deterministic for a seed: each level visits its nodes in
/// an order shuffled by ChaCha8 seeded with `seed` (stream
/// [`LOUVAIN_STREAM`]). A graph without edges keeps every node apart.
///
/// Once `cancel` is stopped, it ends at the next check with the partition
/// it has (the caller, checking `cancel`, drops it).
pub(crate) fn louvain(t: &Topology, seed: u64, cancel: &Cancel) -> Vec<usize> {
    let n = t.node_count();
    if t.edge_count() == 0 {
        return (0..n).collect();
    }
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(LOUVAIN_STREAM);

    let m = t.edge_count() as f64;
    let mut level = Level::of(t);
    // The level node (community so far) of each original node.
    let mut level_node: Vec<usize> = (0..n).collect();
    let mut q = level.modularity(&level_node, n, m);
    loop {
        let (community, count) = level.one_level(m, &mut rng, cancel);
        let partition: Vec<usize> = level_node.iter().map(|&c| community[c]).collect();
        let new_q = level.modularity(&community, count, m);
        if new_q - q <= THRESHOLD || cancel.check().is_err() {
            return by_smallest_member(&partition);
        }
        q = new_q;
        level = level.aggregate(&community, count);
        level_node = partition;
    }
}

/// Relabels communities `0, 1, …` in the order of their smallest member.
fn by_smallest_member(community_of: &[usize]) -> Vec<usize> {
    let mut label: HashMap<usize, usize> = HashMap::new();
    community_of
        .iter()
        .map(|c| {
            let next = label.len();
            *label.entry(*c).or_insert(next)
        })
        .collect()
}

/// A weighted graph of one level: level 0 is the topology, each later level
/// has one node per community of the level below.
struct Level {
    offsets: Vec<usize>,
    /// Neighbours (no self-loops) and the weight of each tie.
    targets: Vec<usize>,
    weights: Vec<f64>,
    /// Weight of the edges inside each node (its self-loop).
    inside: Vec<f64>,
    /// Weighted degree, a self-loop counting twice: Σ degree = 2m.
    degree: Vec<f64>,
}

impl Level {
    fn of(t: &Topology) -> Self {
        let n = t.node_count();
        let mut offsets = Vec::with_capacity(n + 1);
        offsets.push(0);
        let mut targets = Vec::with_capacity(2 * t.edge_count());
        for v in 0..n {
            targets.extend_from_slice(t.neighbours(v));
            offsets.push(targets.len());
        }
        Self {
            offsets,
            weights: vec![1.0; targets.len()],
            targets,
            inside: vec![0.0; n],
            degree: (0..n).map(|v| t.degree(v) as f64).collect(),
        }
    }

    fn len(&self) -> usize {
        self.inside.len()
    }

    fn ties(&self, v: usize) -> impl Iterator<Item = (usize, f64)> + '_ {
        let range = self.offsets[v]..self.offsets[v + 1];
        self.targets[range.clone()]
            .iter()
            .copied()
            .zip(self.weights[range].iter().copied())
    }

    /// Modularity of a partition of this level's nodes into `count`
    /// communities; equal to that of the induced partition of the topology.
    fn modularity(&self, community: &[usize], count: usize, m: f64) -> f64 {
        let mut inside = vec![0.0; count];
        let mut total = vec![0.0; count];
        for v in 0..self.len() {
            let c = community[v];
            inside[c] += self.inside[v];
            total[c] += self.degree[v];
            for (u, w) in self.ties(v) {
                if u > v && community[u] == c {
                    inside[c] += w;
                }
            }
        }
        (0..count)
            .map(|c| inside[c] / m - (total[c] / (2.0 * m)).powi(2))
            .sum()
    }

    /// One level of local moves, as networkx's `_one_level` but with the
    /// queue of Traag et al.'s fast local move (2019, *Sci. Rep.* 9:5233):
    /// the nodes start in a shuffled queue; a node taken from it moves to
    /// the neighbouring community of largest positive modularity gain, and
    /// its neighbours outside that community rejoin the queue. It stops, as
    /// networkx's passes do, when no node can gain by moving, but revisits
    /// only the nodes whose surroundings changed (networkx re-scans every
    /// node until a whole pass moves none: hundreds of passes on 10k nodes).
    /// Returns the community of each node, numbered `0..count` in the order
    /// of the community's first node.
    fn one_level(&self, m: f64, rng: &mut ChaCha8Rng, cancel: &Cancel) -> (Vec<usize>, usize) {
        let n = self.len();
        let mut community: Vec<usize> = (0..n).collect();
        let mut total = self.degree.clone();
        let mut order: Vec<usize> = (0..n).collect();
        order.shuffle(rng);
        let mut queue: VecDeque<usize> = order.into();
        let mut queued = vec![true; n];
        let mut weight_to = vec![0.0f64; n];
        let mut touched: Vec<usize> = Vec::new();
        let two_m_squared = 2.0 * m * m;
        let mut visits_left = MAX_VISITS_PER_NODE.saturating_mul(n);
        while let Some(v) = queue.pop_front() {
            queued[v] = false;
            visits_left -= 1;
            if visits_left == 0 || (visits_left.is_multiple_of(4096) && cancel.check().is_err()) {
                break;
            }
            let own = community[v];
            let degree = self.degree[v];
            for (u, w) in self.ties(v) {
                let c = community[u];
                if weight_to[c] == 0.0 {
                    touched.push(c);
                }
                weight_to[c] += w;
            }
            total[own] -= degree;
            let remove_cost = -weight_to[own] / m + total[own] * degree / two_m_squared;
            let (mut best, mut best_gain) = (own, 0.0);
            for &c in &touched {
                let gain = remove_cost + weight_to[c] / m - total[c] * degree / two_m_squared;
                if gain > best_gain {
                    best_gain = gain;
                    best = c;
                }
            }
            total[best] += degree;
            for c in touched.drain(..) {
                weight_to[c] = 0.0;
            }
            if best != own {
                community[v] = best;
                for (u, _) in self.ties(v) {
                    if !queued[u] && community[u] != best {
                        queued[u] = true;
                        queue.push_back(u);
                    }
                }
            }
        }
        let mut label = vec![usize::MAX; n];
        let mut used: Vec<bool> = vec![false; n];
        for &c in &community {
            used[c] = true;
        }
        let mut count = 0;
        for c in 0..n {
            if used[c] {
                label[c] = count;
                count += 1;
            }
        }
        (community.iter().map(|&c| label[c]).collect(), count)
    }

    /// The next level: one node per community, ties summed, the edges
    /// inside a community becoming its self-loop.
    fn aggregate(&self, community: &[usize], count: usize) -> Self {
        let mut inside = vec![0.0; count];
        let mut degree = vec![0.0; count];
        let mut between: Vec<(usize, usize, f64)> = Vec::new();
        for v in 0..self.len() {
            let c = community[v];
            inside[c] += self.inside[v];
            degree[c] += self.degree[v];
            for (u, w) in self.ties(v) {
                if u > v {
                    let d = community[u];
                    if c == d {
                        inside[c] += w;
                    } else {
                        between.push((c.min(d), c.max(d), w));
                        between.push((c.max(d), c.min(d), w));
                    }
                }
            }
        }
        between.sort_unstable_by_key(|&(a, b, _)| (a, b));
        let mut offsets = vec![0usize; count + 1];
        let mut targets = Vec::new();
        let mut weights: Vec<f64> = Vec::new();
        let mut previous = None;
        for (a, b, w) in between {
            if previous == Some((a, b)) {
                *weights.last_mut().expect("a previous tie") += w;
            } else {
                targets.push(b);
                weights.push(w);
                offsets[a + 1] += 1;
                previous = Some((a, b));
            }
        }
        for c in 0..count {
            offsets[c + 1] += offsets[c];
        }
        Self {
            offsets,
            targets,
            weights,
            inside,
            degree,
        }
    }
}
