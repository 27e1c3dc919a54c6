#!/usr/bin/env python3
"""Time igraph on the metrics behind Passerelle's gap report, for comparison.

`benches/projections.rs` (run by `scripts/bench-projections`) writes the
present-tie topology of its 10,000-stakeholder network to a file and runs:

    python3 scripts/igraph_gaps.py EDGES --nodes N --runs R

EDGES holds one undirected edge per line, `a b`, as node indexes 0..N-1
(nodes without edges exist only through --nodes). The graph is loaded once;
then, R times, every metric is computed once in the order below and each call
is timed with `time.perf_counter`. The last line printed is one JSON object:

    {"igraph": "1.0.0", "nodes": N, "edges": M, "runs": R,
     "load_s": ..., "median_s": {...}, "min_s": {...}, "max_s": {...}}

with one key per metric and `total` (the sum of one run's metrics), each the
median, min or max over the R runs, in seconds.

Metrics (igraph's defaults unless said): betweenness (exact: no cutoff),
closeness, eigenvector centrality, coreness, Burt's constraint, articulation
points, bridges, connected components, multilevel (Louvain) communities with
their modularity, density. igraph has no effective size (Passerelle computes
it with the constraint). igraph runs on one thread.

Needs python-igraph (`pip install igraph`); without it, the script says so on
standard error and exits with status 3, which the bench reports as "skipped".
"""

import argparse
import json
import statistics
import sys
import time
import warnings

try:
    import igraph
except ImportError:
    print(
        "igraph_gaps.py: python-igraph is not installed (pip install igraph)",
        file=sys.stderr,
    )
    sys.exit(3)


# igraph warns that eigenvector centrality "is not meaningful" on a
# disconnected graph; it still computes it, as Passerelle does (see
# projections/src/metrics.rs), so the warning is noise here.
warnings.filterwarnings("ignore", category=RuntimeWarning)


def communities(g):
    """Multilevel (Louvain) communities and the modularity of the result."""
    clustering = g.community_multilevel()
    return clustering.membership, clustering.modularity


METRICS = [
    ("betweenness", lambda g: g.betweenness(directed=False)),
    ("closeness", lambda g: g.closeness()),
    ("eigenvector", lambda g: g.eigenvector_centrality()),
    ("coreness", lambda g: g.coreness()),
    ("constraint", lambda g: g.constraint()),
    ("articulation_points", lambda g: g.articulation_points()),
    ("bridges", lambda g: g.bridges()),
    ("components", lambda g: g.connected_components()),
    ("louvain", communities),
    ("density", lambda g: g.density()),
]


def read_edges(path):
    edges = []
    with open(path, encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            parts = line.split()
            if len(parts) != 2:
                sys.exit(f"{path}:{number}: expected `a b`, got {line!r}")
            edges.append((int(parts[0]), int(parts[1])))
    return edges


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("edges", help="edge list, one `a b` per line")
    parser.add_argument(
        "--nodes", type=int, help="node count (default: largest index + 1)"
    )
    parser.add_argument("--runs", type=int, default=3, help="repetitions (default 3)")
    args = parser.parse_args()

    edges = read_edges(args.edges)
    n = args.nodes
    if n is None:
        n = 1 + max((max(e) for e in edges), default=-1)
    start = time.perf_counter()
    g = igraph.Graph(n=n, edges=edges, directed=False)
    load = time.perf_counter() - start
    if not g.is_simple():
        sys.exit("the edge list has loops or parallel edges; Passerelle's topology has none")

    samples = {name: [] for name, _ in METRICS}
    samples["total"] = []
    for run in range(max(args.runs, 1)):
        total = 0.0
        for name, metric in METRICS:
            start = time.perf_counter()
            metric(g)
            elapsed = time.perf_counter() - start
            samples[name].append(elapsed)
            total += elapsed
        samples["total"].append(total)
        print(f"igraph run {run + 1}/{args.runs}: {total:.3f} s", file=sys.stderr)

    print(
        json.dumps(
            {
                "igraph": igraph.__version__,
                "nodes": g.vcount(),
                "edges": g.ecount(),
                "runs": len(samples["total"]),
                "load_s": load,
                "median_s": {k: statistics.median(v) for k, v in samples.items()},
                "min_s": {k: min(v) for k, v in samples.items()},
                "max_s": {k: max(v) for k, v in samples.items()},
            }
        )
    )


if __name__ == "__main__":
    main()
