// Draws a network as SVG from the server's layout: nodes coloured by kind and
// sized by a metric, ties as lines weighted by strength; pan (drag, arrows)
// and zoom (wheel, + and −). Used by the map and the comparison pages.
"use strict";
const NetDraw = (() => {
  const W = 1000, H = 620, PAD = 50;
  /** One colour per stakeholder kind (PRODUCT.md §2), readable on white, in the order of the catalogue's kinds. */
  const COLOURS = [
    "#1f77b4", "#17becf", "#2ca02c", "#d62728", "#e377c2", "#8c564b", "#bcbd22", "#ff7f0e", "#9467bd",
    "#f7b6d2", "#aec7e8", "#7f7f7f", "#393b79", "#8c6d31", "#98df8a", "#c5b0d5", "#843c39", "#c7c7c7",
  ];
  const colour = (kind) => COLOURS[P.vocab("kind").indexOf(kind)] || "#999";
  const pair = (a, b) => (a < b ? a + "|" + b : b + "|" + a);

  /** A map in `host`. opts: {label, onSelect(id), interactive}. */
  function create(host, opts) {
    const { h, s } = P;
    const svg = s("svg", { class: "net", viewBox: `0 0 ${W} ${H}`, role: "group", "aria-label": opts.label,
      tabindex: "0", preserveAspectRatio: "xMidYMid meet" });
    const bg = s("rect", { class: "net-bg", x: -5 * W, y: -5 * H, width: 11 * W, height: 11 * H });
    const view = s("g", { class: "viewport" });
    const edgesG = s("g", { class: "edges" }), nodesG = s("g", { class: "nodes" });
    view.append(bg, edgesG, nodesG);
    svg.append(view);
    host.append(svg);
    let k = 1, tx = 0, ty = 0;
    const apply = () => view.setAttribute("transform", `translate(${tx} ${ty}) scale(${k})`);
    const zoom = (f, cx = W / 2, cy = H / 2) => {
      const nk = Math.min(8, Math.max(0.4, k * f));
      tx = cx - ((cx - tx) * nk) / k; ty = cy - ((cy - ty) * nk) / k; k = nk; apply();
    };
    const reset = () => { k = 1; tx = 0; ty = 0; apply(); };
    const toSvg = (e) => {
      const m = svg.getScreenCTM();
      return m ? new DOMPoint(e.clientX, e.clientY).matrixTransform(m.inverse()) : { x: W / 2, y: H / 2 };
    };
    if (opts.interactive !== false) {
      svg.addEventListener("wheel", (e) => { e.preventDefault(); const p = toSvg(e); zoom(e.deltaY < 0 ? 1.15 : 1 / 1.15, p.x, p.y); }, { passive: false });
      let drag = null;
      svg.addEventListener("pointerdown", (e) => {
        if (e.target.closest(".node")) return;
        drag = { p: toSvg(e), tx, ty }; svg.setPointerCapture(e.pointerId); svg.classList.add("dragging");
      });
      svg.addEventListener("pointermove", (e) => {
        if (!drag) return;
        const p = toSvg(e); tx = drag.tx + (p.x - drag.p.x); ty = drag.ty + (p.y - drag.p.y); apply();
        drag.p = toSvg(e); drag.tx = tx; drag.ty = ty;
      });
      const end = () => { drag = null; svg.classList.remove("dragging"); };
      svg.addEventListener("pointerup", end); svg.addEventListener("pointercancel", end);
      svg.addEventListener("keydown", (e) => {
        const step = 40;
        const keys = { "+": () => zoom(1.25), "=": () => zoom(1.25), "-": () => zoom(0.8), "0": reset,
          ArrowLeft: () => { tx += step; apply(); }, ArrowRight: () => { tx -= step; apply(); },
          ArrowUp: () => { ty += step; apply(); }, ArrowDown: () => { ty -= step; apply(); } };
        if (keys[e.key] && !e.target.closest(".node")) { keys[e.key](); e.preventDefault(); }
      });
    }

    /** Where a layout position lands in the drawing: `b` (the bounds of every place) fills it. */
    function place(p, b) {
      const k = Math.min((W - 2 * PAD) / Math.max(1e-9, b.x1 - b.x0), (H - 2 * PAD) / Math.max(1e-9, b.y1 - b.y0));
      return [W / 2 + (p.x - (b.x0 + b.x1) / 2) * k, H / 2 + (p.y - (b.y0 + b.y1) / 2) * k];
    }

    /**
     * Draws `net` ({nodes, edges}). o: {places: Map id→{x,y}, bounds, metric,
     * visible(node), minStrength, highlight: Set|null, highlightPairs: Set|null,
     * selected, matches: Set|null, gained: Set of pair keys, lost: [[a,b]]}.
     */
    function render(net, o) {
      const byId = new Map(net.nodes.map((n) => [n.id, n]));
      const at = (id) => {
        const p = (o.places && o.places.get(id)) || byId.get(id) || { x: 0, y: 0 };
        return place(p, o.bounds || bounds(net.nodes));
      };
      const shown = new Set(net.nodes.filter((n) => !o.visible || o.visible(n)).map((n) => n.id));
      const metric = o.metric || "degree";
      const max = Math.max(1e-9, ...net.nodes.map((n) => +n[metric] || 0));
      const radius = (n) => 5 + 15 * Math.sqrt(Math.max(0, +n[metric] || 0) / max);
      const lit = (id) => !o.highlight || o.highlight.has(id);
      edgesG.replaceChildren();
      let drawn = 0;
      for (const e of net.edges) {
        if (!shown.has(e.a) || !shown.has(e.b) || (e.strength ?? 0) < (o.minStrength || 0)) continue;
        const [x1, y1] = at(e.a), [x2, y2] = at(e.b);
        const key = pair(e.a, e.b);
        const on = !o.highlight || (o.highlightPairs && o.highlightPairs.has(key)) || (o.highlight.has(e.a) && o.highlight.has(e.b));
        const cls = ["edge", o.gained && o.gained.has(key) ? "gained" : "", on ? (o.highlight ? "lit" : "") : "dim"].join(" ").replace(/\s+/g, " ").trim();
        const sw = 0.8 + 7 * Math.min(1, e.strength || 0);
        edgesG.append(s("line", { class: cls, x1, y1, x2, y2, "stroke-width": sw.toFixed(2), "data-pair": key },
          s("title", {}, `${P.short(byId.get(e.a).name, 40)} — ${P.short(byId.get(e.b).name, 40)}: ${P.t("detail.strength", { s: P.num(e.strength) })}`)));
        drawn += 1;
      }
      for (const [a, b] of o.lost || []) {
        const [x1, y1] = at(a), [x2, y2] = at(b);
        edgesG.append(s("line", { class: "lost", x1, y1, x2, y2, "data-pair": pair(a, b) }));
      }
      nodesG.replaceChildren();
      const sorted = [...net.nodes].filter((n) => shown.has(n.id)).sort((a, b) => radius(a) - radius(b));
      const labelled = new Set([...sorted].sort((a, b) => radius(b) - radius(a)).slice(0, o.labels ?? 8).map((n) => n.id));
      for (const n of sorted) {
        const [x, y] = at(n.id);
        const r = radius(n);
        const match = o.matches && o.matches.has(n.id);
        const cls = ["node", lit(n.id) || match ? "" : "dim", o.selected === n.id ? "selected" : "",
          o.highlight && o.highlight.has(n.id) ? "lit" : "", match ? "match" : ""].join(" ").replace(/\s+/g, " ").trim();
        const g = s("g", { class: cls, "data-id": n.id, transform: `translate(${x.toFixed(1)} ${y.toFixed(1)})`,
          tabindex: opts.interactive === false ? null : "0", role: opts.interactive === false ? null : "button",
          "aria-label": `${n.name} (${P.word("kind", n.kind)})`, "aria-pressed": opts.interactive === false ? null : String(o.selected === n.id) },
          s("title", {}, `${n.name} — ${P.word("kind", n.kind)}`),
          s("circle", { r: r.toFixed(1), fill: colour(n.kind) }));
        if (labelled.has(n.id) || o.selected === n.id || match || (o.highlight && o.highlight.has(n.id))) {
          g.append(s("text", { x: (r + 3).toFixed(1), y: "4", class: "label" }, P.short(n.name, 24)));
        }
        if (opts.onSelect) {
          g.addEventListener("click", () => opts.onSelect(n.id));
          g.addEventListener("keydown", (e) => { if (e.key === "Enter" || e.key === " ") { e.preventDefault(); opts.onSelect(n.id); } });
        }
        nodesG.append(g);
      }
      svg.dataset.nodes = String(sorted.length);
      svg.dataset.edges = String(drawn);
      return { nodes: sorted.length, edges: drawn };
    }

    return { svg, render, zoom, reset, focusNode: (id) => { const g = nodesG.querySelector(`[data-id="${CSS.escape(id)}"]`); if (g) g.focus(); } };
  }

  /** The bounds of a set of places ({x, y}); nodes keep their place when it is fixed. */
  function bounds(points) {
    const ps = [...points];
    if (!ps.length) return { x0: -1, x1: 1, y0: -1, y1: 1 };
    const xs = ps.map((p) => p.x), ys = ps.map((p) => p.y);
    return { x0: Math.min(...xs), x1: Math.max(...xs), y0: Math.min(...ys), y1: Math.max(...ys) };
  }

  /** The legend: a swatch per kind present. */
  function legend(kinds) {
    const { h } = P;
    return h("ul", { class: "legend", "aria-label": P.t("map.legend") },
      kinds.map((k) => h("li", {}, h("span", { class: "swatch", "data-kind": k }), P.word("kind", k))));
  }

  /** Colours the legend's swatches (CSP forbids inline style attributes, not CSSOM). */
  function paint(root) {
    for (const el of root.querySelectorAll(".swatch[data-kind]")) el.style.background = colour(el.dataset.kind);
  }

  return { create, legend, paint, colour, pair, bounds };
})();
