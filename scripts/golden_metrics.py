#!/usr/bin/env python3
"""Write the golden fixtures for `passerelle-projections`'s graph metrics.

The fixtures in `projections/tests/fixtures/` are committed; CI reads them and
never runs this script. To regenerate them (Python 3.11):

    pip install networkx==3.6.1
    python3 scripts/golden_metrics.py

networkx is the independent reference (STYLE.md, "Golden values from an
independent implementation"). Each fixture holds the topology only (edge
weights of the source graphs are dropped), the node names in networkx's node
order (a node's index in that list is its id in the Rust `Topology`), and:

- per node: degree, betweenness, closeness, eigenvector, core_number,
  constraint, effective_size (null where networkx gives NaN);
- per network: density, number of connected components, articulation points,
  bridges (each `[a, b]` with a < b, sorted);
- `louvain`: the modularity of `louvain_communities(G, seed=42)` and, for
  information, the mean and minimum over seeds 0..19;
- `reference_partition`: a fixed partition and its `nx.community.modularity`,
  to test the Rust modularity function on its own.

Every metric uses networkx's defaults, except eigenvector centrality, which is
iterated to a tight tolerance (`max_iter=10000, tol=1e-12`) so that it is the
converged principal eigenvector rather than networkx's default 1e-6 stop.
"""

import json
import math
import pathlib
import statistics

import networkx as nx

ROOT = pathlib.Path(__file__).resolve().parent.parent
OUT = ROOT / "projections" / "tests" / "fixtures"
LOUVAIN_SEED = 42
INFO_SEEDS = range(20)


def topology(source: nx.Graph) -> nx.Graph:
    """The same nodes in the same order, unweighted, no self-loops."""
    g = nx.Graph()
    g.add_nodes_from(source.nodes())
    g.add_edges_from((u, v) for u, v in source.edges() if u != v)
    return g


def num(x: float):
    return None if isinstance(x, float) and math.isnan(x) else x


def communities_as_indices(communities, index):
    groups = [sorted(index[v] for v in c) for c in communities]
    return sorted(groups)


def fixture(name: str, g: nx.Graph, reference_partition) -> dict:
    nodes = list(g.nodes())
    index = {v: i for i, v in enumerate(nodes)}
    edges = sorted(sorted((index[u], index[v])) for u, v in g.edges())

    betweenness = nx.betweenness_centrality(g)
    closeness = nx.closeness_centrality(g)
    eigenvector = nx.eigenvector_centrality(g, max_iter=10000, tol=1e-12)
    core = nx.core_number(g)
    constraint = nx.constraint(g)
    effective_size = nx.effective_size(g)

    louvain = nx.community.louvain_communities(g, seed=LOUVAIN_SEED)
    louvain_q = nx.community.modularity(g, louvain)
    info_q = [
        nx.community.modularity(g, nx.community.louvain_communities(g, seed=s))
        for s in INFO_SEEDS
    ]

    return {
        "graph": name,
        "generated_by": "scripts/golden_metrics.py",
        "networkx_version": nx.__version__,
        "nodes": [str(v) for v in nodes],
        "edges": edges,
        "node_metrics": [
            {
                "name": str(v),
                "degree": g.degree(v),
                "betweenness": betweenness[v],
                "closeness": closeness[v],
                "eigenvector": eigenvector[v],
                "core_number": core[v],
                "constraint": num(constraint[v]),
                "effective_size": num(effective_size[v]),
            }
            for v in nodes
        ],
        "density": nx.density(g),
        "components": nx.number_connected_components(g),
        "articulation_points": sorted(index[v] for v in nx.articulation_points(g)),
        "bridges": sorted(sorted((index[u], index[v])) for u, v in nx.bridges(g)),
        "louvain": {
            "seed": LOUVAIN_SEED,
            "modularity": louvain_q,
            "communities": communities_as_indices(louvain, index),
            "info_seeds": list(INFO_SEEDS),
            "info_mean_modularity": statistics.fmean(info_q),
            "info_min_modularity": min(info_q),
        },
        "reference_partition": {
            "how": reference_partition[0],
            "communities": communities_as_indices(reference_partition[1], index),
            "modularity": nx.community.modularity(g, reference_partition[1]),
        },
    }


def dumps(data: dict) -> str:
    """JSON with one top-level key, node or edge per line: easy to diff."""
    lines = []
    for key, value in data.items():
        if key in ("node_metrics", "edges") and value:
            items = ",\n  ".join(json.dumps(v) for v in value)
            lines.append(f"{json.dumps(key)}: [\n  {items}\n ]")
        else:
            lines.append(f"{json.dumps(key)}: {json.dumps(value)}")
    return "{\n " + ",\n ".join(lines) + "\n}\n"


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)

    karate = topology(nx.karate_club_graph())
    clubs = {}
    for v, club in nx.karate_club_graph().nodes(data="club"):
        clubs.setdefault(club, set()).add(v)
    karate_ref = ("the 'club' node attribute (Mr. Hi / Officer)", list(clubs.values()))

    lesmis = topology(nx.les_miserables_graph())
    lesmis_ref = (
        "nx.community.greedy_modularity_communities",
        nx.community.greedy_modularity_communities(lesmis),
    )

    florentine = topology(nx.florentine_families_graph())
    florentine_ref = (
        "nx.community.greedy_modularity_communities",
        nx.community.greedy_modularity_communities(florentine),
    )

    for name, g, ref in [
        ("karate", karate, karate_ref),
        ("lesmis", lesmis, lesmis_ref),
        ("florentine", florentine, florentine_ref),
    ]:
        data = fixture(name, g, ref)
        path = OUT / f"{name}.json"
        path.write_text(dumps(data))
        print(
            f"{path.relative_to(ROOT)}: {g.number_of_nodes()} nodes, "
            f"{g.number_of_edges()} edges, louvain Q={data['louvain']['modularity']:.4f}"
        )


if __name__ == "__main__":
    main()
