// The network map (`/`): the programme's network from the server's layout,
// filters, search, a stakeholder's profile, the gap findings beside the map,
// the time slider (months and milestones) and the before/after view.
// A small network is drawn as SVG (netdraw.js); a large one (more than
// LARGE.nodes stakeholders or LARGE.ties ties, decision 023) on a WebGL
// canvas (bigmap.js, loaded then), opening on an overview: the strongest
// ties, sectors or communities as colours, the stakeholders the first
// findings name ringed; zoom, filters and search reveal the rest.
"use strict";
/** Above either of these, the map is large: canvas, overview, first page of findings. */
const LARGE = Object.freeze({ nodes: 300, ties: 2000 });
/** Findings whose subjects the large map's overview rings: the first page, most important first. */
const FLAGGED_FINDINGS = 50;
/** How long a large map waits before asking again for a frame the server had not settled yet (ms). */
const UNSETTLED_RETRY = 3000;
/** How long the slider rests before the map asks for that month (ms). */
const SLIDER_REST = 120;

/**
 * The large map's data: a `GET /api/v1/map` frame (`{programme, as_of,
 * position, settled, steps, nodes: [{id, name, kind, community, x, y}],
 * ties: [[i, j, strength]]}`, ties strongest first) with the slider's
 * `months` (the end of each month).
 */
function mapOf(frame, months) {
  return { ...frame, months };
}

