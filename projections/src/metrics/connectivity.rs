//! Components, k-cores, articulation points and bridges: thin adapters over
//! petgraph and rustworkx-core that return plain, sorted vectors.

use rustworkx_core::connectivity::{articulation_points, bridges, core_number};
use rustworkx_core::petgraph::graph::UnGraph;
use rustworkx_core::petgraph::unionfind::UnionFind;

use super::Topology;

/// The component of each node, components numbered `0, 1, …` in the order
/// of their smallest member, and the size of each component.
pub(crate) fn components(t: &Topology) -> (Vec<usize>, Vec<usize>) {
    let n = t.node_count();
    let mut sets = UnionFind::<usize>::new(n);
    for (a, b) in t.edges() {
        sets.union(a, b);
    }
    let mut label = vec![usize::MAX; n];
    let mut component_of = vec![0; n];
    let mut sizes = Vec::new();
    for (v, component) in component_of.iter_mut().enumerate() {
        let root = sets.find_mut(v);
        if label[root] == usize::MAX {
            label[root] = sizes.len();
            sizes.push(0);
        }
        *component = label[root];
        sizes[label[root]] += 1;
    }
    (component_of, sizes)
}

/// The core number of each node (`nx.core_number`).
pub(crate) fn core_numbers(g: &UnGraph<(), ()>) -> Vec<usize> {
    let mut cores = vec![0; g.node_count()];
    for (node, core) in core_number(g) {
        cores[node.index()] = core;
    }
    cores
}

/// Articulation points, ascending.
pub(crate) fn cut_vertices(g: &UnGraph<(), ()>) -> Vec<usize> {
    let mut points: Vec<usize> = articulation_points(g, None)
        .into_iter()
        .map(|v| v.index())
        .collect();
    points.sort_unstable();
    points
}

/// Bridges as `(a, b)` with `a < b`, ascending.
pub(crate) fn cut_edges(g: &UnGraph<(), ()>) -> Vec<(usize, usize)> {
    let mut edges: Vec<(usize, usize)> = bridges(g)
        .into_iter()
        .map(|(a, b)| (a.index().min(b.index()), a.index().max(b.index())))
        .collect();
    edges.sort_unstable();
    edges
}
