//! [`Topology`]: the simple undirected graph the metrics run on, stored as
//! sorted adjacency lists (compressed sparse rows).

use rustworkx_core::petgraph::graph::{NodeIndex, UnGraph};

/// A simple undirected graph on nodes `0..n`: self-loops and duplicate edges
/// are dropped, so every metric sees at most one tie per pair.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Topology {
    /// `offsets[i]..offsets[i + 1]` indexes the neighbours of `i` in `adjacency`.
    offsets: Vec<usize>,
    /// Neighbour lists, each sorted ascending.
    adjacency: Vec<usize>,
}

impl Topology {
    /// Builds the graph on `n` nodes from edges given in any order and either
    /// orientation.
    ///
    /// # Panics
    /// If an endpoint is not below `n`: the caller numbered its nodes wrongly,
    /// which is a bug, not a user error.
    pub fn new(n: usize, edges: impl IntoIterator<Item = (usize, usize)>) -> Self {
        let mut pairs: Vec<(usize, usize)> = edges
            .into_iter()
            .inspect(|&(a, b)| {
                assert!(
                    a < n && b < n,
                    "edge ({a}, {b}) has an endpoint outside 0..{n}"
                )
            })
            .filter(|&(a, b)| a != b)
            .map(|(a, b)| (a.min(b), a.max(b)))
            .collect();
        pairs.sort_unstable();
        pairs.dedup();

        let mut offsets = vec![0usize; n + 1];
        for &(a, b) in &pairs {
            offsets[a + 1] += 1;
            offsets[b + 1] += 1;
        }
        for i in 0..n {
            offsets[i + 1] += offsets[i];
        }
        let mut next = offsets[..n].to_vec();
        let mut adjacency = vec![0usize; 2 * pairs.len()];
        // Pairs are sorted by (a, b) with a < b: node x first receives its
        // smaller neighbours (as b, in ascending a), then its larger ones (as
        // a, in ascending b), so every list comes out sorted.
        for &(a, b) in &pairs {
            adjacency[next[a]] = b;
            next[a] += 1;
            adjacency[next[b]] = a;
            next[b] += 1;
        }
        Self { offsets, adjacency }
    }

    /// Number of nodes.
    pub fn node_count(&self) -> usize {
        self.offsets.len().saturating_sub(1)
    }

    /// Number of edges (each unordered pair once).
    pub fn edge_count(&self) -> usize {
        self.adjacency.len() / 2
    }

    /// The neighbours of `i`, sorted ascending.
    ///
    /// # Panics
    /// If `i` is not a node.
    pub fn neighbours(&self, i: usize) -> &[usize] {
        &self.adjacency[self.offsets[i]..self.offsets[i + 1]]
    }

    /// The degree of `i`.
    pub fn degree(&self, i: usize) -> usize {
        self.offsets[i + 1] - self.offsets[i]
    }

    /// Every edge once, as `(a, b)` with `a < b`, in ascending order.
    pub fn edges(&self) -> impl Iterator<Item = (usize, usize)> + '_ {
        (0..self.node_count()).flat_map(move |a| {
            self.neighbours(a)
                .iter()
                .filter(move |&&b| b > a)
                .map(move |&b| (a, b))
        })
    }

    /// The same graph as a petgraph `UnGraph`, node `i` at `NodeIndex(i)`,
    /// for the rustworkx-core algorithms.
    pub(crate) fn to_petgraph(&self) -> UnGraph<(), ()> {
        let mut g = UnGraph::with_capacity(self.node_count(), self.edge_count());
        for _ in 0..self.node_count() {
            g.add_node(());
        }
        for (a, b) in self.edges() {
            g.add_edge(NodeIndex::new(a), NodeIndex::new(b), ());
        }
        g
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drops_self_loops_and_duplicates_and_sorts_neighbours() {
        let t = Topology::new(4, [(2, 0), (0, 2), (1, 1), (3, 0), (0, 1), (2, 3)]);
        assert_eq!(t.node_count(), 4);
        assert_eq!(t.edge_count(), 4);
        assert_eq!(t.neighbours(0), &[1, 2, 3]);
        assert_eq!(t.neighbours(1), &[0]);
        assert_eq!(t.neighbours(2), &[0, 3]);
        assert_eq!(t.neighbours(3), &[0, 2]);
        assert_eq!(
            t.edges().collect::<Vec<_>>(),
            vec![(0, 1), (0, 2), (0, 3), (2, 3)]
        );
    }

    #[test]
    fn empty_graph_has_no_nodes() {
        let t = Topology::new(0, []);
        assert_eq!((t.node_count(), t.edge_count()), (0, 0));
        assert_eq!(t.edges().count(), 0);
    }

    #[test]
    #[should_panic(expected = "outside 0..2")]
    fn endpoint_out_of_range_is_a_bug() {
        Topology::new(2, [(0, 2)]);
    }
}

#[cfg(test)]
mod properties {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        #[test]
        fn adjacency_is_sorted_symmetric_and_simple(
            n in 1usize..30,
            raw in prop::collection::vec((0usize..30, 0usize..30), 0..150),
        ) {
            let raw: Vec<(usize, usize)> = raw.into_iter().map(|(a, b)| (a % n, b % n)).collect();
            let t = Topology::new(n, raw.iter().copied());
            let mut expected: Vec<(usize, usize)> = raw
                .iter()
                .filter(|(a, b)| a != b)
                .map(|&(a, b)| (a.min(b), a.max(b)))
                .collect();
            expected.sort_unstable();
            expected.dedup();
            prop_assert_eq!(t.edges().collect::<Vec<_>>(), expected.clone());
            prop_assert_eq!(t.edge_count(), expected.len());
            for v in 0..n {
                let nv = t.neighbours(v);
                prop_assert!(nv.windows(2).all(|w| w[0] < w[1]));
                prop_assert!(!nv.contains(&v));
                for &u in nv {
                    prop_assert!(t.neighbours(u).contains(&v));
                }
            }
        }
    }
}
