// Draws a large network on a WebGL canvas (sigma.js over a graphology graph,
// both vendored: /assets/sigma.min.js, /assets/graphology.min.js), from the
// map's data (`{nodes: [{id, name, kind, community, x, y}], ties: [[i, j,
// strength]]}`, ties strongest first). It opens on an overview — colours by
// sector or community, the strongest ties only, the stakeholders the
// findings name ringed and labelled — and reveals detail by zoom: more ties
// the closer one looks, labels once nodes are big enough to carry them. A new
// drawing (another month) moves the nodes already there, adds and drops the
// others, and keeps the camera. The map page loads this file only for a
// large network (decision 023); small ones keep netdraw.js's SVG.
"use strict";
const BigMap = (() => {
  /** Ties drawn at the overview's zoom; each halving of the view's side multiplies them by four. */
  const OVERVIEW_TIES = 3000;
  /** Colours of communities, cycled (the sectors keep NetDraw's colours). */
  const GROUP_COLOURS = [
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf",
    "#393b79", "#637939", "#8c6d31", "#843c39", "#7b4173", "#3182bd", "#e6550d", "#31a354", "#756bb1", "#636363",
  ];
  const FLAG = "#b00020", DIM = "#e6e6e6", TIE = "#a9b4c0", TIE_LIT = "#333";

  /** Whether this browser can draw with WebGL at all. */
  function supported() {
    try {
      const c = document.createElement("canvas");
      return Boolean(c.getContext("webgl2") || c.getContext("webgl"));
    } catch (_) { return false; }
  }

  /** The colour of community `c`. */
  const groupColour = (c) => GROUP_COLOURS[((c % GROUP_COLOURS.length) + GROUP_COLOURS.length) % GROUP_COLOURS.length];

  /**
   * A map in `host`. opts: {label, onSelect(id), onZoom(counts)}. Returns
   * {el, render, zoom, reset, focusNode, screenOf, kill}: NetDraw's verbs and a few.
   */
  function create(host, opts) {
    const { h } = P;
    const el = h("div", { class: "bigmap", role: "img", "aria-label": opts.label, tabindex: "0" });
    host.append(el);
    let graph = new graphology.Graph({ type: "undirected", multi: false, allowSelfLoops: false });
    const programs = {};
    try {
      programs.flagged = Sigma.rendering.createNodeBorderProgram({
        borders: [{ size: { value: 0.3 }, color: { value: FLAG } }, { size: { fill: true }, color: { attribute: "color" } }],
      });
    } catch (_) { /* without rings, flagged nodes keep their size and label */ }
    // What the reducers read; render() replaces it.
    let o = { highlight: null, selected: null, matches: null, flagged: new Set(), visible: null, minStrength: 0, colourBy: "kind" };
    let neighbours = new Set();
    let budget = OVERVIEW_TIES;
    const sigma = new Sigma(graph, el, {
      renderEdgeLabels: false,
      enableEdgeEvents: false,
      zIndex: true,
      labelRenderedSizeThreshold: 9,
      labelDensity: 0.6,
      labelGridCellSize: 90,
      labelFont: "system-ui, sans-serif",
      labelSize: 12,
      minCameraRatio: 0.02,
      maxCameraRatio: 3,
      defaultEdgeColor: TIE,
      hideEdgesOnMove: true,
      nodeProgramClasses: programs.flagged ? { flagged: programs.flagged } : {},
      nodeReducer: (id, a) => {
        const shown = !o.visible || o.visible(a.node);
        if (!shown) return { ...a, hidden: true };
        const lit = o.highlight ? o.highlight.has(id) : true;
        const near = o.selected ? id === o.selected || neighbours.has(id) : true;
        const match = o.matches && o.matches.has(id);
        const flagged = o.flagged.has(id);
        const out = { ...a, color: o.colourBy === "community" ? groupColour(a.node.community ?? 0) : a.kindColour };
        if (flagged && programs.flagged) out.type = "flagged";
        if (flagged) { out.size = a.size * 1.5; out.zIndex = 2; }
        if (!lit || !near) { out.color = DIM; out.label = ""; out.zIndex = 0; out.type = undefined; }
        if (match || id === o.selected || (o.highlight && lit)) { out.forceLabel = true; out.highlighted = id === o.selected; out.zIndex = 3; }
        return out;
      },
      edgeReducer: (key, a) => {
        const [s, t] = graph.extremities(key);
        if (o.visible && (!o.visible(graph.getNodeAttribute(s, "node")) || !o.visible(graph.getNodeAttribute(t, "node")))) return { ...a, hidden: true };
        if (a.strength < o.minStrength) return { ...a, hidden: true };
        if (o.selected) {
          if (s === o.selected || t === o.selected) return { ...a, color: TIE_LIT, size: a.size + 0.5, zIndex: 2 };
          return { ...a, hidden: a.rank >= budget, color: DIM };
        }
        if (o.highlight) {
          const on = (o.highlightPairs && o.highlightPairs.has(NetDraw.pair(s, t))) || (o.highlight.has(s) && o.highlight.has(t));
          return on ? { ...a, color: TIE_LIT, zIndex: 2 } : { ...a, hidden: a.rank >= budget, color: DIM };
        }
        return a.rank >= budget ? { ...a, hidden: true } : a;
      },
    });
    sigma.on("clickNode", ({ node }) => opts.onSelect && opts.onSelect(node));
    sigma.on("enterNode", () => el.classList.add("pointing"));
    sigma.on("leaveNode", () => el.classList.remove("pointing"));
    // Detail by zoom: the tie budget follows the camera in steps of four, so
    // panning does not redo the reducers.
    const camera = sigma.getCamera();
    camera.on("updated", (state) => {
      const next = budgetFor(state.ratio);
      if (next === budget) return;
      budget = next;
      // More ties than the graph holds: it takes the next ones; fewer: they are hidden.
      if (!(drawn && sync(drawn))) sigma.refresh({ skipIndexation: true });
      recount();
    });
    function budgetFor(ratio) {
      const step = Math.max(0, Math.floor(Math.log2(1 / Math.max(ratio, 1e-3)) + 1e-9));
      return OVERVIEW_TIES * Math.pow(4, step);
    }
    function recount() {
      const c = count();
      el.dataset.edges = String(c.edges);
      if (opts.onZoom) opts.onZoom(c);
    }
    el.addEventListener("keydown", (e) => {
      const keys = { "+": () => zoom(1.25), "=": () => zoom(1.25), "-": () => zoom(0.8), "0": reset };
      if (keys[e.key]) { keys[e.key](); e.preventDefault(); }
    });

    /**
     * Draws `data` (the map's shape). o: {visible(node), minStrength,
     * highlight: Set|null, highlightPairs: Set|null, selected, matches: Set|null,
     * flagged: Set (ids the findings name), colourBy: "kind"|"community"}.
     * Returns {nodes, edges}: the counts drawn at this zoom.
     */
    function render(data, next) {
      o = { ...o, ...next, flagged: next.flagged || new Set() };
      const rebuilt = sync(data);
      neighbours = o.selected && graph.hasNode(o.selected) ? new Set(graph.neighbors(o.selected)) : new Set();
      // A new graph was processed with these options already (sigma.setGraph).
      if (!rebuilt) sigma.refresh();
      // What is drawn, said on the element (a canvas has no elements to count).
      const counts = count();
      Object.assign(el.dataset, {
        asOf: data.as_of, ties: String(data.ties.length), nodes: String(counts.nodes), edges: String(counts.edges),
        flagged: String(counts.flagged), lit: String(counts.lit),
      });
      return counts;
    }

    let drawn = null;
    /** The ties of `data` the graph holds: the `budget` strongest, the selected stakeholder's, those among the lit ones. */
    function wanted(data) {
      const keep = [];
      const sel = o.selected, lit = o.highlight;
      data.ties.forEach(([i, j], rank) => {
        if (rank < budget) { keep.push(rank); return; }
        if (!sel && !lit) return;
        const a = data.nodes[i].id, b = data.nodes[j].id;
        if (a === sel || b === sel || (lit && lit.has(a) && lit.has(b))) keep.push(rank);
      });
      return keep;
    }
    /**
     * Makes the graph hold `data`'s nodes and the ties the view needs
     * (`wanted`: sigma's processing grows with the ties it holds, so a
     * network of 40,000 ties opens as fast as one of 3,000). When it holds
     * the same nodes and ties, they are moved and re-weighed in place (one
     * update each way for sigma); otherwise a new graph is built and sigma
     * takes it at once. Returns whether it was rebuilt.
     * Adding and dropping elements one by one is slower (sigma passes over
     * its index for each drop) and unsafe (sigma 3 can repaint a tie whose
     * addition it has not indexed yet); building 2,000 nodes and 5,000 ties
     * and drawing them anew takes about 100 ms (software WebGL, 2 cores).
     */
    function sync(data) {
      const degree = new Array(data.nodes.length).fill(0);
      for (const [i, j] of data.ties) { degree[i] += 1; degree[j] += 1; }
      const max = Math.max(1, ...degree);
      const nodeAttrs = new Map(data.nodes.map((n, i) => [n.id, {
        x: n.x ?? 0, y: -(n.y ?? 0), label: P.short(n.name, 32), size: 2 + 9 * Math.sqrt(degree[i] / max),
        kindColour: NetDraw.colour(n.kind), node: n,
      }]));
      const tieAttrs = new Map();
      const ends = new Map();
      // Widths from the strongest tie of the drawing, so a network of weak ties still shows them.
      const strongest = Math.max(1e-9, ...data.ties.slice(0, 1).map((x) => x[2]));
      for (const rank of wanted(data)) {
        const [i, j, s] = data.ties[rank];
        const a = data.nodes[i].id, b = data.nodes[j].id;
        const key = NetDraw.pair(a, b);
        tieAttrs.set(key, { rank, strength: s, size: 0.8 + 2.4 * Math.min(1, s / strongest), zIndex: 1 });
        ends.set(key, [a, b]);
      }
      let same = graph.order === nodeAttrs.size && graph.size === tieAttrs.size;
      for (const id of nodeAttrs.keys()) if (same && !graph.hasNode(id)) same = false;
      for (const key of tieAttrs.keys()) if (same && !graph.hasEdge(key)) same = false;
      if (!same) {
        const next = new graphology.Graph({ type: "undirected", multi: false, allowSelfLoops: false });
        for (const [id, attrs] of nodeAttrs) next.addNode(id, attrs);
        for (const [key, attrs] of tieAttrs) next.addEdgeWithKey(key, ...ends.get(key), attrs);
        graph = next;
        neighbours = o.selected && graph.hasNode(o.selected) ? new Set(graph.neighbors(o.selected)) : new Set();
        sigma.setGraph(graph);
        drawn = data;
        return true;
      }
      if (data !== drawn) {
        graph.updateEachNodeAttributes((id, a) => ({ ...a, ...nodeAttrs.get(id) }));
        graph.updateEachEdgeAttributes((key, a) => ({ ...a, ...tieAttrs.get(key) }));
      }
      drawn = data;
      return false;
    }

    /** What is drawn: nodes and ties shown at this zoom, the findings' stakeholders ringed, the ties lit. */
    function count() {
      let nodes = 0, edges = 0, flagged = 0, lit = 0;
      graph.forEachNode((id) => {
        const d = sigma.getNodeDisplayData(id);
        if (!d || d.hidden) return;
        nodes += 1;
        if (o.flagged.has(id) && d.color !== DIM) flagged += 1;
      });
      graph.forEachEdge((key, a, s, t) => {
        const d = sigma.getEdgeDisplayData(key);
        if (!d || d.hidden || sigma.getNodeDisplayData(s)?.hidden || sigma.getNodeDisplayData(t)?.hidden) return;
        edges += 1;
        if (d.color === TIE_LIT) lit += 1;
      });
      return { nodes, edges, flagged, lit };
    }

    function zoom(f) {
      if (f > 1) camera.animatedZoom({ duration: 200, factor: f });
      else camera.animatedUnzoom({ duration: 200, factor: 1 / f });
    }
    function reset() { camera.animatedReset({ duration: 200 }); }
    /** Centres the view on a node, closer in, so its ties and its neighbours' labels show. */
    function focusNode(id) {
      if (!graph.hasNode(id)) return;
      const d = sigma.getNodeDisplayData(id);
      if (!d) return;
      camera.animate({ x: d.x, y: d.y, ratio: Math.min(camera.getState().ratio, 0.25) }, { duration: 300 });
      el.focus();
    }
    /** Where node `id` is on the screen ({x, y} in CSS pixels of the map), or null. */
    function screenOf(id) {
      const d = graph.hasNode(id) && sigma.getNodeDisplayData(id);
      return d ? sigma.framedGraphToViewport(d) : null;
    }

    // The browser test asks where a node landed after a search.
    el.screenOf = screenOf;
    /** Frees the WebGL context and the listeners. */
    function kill() { sigma.kill(); el.remove(); }
    return { el, render, zoom, reset, focusNode, screenOf, kill };
  }

  return { create, supported, groupColour };
})();
