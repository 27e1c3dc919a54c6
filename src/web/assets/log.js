// The event log of a programme (`/log`): every event in order, so the gap
// report's evidence links (`/log#ev-<id>`) land on the events themselves.
// Admins and coordinators only, as the API serves the raw log: other roles
// get the reason instead, and the page asks the API nothing.
"use strict";
P.page(async ({ main, programme, me }) => {
  const { h, t } = P;
  if (!P.can.log) {
    main.append(h("h1", { class: "page-title" }, t("log.title")),
      h("p", { class: "lead", id: "log-restricted" }, t("log.restricted", { role: P.word("role", me.role) })));
    return;
  }
  const events = await P.events(programme);
  /** The vocabulary of an event's `kind`. */
  const KINDS = { StakeholderRegistered: "kind", StakeholderProfileChanged: "kind", PartnershipFormed: "pkind",
    PartnershipRevised: "pkind", MilestoneMarked: "mkind" };
  const what = (e) => {
    const d = e.data || {};
    const parts = [d.name, d.title, d.label, d.text, d.purpose, d.description, d.reason,
      d.from && d.to ? `${d.from} → ${d.to}` : null, d.between ? d.between.join(" — ") : null,
      d.outcome ? P.word("outcome", d.outcome) : null, d.kind ? (KINDS[e.type] ? P.word(KINDS[e.type], d.kind) : d.kind) : null,
      d.theme ? P.theme(d.theme) : null, d.level ? P.word("level", d.level) : null];
    const id = d.stakeholder || d.partnership || d.session || d.need || d.milestone || d.note || d.programme || d.subject;
    return [id, ...parts].filter(Boolean).map((x) => P.short(String(x), 90)).join(" · ");
  };
  main.append(h("h1", { class: "page-title" }, t("log.title")),
    h("p", { class: "lead" }, t("log.count", { n: events.length, programme })),
    h("table", { class: "data log" },
      h("thead", {}, h("tr", {}, [t("log.position"), t("log.when"), t("log.type"), t("log.what"), t("log.by")].map((x) => h("th", { scope: "col" }, x)))),
      h("tbody", {}, events.map((e) => h("tr", { id: "ev-" + e.id },
        h("td", {}, String(e.position)), h("td", {}, P.date(e.occurred_at)), h("td", {}, h("code", {}, e.type)),
        h("td", {}, what(e)), h("td", {}, e.recorded_by))))));
  const target = location.hash && document.getElementById(location.hash.slice(1));
  if (target) { target.classList.add("target"); target.scrollIntoView({ block: "center" }); }
});
