// Programme comparison (`/compare`): the mentee's and the mentor's networks
// side by side, each drawn from its own layout, with their key metrics in
// one table, then each finding of the mentee beside what the mentor does on
// its theme or sector (the report's `practice`, which the API gives only to
// readers of both programmes).
"use strict";
P.page(async ({ main, programmes }) => {
  const { h, t } = P;
  main.append(h("h1", { class: "page-title" }, t("compare.title")));
  if (programmes.length < 2) { main.append(h("p", { class: "notice-box" }, t("compare.needtwo"))); return; }
  const byRole = (r) => programmes.find((p) => p.role === r);
  const ids = programmes.map((p) => p.id);
  const left = ids.includes(P.param("left")) ? P.param("left") : (byRole("mentee") || programmes[0]).id;
  const right = ids.includes(P.param("right")) ? P.param("right") : (byRole("mentor") || programmes.find((p) => p.id !== left)).id;
  const pick = (id, value, label) => {
    const sel = h("select", { id }, programmes.map((p) => h("option", { value: p.id, selected: p.id === value }, p.name)));
    sel.onchange = () => { P.setParam(id, sel.value); location.reload(); };
    return h("label", {}, label, sel);
  };
  main.append(h("div", { class: "toolbar" }, pick("left", left, t("compare.left")), pick("right", right, t("compare.right"))));

  const load = async (id) => {
    const [net, gaps, part] = await Promise.all([P.api("getNetwork", { programme: id }), P.all("getGaps", { programme: id }, "findings"), P.api("getParticipation", { programme: id })]);
    return { p: programmes.find((x) => x.id === id), net, gaps, part };
  };
  const sides = await Promise.all([load(left), load(right)]);
  const cols = h("div", { class: "compare" });
  main.append(cols);
  for (const side of sides) {
    const host = h("div", { class: "map-host small-map" });
    cols.append(h("section", { class: "compare-col", "aria-labelledby": "c-" + side.p.id },
      h("h2", { id: "c-" + side.p.id }, side.p.name, " ", h("span", { class: "muted" }, `(${P.word("programme.role", side.p.role)}, ${side.p.country || ""})`)),
      h("p", { class: "small muted" }, t("compare.asof", { date: P.date(side.net.as_of) }), " · ",
        h("a", { href: P.link("map", side.p.id) }, t("compare.open"))),
      host));
    const draw = NetDraw.create(host, { label: t("map.label", { programme: side.p.name }), interactive: false });
    draw.render(side.net, { metric: "betweenness", labels: 6 });
  }

  const rows = [
    [t("compare.stakeholders"), (s) => s.net.metrics.nodes],
    [t("compare.ties"), (s) => s.net.metrics.edges],
    [t("compare.avgdegree"), (s) => P.decimal(s.net.metrics.nodes ? (2 * s.net.metrics.edges) / s.net.metrics.nodes : 0, 2)],
    [t("compare.density"), (s) => P.decimal(s.net.metrics.density, 3)],
    [t("compare.components"), (s) => s.net.metrics.components],
    [t("compare.communities"), (s) => `${s.net.metrics.communities} (${t("compare.modularity").toLowerCase()} ${P.decimal(s.net.metrics.modularity, 2)})`],
    [t("compare.ei"), (s) => P.decimal(s.net.metrics.ei_by_kind, 2)],
    [t("compare.articulation"), (s) => s.net.metrics.articulation_points.length],
    [t("compare.bridges"), (s) => s.net.metrics.bridges.length],
    [t("compare.brokers"), (s) => [...s.net.nodes].sort((a, b) => b.betweenness - a.betweenness).slice(0, 3)
      .map((n) => `${P.short(n.name, 30)} (${P.decimal(n.betweenness, 2)})`).join("; ")],
    [t("compare.findings"), (s) => P.vocab("severity").map((v) => s.gaps.findings.filter((f) => f.severity === v).length).join(" / ")],
    [t("compare.sessions"), (s) => s.part.sessions.length],
    [t("compare.beneficiaries"), (s) => { const v = s.part.sessions.map((x) => x.total); return v.includes(null) ? "≥ " + P.num(v.reduce((a, b) => a + (b || 0), 0), 0) : P.num(v.reduce((a, b) => a + b, 0), 0); }],
    [t("compare.womenshare"), (s) => {
      const ok = s.part.sessions.filter((x) => x.women !== null && x.total);
      const tot = ok.reduce((a, x) => a + x.total, 0);
      return tot ? P.pct(ok.reduce((a, x) => a + x.women, 0) / tot) : "–";
    }],
    [t("compare.toplevel"), (s) => {
      const L = P.vocab("level");
      const top = Math.max(-1, ...s.part.sessions.map((x) => L.indexOf(x.level)));
      return top < 0 ? "–" : P.word("level", L[top]);
    }],
  ];
  main.append(h("table", { class: "data compare-table" },
    h("thead", {}, h("tr", {}, h("th", { scope: "col" }, t("compare.metric")), sides.map((s) => h("th", { scope: "col" }, s.p.name)))),
    h("tbody", {}, rows.map(([label, f]) => h("tr", {}, h("th", { scope: "row" }, label), sides.map((s) => h("td", {}, String(f(s)))))))));

  const say = (b) => b[P.lang] || b.en;
  const mentee = sides.find((s) => s.p.role === "mentee") || sides[0];
  const other = sides.find((s) => s !== mentee);
  main.append(h("section", { class: "compare-practice", "aria-labelledby": "practice-h" },
    h("h2", { id: "practice-h" }, t("compare.practice.title", { mentee: mentee.p.name, mentor: other.p.name })),
    h("table", { class: "data practice-table" },
      h("thead", {}, h("tr", {}, h("th", { scope: "col" }, t("compare.practice.finding")),
        h("th", { scope: "col" }, t("compare.practice.mentor", { mentor: other.p.name })))),
      h("tbody", {}, mentee.gaps.findings.map((f) => {
        const theirs = f.practice.filter((p) => p.programme === other.p.id);
        return h("tr", { "data-finding": f.id },
          h("td", {}, h("span", { class: "sev " + f.severity }, P.word("severity", f.severity)), " ",
            h("strong", {}, P.word("gapkind", f.kind)), h("br"), say(f.explanation)),
          h("td", { class: "practice" }, theirs.length ? theirs.map((p) => h("p", {}, say(p.text))) : h("span", { class: "muted" }, "–")));
      })))));
});
