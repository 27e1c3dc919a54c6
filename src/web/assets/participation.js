// Participation (`/participation`): SVG charts drawn here from the API —
// beneficiaries per session and per month, women's share, first-time and
// returning participants, IAP2 levels over time — each with its figures as a
// table. Counts the API hides for the role (1–4) show as "<5"; a month's
// sums then leave those sessions out, and the month says how many.
"use strict";
P.page(async ({ main, programme }) => {
  const { h, s, t } = P;
  const part = await P.api("getParticipation", { programme });
  const sessions = part.sessions;
  const LEVELS = P.vocab("level");
  const C = { women: "#b5446e", men: "#2f6690", undisclosed: "#9a9a9a", first_time: "#e09f3e", returning: "#335c67", total: "#1f4e79" };
  main.append(h("h1", { class: "page-title" }, t("part.title")));
  if (!sessions.length) { main.append(h("p", {}, t("part.empty"))); return; }
  const hidden = sessions.some((x) => x.suppressed || x.total === null || x.women === null)
    || part.months.some((m) => m.withheld > 0);
  if (hidden) main.append(h("p", { class: "muted" }, t("part.hidden")));
  const label = (x) => P.date(x.occurred_at);
  const grid = h("div", { class: "charts" });
  main.append(grid);

  grid.append(chart("persession", t("part.persession"), bars(sessions.map(label), sessions.map((x) => x.title),
    [["women", sessions.map((x) => x.women)], ["men", sessions.map((x) => x.men)], ["undisclosed", sessions.map((x) => x.undisclosed)]],
    sessions.map((x) => x.total)),
    table([t("part.date"), t("part.session"), t("part.level"), t("part.total"), t("part.women"), t("part.men"), t("part.undisclosed")],
      sessions.map((x) => [label(x), x.title, P.word("level", x.level), cnt(x.total), cnt(x.women), cnt(x.men), cnt(x.undisclosed)]))));

  const months = part.months;
  const held = (m) => (m.withheld ? `${m.sessions} (${t("part.withheld", { n: m.withheld })})` : String(m.sessions));
  grid.append(chart("permonth", t("part.permonth"), bars(months.map((m) => P.month(m.month)), months.map((m) => `${held(m)} ${t("part.sessions")}`),
    [["total", months.map((m) => m.total)]], months.map((m) => m.total), months.map((m) => m.women_share)),
    table([t("part.month"), t("part.sessions"), t("part.total"), t("part.share.s"), t("part.first_time"), t("part.returning.s")],
      months.map((m) => [P.month(m.month), held(m), cnt(m.total), P.pct(m.women_share), cnt(m.first_time), cnt(m.returning)]))));

  grid.append(chart("share", t("part.share"), shareLine(sessions.map(label), sessions.map((x) => x.title), sessions.map((x) => x.women_share)),
    table([t("part.date"), t("part.session"), t("part.share.s")], sessions.map((x) => [label(x), x.title, P.pct(x.women_share)]))));

  grid.append(chart("returning", t("part.returning"), bars(sessions.map(label), sessions.map((x) => x.title),
    [["first_time", sessions.map((x) => x.first_time)], ["returning", sessions.map((x) => x.returning)]], sessions.map((x) => x.total)),
    table([t("part.date"), t("part.session"), t("part.first_time"), t("part.returning.s")],
      sessions.map((x) => [label(x), x.title, cnt(x.first_time), cnt(x.returning)]))));

  const groupNames = new Map((await P.all("listStakeholders", { programme }, "stakeholders")).stakeholders.map((x) => [x.id, x.name]));
  grid.append(chart("levels", t("part.levels"), levels(),
    table([t("part.date"), t("part.session"), t("part.level")], sessions.map((x) => [label(x), x.title, P.word("level", x.level)]))));

  function cnt(x) { return x === null || x === undefined ? t("part.suppressed") : P.num(x, 0); }

  function chart(id, title, svg, tbl) {
    return h("figure", { class: "chart", id: "chart-" + id },
      h("figcaption", {}, h("h2", {}, title)), svg,
      h("details", {}, h("summary", {}, t("part.table")), tbl));
  }

  function table(head, rows) {
    return h("table", { class: "data" }, h("thead", {}, h("tr", {}, head.map((x) => h("th", { scope: "col" }, x)))),
      h("tbody", {}, rows.map((r) => h("tr", {}, r.map((c) => h("td", {}, c))))));
  }

  function legendRow(keys, extra) {
    return s("g", { class: "chart-legend", transform: "translate(50 14)" }, keys.map((k, i) => s("g", { transform: `translate(${i * 120} 0)` },
      s("rect", { width: "12", height: "12", y: "-10", fill: C[k] }), s("text", { x: "16" }, t(k === "returning" ? "part.returning.s" : "part." + k)))), extra || null);
  }

  /** Stacked bars; `totals` draws "<5" where parts are hidden; `share` adds a women's-share line (right axis). */
  function bars(cats, titles, series, totals, share) {
    const W = 640, H = 280, L = 44, R = share ? 44 : 14, T = 30, B = 58;
    const sums = cats.map((_, i) => Math.max(totals[i] ?? 0, series.reduce((a, [, v]) => a + (v[i] ?? 0), 0)));
    const { max, step } = niceMax(Math.max(5, ...sums));
    const bw = (W - L - R) / cats.length;
    const y = (v) => T + (H - T - B) * (1 - v / max);
    const svg = s("svg", { viewBox: `0 0 ${W} ${H}`, class: "chart-svg", role: "img", "aria-label": series.map(([k]) => k).join(", ") });
    for (let v = 0; v <= max + 1e-9; v += step) {
      svg.append(s("line", { class: "grid", x1: L, x2: W - R, y1: y(v), y2: y(v) }), s("text", { class: "tick", x: L - 6, y: y(v) + 4, "text-anchor": "end" }, P.num(v, 0)));
    }
    cats.forEach((c, i) => {
      const x = L + i * bw + bw * 0.15, w = bw * 0.7;
      let acc = 0;
      const known = series.every(([, v]) => v[i] !== null && v[i] !== undefined);
      const g = s("g", { class: "bar" }, s("title", {}, `${titles[i]} — ${c}`));
      if (known) {
        for (const [k, v] of series) {
          const val = v[i] || 0;
          if (val > 0) g.append(s("rect", { x, width: w, y: y(acc + val), height: y(acc) - y(acc + val), fill: C[k] }, s("title", {}, `${titles[i]}: ${val} ${t(k === "returning" ? "part.returning.s" : "part." + k)}`)));
          acc += val;
        }
        if (series.length > 1 || !share) g.append(s("text", { class: "value", x: x + w / 2, y: y(acc) - 4, "text-anchor": "middle" }, P.num(acc, 0)));
      } else if (totals[i] !== null && totals[i] !== undefined) {
        g.append(s("rect", { class: "hidden-bar", x, width: w, y: y(totals[i]), height: y(0) - y(totals[i]) }),
          s("text", { class: "value", x: x + w / 2, y: y(totals[i]) - 4, "text-anchor": "middle" }, P.num(totals[i], 0)));
      } else {
        g.append(s("text", { class: "value muted", x: x + w / 2, y: y(0) - 4, "text-anchor": "middle" }, t("part.suppressed")));
      }
      g.append(s("text", { class: "cat", x: x + w / 2, y: H - B + 16, "text-anchor": "middle" }, c));
      svg.append(g);
    });
    svg.append(s("line", { class: "axis", x1: L, x2: W - R, y1: y(0), y2: y(0) }));
    if (share) {
      const ys = (v) => T + (H - T - B) * (1 - v);
      const pts = share.map((v, i) => (v === null ? null : [L + i * bw + bw / 2, ys(v)])).filter(Boolean);
      svg.append(s("polyline", { class: "share-line", points: pts.map((p) => p.join(",")).join(" ") }),
        ...pts.map(([x, yy]) => s("circle", { class: "share-dot", cx: x, cy: yy, r: 4 })),
        ...[0, 0.5, 1].map((v) => s("text", { class: "tick", x: W - R + 6, y: ys(v) + 4 }, P.pct(v))));
      svg.append(legendRow(series.map(([k]) => k), s("g", { transform: `translate(${series.length * 120} 0)` },
        s("line", { class: "share-line", x1: 0, x2: 14, y1: -4, y2: -4 }), s("text", { x: 18 }, t("part.share.s")))));
    } else svg.append(legendRow(series.map(([k]) => k)));
    return svg;
  }

  function shareLine(cats, titles, values) {
    const W = 640, H = 240, L = 48, R = 14, T = 20, B = 40;
    const x = (i) => L + ((W - L - R) * (i + 0.5)) / cats.length;
    const y = (v) => T + (H - T - B) * (1 - v);
    const svg = s("svg", { viewBox: `0 0 ${W} ${H}`, class: "chart-svg", role: "img", "aria-label": t("part.share") });
    for (const v of [0, 0.25, 0.5, 0.75, 1]) svg.append(s("line", { class: v === 0.5 ? "grid ref" : "grid", x1: L, x2: W - R, y1: y(v), y2: y(v) }),
      s("text", { class: "tick", x: L - 6, y: y(v) + 4, "text-anchor": "end" }, P.pct(v)));
    const pts = values.map((v, i) => (v === null ? null : [x(i), y(v), i])).filter(Boolean);
    svg.append(s("polyline", { class: "share-line", points: pts.map(([a, b]) => `${a},${b}`).join(" ") }));
    for (const [a, b, i] of pts) svg.append(s("circle", { class: "share-dot", cx: a, cy: b, r: 5 }, s("title", {}, `${titles[i]}: ${P.pct(values[i])}`)),
      s("text", { class: "value", x: a, y: b - 9, "text-anchor": "middle" }, P.pct(values[i])));
    cats.forEach((c, i) => svg.append(s("text", { class: "cat", x: x(i), y: H - B + 16, "text-anchor": "middle" }, c),
      values[i] === null && sessions[i].total !== 0 ? s("text", { class: "value muted", x: x(i), y: y(0) - 4, "text-anchor": "middle" }, t("part.share_hidden")) : null));
    return svg;
  }

  /** IAP2 level of each session over time, and each beneficiary group's trajectory. */
  function levels() {
    const W = 640, H = 300, L = 96, R = 150, T = 20, B = 40;
    const times = sessions.map((x) => Date.parse(x.occurred_at));
    const t0 = Math.min(...times), t1 = Math.max(...times) + 1;
    const x = (ms) => L + ((W - L - R) * (ms - t0)) / (t1 - t0);
    const y = (lvl) => T + ((H - T - B) * (LEVELS.length - 1 - LEVELS.indexOf(lvl))) / (LEVELS.length - 1);
    const svg = s("svg", { viewBox: `0 0 ${W} ${H}`, class: "chart-svg", role: "img", "aria-label": t("part.levels") });
    for (const l of LEVELS) svg.append(s("line", { class: "grid", x1: L, x2: W - R, y1: y(l), y2: y(l) }),
      s("text", { class: "tick", x: L - 8, y: y(l) + 4, "text-anchor": "end" }, P.word("level", l)));
    const palette = ["#b5446e", "#2f6690", "#e09f3e", "#335c67", "#7b2cbf", "#588157"];
    part.trajectories.forEach((tr, i) => {
      const pts = tr.steps.map((st) => [x(Date.parse(st.occurred_at)), y(st.level) + (i - part.trajectories.length / 2) * 3]);
      if (!pts.length) return;
      const col = palette[i % palette.length];
      const line = s("polyline", { class: "trajectory", points: pts.map((p) => p.join(",")).join(" ") });
      line.style.stroke = col;
      svg.append(line);
      const ly = T + 14 + i * 16;
      const key = s("line", { x1: W - R + 10, x2: W - R + 24, y1: ly - 4, y2: ly - 4, class: "trajectory" });
      key.style.stroke = col;
      svg.append(key, s("text", { class: "tick", x: W - R + 28, y: ly }, P.short(groupNames.get(tr.group) || tr.group, 18)));
    });
    sessions.forEach((se, i) => svg.append(s("circle", { class: "level-dot", cx: x(times[i]), cy: y(se.level), r: 6 },
      s("title", {}, `${P.date(se.occurred_at)} — ${se.title}: ${P.word("level", se.level)}`))));
    const years = [...new Set(sessions.map((se) => se.occurred_at.slice(0, 7)))];
    for (const ym of years.filter((_, i) => i % 2 === 0)) {
      const ms = Date.parse(ym + "-01T00:00:00Z");
      if (ms >= t0) svg.append(s("text", { class: "cat", x: x(ms), y: H - B + 18, "text-anchor": "middle" }, P.month(ym)));
    }
    svg.append(s("text", { class: "tick", x: W - R + 10, y: T }, t("part.groups").slice(0, 24)));
    return svg;
  }

  /** A round top for an axis and its step (1, 2 or 5 × 10ⁿ), in four steps or fewer. */
  function niceMax(v) {
    const raw = v / 4, p = 10 ** Math.floor(Math.log10(raw));
    const step = [1, 2, 5, 10].map((m) => m * p).find((x) => x >= raw);
    return { max: step * Math.ceil(v / step), step };
  }
});