P.page(async ({ main, programme }) => {
  const { h, t } = P;
  const name = P.ctx.programmes.find((p) => p.id === programme)?.name || programme;
  const started = performance.now();
  // The map's frame first: light whatever the network's size, it says
  // whether the network is large; a small one is then read whole.
  const [frame, ms, directory, notes] = await Promise.all([
    P.api("getMap", { programme }), P.all("listMilestones", { programme }, "milestones"),
    P.all("listStakeholders", { programme }, "stakeholders"), P.all("listNotes", { programme }, "notes"),
  ]);
  const large = frame.nodes.length > LARGE.nodes || frame.ties.length > LARGE.ties;
  const canvas = large && (await P.scripts(["graphology.min.js", "sigma.min.js", "bigmap.js"]), BigMap.supported());
  const latest = canvas ? frame : await P.api("getNetwork", { programme });
  const milestones = ms.milestones;
  const names = new Map(directory.stakeholders.map((s) => [s.id, s.name]));
  const themesOf = new Map(directory.stakeholders.map((s) => [s.id, s.themes]));
  // Nodes keep the place the latest layout gives them as time moves.
  const places = new Map(latest.nodes.map((n) => [n.id, { x: n.x, y: n.y }]));
  let bounds = NetDraw.bounds(places.values());

  // Months from the programme's first record to the latest one; the last stop is "latest".
  const firsts = [...directory.stakeholders.map((s) => s.registered_at), ...milestones.map((m) => m.occurred_at)].filter(Boolean).sort();
  const months = monthsBetween((firsts[0] || latest.as_of).slice(0, 7), latest.as_of);

  const st = {
    asOf: P.param("as_of"), metric: P.param("metric") || "degree", kind: "", theme: "", minStrength: 0,
    search: "", selected: P.param("focus"), highlight: null, highlightPairs: null, finding: null, diff: null,
    net: canvas ? mapOf(latest, months.map((m) => m.end)) : latest, gaps: null, community: "", colourBy: "kind", flagged: new Set(),
  };

  // Controls.
  const metricSel = h("select", { id: "metric" }, P.vocab("metric").filter((m) => m !== "constraint" && m !== "community") // the ones that can size a node
    .map((m) => h("option", { value: m, selected: m === st.metric }, t("metric." + m))));
  const kinds = [...new Set(directory.stakeholders.map((s) => s.kind))].sort();
  const kindSel = h("select", { id: "kind" }, h("option", { value: "" }, t("map.kind.all")), kinds.map((k) => h("option", { value: k }, P.word("kind", k))));
  const themes = [...new Set(directory.stakeholders.flatMap((s) => s.themes))].sort();
  const themeSel = h("select", { id: "theme" }, h("option", { value: "" }, t("map.theme.all")), themes.map((x) => h("option", { value: x }, P.theme(x))));
  const communities = canvas ? communitySizes(st.net) : [];
  const communitySel = canvas ? h("select", { id: "community" }, h("option", { value: "" }, t("map.community.all")),
    communities.map(([c, n]) => h("option", { value: String(c) }, t("map.community.one", { c: c + 1, n })))) : null;
  const colourSel = canvas ? h("select", { id: "colour" }, ["kind", "community"].map((v) => h("option", { value: v }, t("map.colour." + v)))) : null;
  const strength = h("input", { id: "strength", type: "range", min: "0", max: "1", step: "0.05", value: "0" });
  const strengthOut = h("output", { for: "strength" }, P.decimal(0, 2));
  const search = h("input", { id: "search", type: "search", list: "names", placeholder: t("map.search.placeholder"), autocomplete: "off" });
  const datalist = h("datalist", { id: "names" }, directory.stakeholders.map((s) => h("option", { value: s.name })));
  const slider = h("input", { id: "slider", type: "range", min: "0", max: String(months.length), step: "1", list: "milestone-ticks",
    value: String(months.length), "aria-describedby": "asof" });
  slider.dataset.months = months.map((m) => m.month).join(",");
  const ticks = h("datalist", { id: "milestone-ticks" }, milestones.map((m) => h("option", { value: String(monthIndex(m.occurred_at)) })));
  const asofOut = h("output", { id: "asof", for: "slider", "aria-live": "polite" });
  const msSel = h("select", { id: "milestone" }, h("option", { value: "" }, t("time.milestone.none")),
    milestones.map((m) => h("option", { value: m.id }, `${P.date(m.occurred_at)} · ${P.short(m.label, 60)}`)));
  const beforeAfter = h("button", { type: "button", id: "beforeafter", disabled: true }, t("time.beforeafter"));
  const latestBtn = h("button", { type: "button", id: "latest" }, t("time.now"));

  const mapHost = h("div", { class: "map-host" });
  const summary = h("p", { class: "summary", id: "summary", "aria-live": "polite" });
  const detail = h("section", { class: "panel detail", id: "detail", "aria-labelledby": "detail-title" });
  const diffPanel = h("section", { class: "panel diff", id: "diff", hidden: true, "aria-live": "polite" });
  const findings = h("section", { class: "panel findings", id: "findings", "aria-labelledby": "findings-title" });
  // The canvas is a picture to a screen reader: the stakeholders the findings name are also a list.
  const flaggedList = canvas ? h("details", { class: "flagged", id: "flagged" }) : null;

  main.append(
    h("h1", { class: "page-title" }, t("map.title"), " — ", name),
    h("div", { class: "toolbar" },
      canvas ? h("label", {}, t("map.colour"), colourSel) : h("label", {}, t("map.size"), metricSel),
      h("label", {}, t("map.kind"), kindSel), h("label", {}, t("map.theme"), themeSel),
      canvas ? h("label", {}, t("map.community"), communitySel) : null,
      h("label", {}, t("map.strength"), strength, strengthOut),
      h("label", {}, t("map.search"), search), datalist),
    h("div", { class: "timebar" },
      h("label", { for: "slider", class: "slider-label" }, t("time.slider")), slider, ticks, asofOut,
      h("label", {}, h("span", { class: "sr" }, t("time.milestone")), msSel), beforeAfter, latestBtn),
    h("div", { class: "map-layout" },
      h("div", { class: "map-col" }, mapHost, summary,
        NetDraw.legend(kinds), h("p", { class: "muted small" }, t("map.legend.edge"), " · ",
          canvas ? [t("map.legend.flagged"), " · ", t("map.legend.zoom"), " · ", t("map.keys.canvas")] : t("map.keys")),
        large && !canvas ? h("p", { class: "notice", role: "status" }, t("map.nowebgl")) : null,
        flaggedList),
      h("aside", { class: "side" }, detail, diffPanel, findings)));
  mapHost.append(h("span", { class: "zoom" },
        h("button", { type: "button", "aria-label": t("map.zoomin"), title: t("map.zoomin"), onclick: () => draw.zoom(1.25) }, "+"),
        h("button", { type: "button", "aria-label": t("map.zoomout"), title: t("map.zoomout"), onclick: () => draw.zoom(0.8) }, "−"),
        h("button", { type: "button", "aria-label": t("map.reset"), title: t("map.reset"), onclick: () => draw.reset() }, "⤢")));
  NetDraw.paint(main);
  const draw = canvas ? BigMap.create(mapHost, { label: t("map.label", { programme: name }), onSelect: select, onZoom: sayCounts })
    : NetDraw.create(mapHost, { label: t("map.label", { programme: name }), onSelect: select });
  if (canvas) {
    communitySel.onchange = () => { st.community = communitySel.value; redraw(); };
    colourSel.onchange = () => { st.colourBy = colourSel.value; main.querySelector(".legend").hidden = st.colourBy !== "kind"; redraw(); };
  }

  metricSel.onchange = () => { st.metric = metricSel.value; P.setParam("metric", st.metric === "degree" ? null : st.metric); redraw(); };
  kindSel.onchange = () => { st.kind = kindSel.value; redraw(); };
  themeSel.onchange = () => { st.theme = themeSel.value; redraw(); };
  strength.oninput = () => { st.minStrength = +strength.value; strengthOut.textContent = P.decimal(st.minStrength, 2); redraw(); };
  search.oninput = () => { st.search = search.value.trim().toLowerCase(); redraw(); };
  search.onkeydown = (e) => {
    if (e.key !== "Enter") return;
    e.preventDefault();
    const hit = st.net.nodes.find((n) => n.name.toLowerCase() === st.search) || st.net.nodes.find((n) => n.name.toLowerCase().includes(st.search));
    if (hit) { select(hit.id); draw.focusNode(hit.id); }
  };
  let resting = 0;
  slider.oninput = () => {
    const i = +slider.value;
    st.diff = null; msSel.value = ""; beforeAfter.disabled = true;
    // The date follows the thumb at once; the map follows when it rests.
    asofOut.textContent = i >= months.length ? t("time.now") : t("time.asof", { date: P.date(months[i].end) });
    clearTimeout(resting);
    resting = setTimeout(() => load(i >= months.length ? null : months[i].end), SLIDER_REST);
  };
  msSel.onchange = () => {
    const m = milestones.find((x) => x.id === msSel.value);
    beforeAfter.disabled = !m;
    if (!m) return;
    st.diff = null;
    slider.value = String(monthIndex(m.occurred_at));
    load(m.occurred_at);
  };
  beforeAfter.onclick = async () => {
    const m = milestones.find((x) => x.id === msSel.value);
    if (!m) return;
    try {
      const d = await P.api("getDiff", { programme, milestone: m.id });
      st.diff = { ...d, label: m.label };
      slider.value = String(monthIndex(d.to.as_of));
      await load(d.to.as_of);
    } catch (e) { P.fail(e); }
  };
  latestBtn.onclick = () => { st.diff = null; msSel.value = ""; beforeAfter.disabled = true; slider.value = String(months.length); load(null); };

  let seq = 0;
  /** The read in flight; a newer one aborts it. */
  let inflight = null;
  /**
   * Reads the network and the findings as of `asOf` (null: latest) and
   * redraws; the drawing on screen stays until the new one is in. `first`:
   * the network in `st.net` is the one asked for (a large map draws it at once).
   */
  async function load(asOf, first) {
    const mine = ++seq;
    if (inflight) inflight.abort();
    const ctl = new AbortController();
    inflight = ctl;
    st.asOf = asOf;
    P.setParam("as_of", asOf);
    mapHost.setAttribute("aria-busy", "true");
    try {
      const params = { programme, as_of: asOf || undefined };
      const asked = performance.now();
      if (canvas) {
        st.net = first ? st.net : mapOf(await P.api("getMap", params, { signal: ctl.signal }), months.map((m) => m.end));
        if (mine !== seq) return;
        const got = performance.now();
        redraw();
        drawn(got - asked, performance.now() - got);
        // Laid out before the server had kept the months before it: the
        // settled layout comes a moment later.
        if (st.net.settled === false) setTimeout(() => { if (mine === seq) load(asOf); }, UNSETTLED_RETRY);
        // The findings come after the drawing: the first page, most important first.
        st.gaps = await P.api("getGaps", { ...params, limit: FLAGGED_FINDINGS }, { signal: ctl.signal });
        if (mine !== seq) return;
        st.flagged = new Set(st.gaps.findings.flatMap((f) => f.subjects));
        if (st.finding && !st.gaps.findings.some((f) => f.id === st.finding)) clearHighlight();
        redraw(); renderFindings(); renderDiff(); renderFlagged();
        if (st.selected) await renderDetail();
        return;
      }
      const [net, gaps] = await Promise.all([P.api("getNetwork", params, { signal: ctl.signal }), P.all("getGaps", params, "findings")]);
      if (mine !== seq) return;
      const got = performance.now();
      st.net = net; st.gaps = gaps;
      for (const n of net.nodes) if (!places.has(n.id)) places.set(n.id, { x: n.x, y: n.y });
      bounds = NetDraw.bounds(places.values());
      if (st.finding && !gaps.findings.some((f) => f.id === st.finding)) clearHighlight();
      redraw(); drawn(got - asked, performance.now() - got); renderFindings(); renderDiff();
      if (st.selected) await renderDetail();
    } catch (e) {
      if (e.name !== "AbortError") P.fail(e);
    } finally { if (mine === seq) { mapHost.removeAttribute("aria-busy"); inflight = null; } }
  }

  /** Marks a drawing in the page's timeline (`passerelle.map-drawn`): its as_of, whether it
   * is the page's first, the milliseconds since the page script started, spent waiting for
   * the data (`fetch`, 0 when the page had it) and drawing it (`draw`). */
  let drawings = 0;
  function drawn(fetch, draw) {
    performance.mark("passerelle.map-drawn", {
      detail: { as_of: st.net.as_of, first: drawings === 0, since: performance.now() - started, fetch, draw },
    });
    drawings += 1;
  }

  /** The communities of a map's nodes, largest first: [[community, stakeholders]]. */
  function communitySizes(data) {
    const n = new Map();
    for (const x of data.nodes) n.set(x.community ?? 0, (n.get(x.community ?? 0) || 0) + 1);
    return [...n].sort((a, b) => b[1] - a[1] || a[0] - b[0]);
  }

  /** The list of the stakeholders the findings name (the canvas's ringed nodes), each a button that selects it. */
  function renderFlagged() {
    const byId = new Map(st.net.nodes.map((n) => [n.id, n]));
    const shown = [...st.flagged].filter((id) => byId.has(id));
    P.fill(flaggedList, h("summary", {}, t("map.flagged", { n: shown.length })),
      h("ul", { class: "flagged-list" }, shown.map((id) => h("li", { "data-id": id },
        h("button", { type: "button", class: "linkish", onclick: () => { select(id); draw.focusNode(id); } }, byId.get(id).name)))));
  }

  function redraw() {
    if (canvas) return redrawCanvas();
    const matches = st.search ? new Set(st.net.nodes.filter((n) => n.name.toLowerCase().includes(st.search)).map((n) => n.id)) : null;
    const counts = draw.render(st.net, {
      places, bounds, metric: st.metric, minStrength: st.minStrength, selected: st.selected, matches,
      highlight: st.highlight, highlightPairs: st.highlightPairs,
      visible: (n) => (!st.kind || n.kind === st.kind) && (!st.theme || n.themes.includes(st.theme)),
      gained: st.diff ? new Set(st.diff.ties_added.map(([a, b]) => NetDraw.pair(a, b))) : null,
      lost: st.diff ? st.diff.ties_removed : null,
    });
    draw.svg.dataset.asOf = st.net.as_of;
    asofOut.textContent = st.asOf ? t("time.asof", { date: P.date(st.net.as_of) }) : t("time.latest", { date: P.date(st.net.as_of) });
    const m = st.net.metrics;
    summary.textContent = t("map.summary", { nodes: counts.nodes, edges: counts.edges, allEdges: st.net.edges.length,
      density: P.decimal(m.density, 3), components: m.components });
  }

  /** The large map: filters, highlights and the findings' subjects, over the map's data. */
  function redrawCanvas() {
    const matches = st.search ? new Set(st.net.nodes.filter((n) => n.name.toLowerCase().includes(st.search)).map((n) => n.id)) : null;
    const community = st.community === "" ? null : +st.community;
    const counts = draw.render(st.net, {
      minStrength: st.minStrength, selected: st.selected, matches, highlight: st.highlight, highlightPairs: st.highlightPairs,
      flagged: st.flagged, colourBy: st.colourBy,
      visible: (n) => (!st.kind || n.kind === st.kind) && (!st.theme || (themesOf.get(n.id) || []).includes(st.theme))
        && (community === null || n.community === community),
    });
    asofOut.textContent = st.asOf ? t("time.asof", { date: P.date(st.net.as_of) }) : t("time.latest", { date: P.date(st.net.as_of) });
    sayCounts(counts);
  }
  /** The large map's summary: what is drawn of what there is. */
  function sayCounts(counts) {
    summary.textContent = t("map.summary.large", { nodes: counts.nodes, allNodes: st.net.nodes.length, edges: counts.edges, allEdges: st.net.ties.length });
  }

  function clearHighlight() { st.finding = null; st.highlight = null; st.highlightPairs = null; }

  function renderFindings() {
    const list = st.gaps ? st.gaps.findings : [];
    const order = { high: 0, medium: 1, low: 2 };
    const sorted = [...list].sort((a, b) => order[a.severity] - order[b.severity]);
    P.fill(findings, 
      h("h2", { id: "findings-title" }, t(canvas && st.gaps && st.gaps.next ? "findings.first" : "findings.title", { n: list.length })),
      h("p", { class: "muted small" }, t("findings.hint"), " ",
        h("a", { href: P.link("gaps", programme, { as_of: st.asOf }) }, t("findings.all"))),
      st.finding ? h("button", { type: "button", class: "linkish", onclick: () => { clearHighlight(); redraw(); renderFindings(); } }, t("findings.clear")) : null,
      h("ul", { class: "finding-list" }, sorted.map((f) => h("li", {},
        h("button", { type: "button", class: "finding" + (st.finding === f.id ? " active" : ""), "aria-pressed": String(st.finding === f.id),
          "data-finding": f.id, onclick: () => lightUp(f) },
          h("span", { class: "sev " + f.severity }, P.word("severity", f.severity)), " ",
          h("strong", {}, P.word("gapkind", f.kind)), h("span", { class: "expl" }, firstSentence(f.explanation[P.lang] || f.explanation.en)))))));
  }

  /** Lights up a finding's subjects: its stakeholders, and the ends of its partnerships. */
  function lightUp(f) {
    if (st.finding === f.id) { clearHighlight(); redraw(); renderFindings(); return; }
    const ids = new Set(st.net.nodes.map((n) => n.id));
    const lit = new Set(f.subjects.filter((x) => ids.has(x)));
    const pairs = new Set();
    if (canvas) {
      st.finding = f.id; st.highlight = lit; st.highlightPairs = pairs;
      redraw(); renderFindings();
      if (lit.size) draw.focusNode([...lit][0]);
      return;
    }
    for (const e of st.net.edges) {
      if (e.partnership && f.subjects.includes(e.partnership.id)) { lit.add(e.a); lit.add(e.b); pairs.add(NetDraw.pair(e.a, e.b)); }
    }
    if (f.kind === "single_point_of_failure" || f.kind === "suggested_introduction") {
      for (const e of st.net.edges) if (lit.has(e.a) && lit.has(e.b)) pairs.add(NetDraw.pair(e.a, e.b));
    }
    st.finding = f.id; st.highlight = lit; st.highlightPairs = pairs;
    redraw(); renderFindings();
  }

  async function select(id) {
    st.selected = st.selected === id ? null : id;
    P.setParam("focus", st.selected);
    redraw();
    await renderDetail();
  }

  /** A contact's fields in one line; erased (or unreadable) fields said once. */
  function contactText(c) {
    const parts = [c.person, c.email, c.phone].filter(Boolean);
    const marked = new Set(parts.filter((v) => typeof v === "object").map(P.personal));
    return [...parts.filter((v) => typeof v !== "object"), ...marked].join(" · ");
  }

  async function renderDetail() {
    if (!st.selected) {
      P.fill(detail, h("h2", { id: "detail-title" }, t("detail.title")), h("p", { class: "muted small" }, t("detail.hint")));
      return;
    }
    const id = st.selected;
    let d;
    try {
      d = await P.api("getStakeholder", { id, programme, as_of: st.asOf || undefined, limit: 1000 });
      const [ties, contacts] = await Promise.all([P.rest(d, "ties", "ties_next"), P.rest(d, "contacts", "contacts_next")]);
      d = { ...d, ties, contacts };
    } catch (e) {
      if (e.status === 404) { st.selected = null; return renderDetail(); }
      throw e;
    }
    if (id !== st.selected) return;
    const s = d.stakeholder;
    const node = st.net.nodes.find((n) => n.id === id);
    const nameOf = (x) => P.short(names.get(x) || st.net.nodes.find((n) => n.id === x)?.name || x, 44);
    const ties = [...d.ties].sort((a, b) => (b.present - a.present) || (b.strength - a.strength));
    const mine = notes.notes.filter((n) => n.about.stakeholder === id);
    P.fill(detail, 
      h("div", { class: "detail-head" },
        h("h2", { id: "detail-title", tabindex: "-1" }, s.name),
        h("button", { type: "button", class: "close", "aria-label": t("detail.close"), onclick: () => select(id) }, "×")),
      h("dl", { class: "facts" },
        h("dt", {}, t("detail.kind")), h("dd", {}, h("span", { class: "swatch", "data-kind": s.kind }), P.word("kind", s.kind)),
        s.themes.length ? [h("dt", {}, t("detail.themes")), h("dd", {}, s.themes.map((x) => P.theme(x)).join(", "))] : null,
        s.territory ? [h("dt", {}, t("detail.territory")), h("dd", {}, s.territory)] : null,
        h("dt", {}, t("detail.registered")), h("dd", {}, P.date(s.registered_at)),
        s.archived ? [h("dt", {}, t("detail.archived")), h("dd", {}, "✓")] : null,
        s.contact && Object.keys(s.contact).length ? [h("dt", {}, t("detail.contact")),
          h("dd", { class: "contact" }, contactText(s.contact))] : null),
      node && "degree" in node ? h("details", { class: "metrics", open: true }, h("summary", {}, t("detail.metrics")),
        h("table", { class: "kv" }, h("tbody", {}, P.vocab("metric")
          .map((m) => h("tr", {}, h("th", { scope: "row" }, t("metric." + m)), h("td", {}, P.num(node[m], 3))))))) : null,
      h("details", { class: "ties", open: true }, h("summary", {}, t("detail.ties", { n: ties.filter((x) => x.present).length })),
        h("ul", { class: "tie-list" }, ties.map((x) => h("li", { class: x.present ? "" : "gone" },
          h("button", { type: "button", class: "linkish", onclick: () => select(x.with) }, nameOf(x.with)),
          h("span", { class: "bar", "aria-hidden": "true" }, h("span", { class: "fill", "data-w": String(Math.round(100 * Math.min(1, x.strength))) })),
          h("span", { class: "small muted" }, [
            x.present ? t("detail.strength", { s: P.decimal(x.strength, 2) }) : t("detail.notpresent"),
            x.partnership ? t("detail.partnership", { kind: P.word("pkind", x.partnership.kind) }) : null,
            x.contacts.count ? t("detail.ncontacts", { n: x.contacts.count }) : null,
            x.sessions.length ? t("detail.sessions", { n: x.sessions.length }) : null].filter(Boolean).join(" · ")))))),
      h("details", { class: "contacts" }, h("summary", {}, t("detail.contacts", { n: d.contacts.length })),
        h("ol", { class: "contact-list" }, [...d.contacts].reverse().map((c) => h("li", {},
          h("strong", {}, P.date(c.occurred_at)), " ", nameOf(c.from), " → ", nameOf(c.to),
          ` · ${P.word("channel", c.channel)} · ${P.word("outcome", c.outcome)}`,
          c.purpose ? h("div", { class: "small" }, c.purpose) : null,
          c.follow_up_due ? h("div", { class: "small muted" }, t("detail.followup", { date: P.date(c.follow_up_due) })) : null)))),
      h("details", { class: "notes", open: mine.length > 0 }, h("summary", {}, t("detail.notes") + ` (${mine.length})`),
        mine.length ? h("ul", {}, mine.map((n) => h("li", {}, h("blockquote", {}, n.text), h("span", { class: "small muted" }, `${n.recorded_by} · ${P.date(n.occurred_at)}`))))
          : h("p", { class: "muted small" }, t("detail.none"))));
    NetDraw.paint(detail);
    for (const f of detail.querySelectorAll(".fill[data-w]")) f.style.width = f.dataset.w + "%";
  }

  function renderDiff() {
    const d = st.diff;
    diffPanel.hidden = !d;
    if (!d) { P.fill(diffPanel); return; }
    const nm = (x) => P.short(names.get(x) || x, 34);
    const list = (items, f) => (items.length ? h("ul", {}, items.map((x) => h("li", {}, f(x)))) : h("p", { class: "muted small" }, t("diff.none")));
    P.fill(diffPanel, 
      h("h2", {}, t("diff.title", { label: P.short(d.label, 70) })),
      h("p", { class: "small" }, t("diff.range", { from: P.date(d.from.as_of), to: P.date(d.to.as_of) })),
      h("p", { class: "muted small" }, t("diff.legend")),
      h("h3", { class: "gained-h" }, t("diff.gained", { n: d.ties_added.length })), list(d.ties_added, ([a, b]) => `${nm(a)} — ${nm(b)}`),
      h("h3", { class: "lost-h" }, t("diff.lost", { n: d.ties_removed.length })), list(d.ties_removed, ([a, b]) => `${nm(a)} — ${nm(b)}`),
      h("h3", {}, t("diff.added", { n: d.stakeholders_added.length })), list(d.stakeholders_added, nm),
      d.stakeholders_removed.length ? [h("h3", {}, t("diff.removed", { n: d.stakeholders_removed.length })), list(d.stakeholders_removed, nm)] : null,
      h("p", { class: "small" }, t("diff.opened", { n: d.findings_opened.length }), " · ", t("diff.closed", { n: d.findings_closed.length })),
      h("button", { type: "button", onclick: () => { st.diff = null; redraw(); renderDiff(); } }, t("diff.close")));
  }

  /** Month stops: {month: "YYYY-MM", end: last second of the month}, each before `latestIso`. */
  function monthsBetween(startYm, latestIso) {
    const out = [];
    let [y, m] = startYm.split("-").map(Number);
    for (;;) {
      const end = new Date(Date.UTC(y, m, 0, 23, 59, 59)).toISOString().replace(".000Z", "Z");
      if (end >= latestIso) return out;
      out.push({ month: `${y}-${String(m).padStart(2, "0")}`, end });
      m += 1; if (m > 12) { m = 1; y += 1; }
    }
  }
  /** The slider stop of a time: the month it falls in, or the latest stop. */
  function monthIndex(iso) {
    const i = months.findIndex((x) => x.month === iso.slice(0, 7));
    return i < 0 ? months.length : i;
  }
  function firstSentence(text) {
    const cut = text.split(/(?<=[.!?])\s/)[0];
    return cut.length > 160 ? cut.slice(0, 159) + "…" : cut;
  }

  if (!st.selected) renderDetail();
  // A large map draws the latest network it already has, unless the address asks for another time.
  await load(st.asOf, canvas && !st.asOf);
  if (st.asOf) slider.value = String(monthIndex(st.asOf));
});
