// The gap report (`/gaps`): findings grouped by kind, each group headed by
// its size (the API's `counts` of the whole report), the most important
// group first and, within it, the most important findings first. A small
// report is shown whole; a large one shows the first findings of each group
// and a "show more" that pages through the API with the group's kind. A
// severity filter. Each finding with its explanation, next step, the kinds
// of the findings merged into it, the stakeholders it proposes to
// introduce, subjects, evidence (links into the event log for the roles
// that may read it, numbered items for the others), what the mentor
// programmes do on its theme or sector (`practice`, given by the API only to
// readers of those programmes) and the review notes about it (`notes`); a
// form to add a note on a finding, a stakeholder or a need.
"use strict";
P.page(async ({ main, programme }) => {
  const { h, t } = P;
  /** A text in the page's language (English when it has none). */
  const say = (b) => b[P.lang] || b.en;
  const asOf = P.param("as_of");
  const KINDS = P.vocab("gapkind"), SEVERITIES = P.vocab("severity");
  /** A report of at most this many findings is shown whole. */
  const WHOLE = 60;
  /** Findings shown first in each group of a larger report, and per "show more". */
  const FIRST = 5, MORE = 25;
  const read = (extra) => P.api("getGaps", { programme, as_of: asOf || undefined, ...extra });
  const [first, directory, needs] = await Promise.all([
    read({ limit: WHOLE }), P.all("listStakeholders", { programme }, "stakeholders"),
    P.all("listNeeds", { programme }, "needs"),
  ]);
  const counts = first.counts;
  const whole = !first.next;
  // The event log labels the evidence of a small report (admins and coordinators).
  const log = whole && P.can.log ? await P.events(programme) : [];
  // Notes about needs (a finding's notes come with it).
  let notes = (await P.all("listNotes", { programme }, "notes")).notes;
  /** Each drawn notes block, to draw again once a note is saved. */
  const redraws = [];
  const names = new Map(directory.stakeholders.map((s) => [s.id, s.name]));
  const nameOf = (id) => P.short(names.get(id) || id, 40);
  const needById = new Map(needs.needs.map((n) => [n.id, n]));
  const events = new Map(log.map((e) => [e.id, e]));
  /** How many findings of `of` (a `SeverityCounts` with its `total`) the filter keeps. */
  const sized = (of, total, sev) => (sev ? of[sev] : total);
  /** The shown groups: kind → { findings shown, cards box, button }. */
  let groups = new Map();

  const filter = h("select", { id: "gap-severity", name: "severity" },
    h("option", { value: "" }, t("gaps.filter.all")),
    SEVERITIES.map((s) => h("option", { value: s }, `${P.word("severity", s)} (${counts.by_severity[s]})`)));
  const lead = h("p", { class: "lead" });
  const toc = h("nav", { class: "toc", "aria-label": t("gaps.title") });
  const body = h("div", { class: "gap-groups" });
  main.append(
    h("h1", { class: "page-title" }, t("gaps.title")),
    h("p", { class: "lead" }, t("gaps.summary", { n: counts.total, date: P.date(first.as_of), high: counts.by_severity.high, medium: counts.by_severity.medium, low: counts.by_severity.low })),
    h("p", { class: "gap-filter" }, h("label", { for: filter.id }, t("gaps.filter")), " ", filter),
    lead, toc, body);
  filter.value = SEVERITIES.includes(P.param("severity")) ? P.param("severity") : "";
  filter.onchange = () => { P.setParam("severity", filter.value || null); draw().catch(P.fail); };
  await draw();

  main.append(h("section", { class: "gap-kind", id: "needs", "aria-labelledby": "h-needs" },
    h("h2", { id: "h-needs" }, t("gaps.needs")),
    needs.needs.length > WHOLE
      ? h("details", { class: "needs-all" }, h("summary", {}, `${t("gaps.needs")} (${needs.needs.length})`), h("div", { class: "cards" }, needs.needs.map(needCard)))
      : h("div", { class: "cards" }, needs.needs.map(needCard))));

  if (location.hash) document.getElementById(location.hash.slice(1))?.scrollIntoView();

  /** The groups for the chosen severity: the kinds with findings, most
   * important first (the API's order), then the kinds without. */
  async function draw() {
    const sev = filter.value;
    const known = new Map(counts.by_kind.map((k) => [k.kind, k]));
    const order = [...counts.by_kind.map((k) => k.kind), ...KINDS.filter((k) => !known.has(k))];
    const size = (k) => (known.has(k) ? sized(known.get(k).by_severity, known.get(k).total, sev) : 0);
    const kinds = [...order.filter((k) => size(k) > 0), ...order.filter((k) => size(k) === 0)];
    // A whole report is grouped here; a larger one is read group by group.
    const shown = new Map(await Promise.all(kinds.filter((k) => size(k) > 0).map(async (k) => [k, whole
      ? first.findings.filter((f) => f.kind === k && (!sev || f.severity === sev))
      : (await read({ kind: k, severity: sev || undefined, limit: FIRST })).findings])));
    await Promise.all([...shown.values()].map(withEvidence));
    const total = sized(counts.by_severity, counts.total, sev);
    P.fill(lead, sev ? t("gaps.filtered", { n: total, severity: P.word("severity", sev), total: counts.total }) : null);
    P.fill(toc, h("ul", {}, kinds.map((k) => h("li", { "data-kind": k }, h("a", { href: "#kind-" + k }, P.word("gapkind", k)), ` (${size(k)})`))));
    groups = new Map();
    P.fill(body, kinds.map((k) => group(k, size(k), shown.get(k) || [], sev)));
  }

  /** One kind's section: its heading with its size, its findings, and "show more". */
  function group(kind, n, findings, sev) {
    const cards = h("div", { class: "cards" }, findings.map(card));
    const state = { findings: [...findings], cards, sev };
    const tally = h("span", { class: "shown small muted" });
    const more = h("button", { type: "button", class: "secondary more" });
    const update = () => {
      const left = n - state.findings.length;
      tally.textContent = left > 0 ? t("gaps.group.shown", { shown: state.findings.length, n }) : "";
      more.hidden = left <= 0;
      more.textContent = t("gaps.more", { left });
    };
    more.onclick = async () => {
      more.disabled = true;
      try {
        const last = state.findings[state.findings.length - 1];
        const page = await read({ kind, severity: sev || undefined, after: last.id, limit: MORE });
        await withEvidence(page.findings);
        state.findings.push(...page.findings);
        cards.append(...page.findings.map(card));
        update();
      } catch (x) { P.fail(x); } finally { more.disabled = false; }
    };
    update();
    groups.set(kind, state);
    return h("section", { class: "gap-kind", id: "kind-" + kind, "data-kind": kind, "data-count": n, "aria-labelledby": "h-" + kind },
      h("h2", { id: "h-" + kind }, P.word("gapkind", kind), h("span", { class: "count" }, ` ${n}`)),
      h("p", { class: "muted" }, t("gapdesc." + kind)),
      n ? null : h("p", { class: "muted small" }, t("gaps.none")),
      cards, h("p", { class: "group-more" }, tally, " ", more));
  }

  /** Each finding of `findings` with the whole of its evidence (the report gives the first ids). */
  async function withEvidence(findings) {
    await Promise.all(findings.filter((f) => f.evidence_next).map(async (f) => {
      f.evidence = await P.rest(f, "evidence", "evidence_next", "next");
      f.evidence_next = null;
    }));
  }

  function subjectChip(x) {
    if (names.has(x)) return h("a", { class: "chip", href: P.link("map", programme, { focus: x, as_of: asOf }) }, P.short(names.get(x), 40));
    if (needById.has(x)) return h("a", { class: "chip need", href: "#need-" + x }, needById.get(x).description ? P.short(needById.get(x).description, 40) : x);
    return h("span", { class: "chip plain" }, P.theme(x));
  }

  function evidenceLink(id, i) {
    const e = events.get(id);
    const label = e ? `${e.type} · ${P.date(e.occurred_at)}` : t("gaps.evidence.item", { n: i + 1 });
    if (!P.can.log) return h("span", { title: id }, label);
    return h("a", { href: P.link("log", programme, { hash: "ev-" + id }), title: id }, label);
  }

  /** The kinds of the findings merged into `f` (`kind/subjects` ids), each once, with how many. */
  function alsoCovers(f) {
    const kinds = new Map();
    for (const id of f.merged) { const k = id.split("/")[0]; kinds.set(k, (kinds.get(k) || 0) + 1); }
    return h("p", { class: "also-covers small muted" }, t("gaps.alsocovers", {
      kinds: [...kinds].map(([k, n]) => P.word("gapkind", k) + (n > 1 ? ` (${n})` : "")).join(", "),
    }));
  }
  /** What a mentor programme does on the finding's theme or sector. */
  function practice(p) {
    return h("div", { class: "practice", "data-programme": p.programme },
      h("p", {}, h("strong", {}, t("gaps.practice")), " ", say(p.text)),
      p.evidence.length ? h("details", { class: "evidence" }, h("summary", {}, `${t("gaps.evidence")} (${p.evidence.length})`),
        h("ul", {}, p.evidence.map((id, i) => h("li", {}, P.can.log
          ? h("a", { href: P.link("log", p.programme, { hash: "ev-" + id }), title: id }, t("gaps.evidence.item", { n: i + 1 }))
          : h("span", { title: id }, t("gaps.evidence.item", { n: i + 1 })))))) : null);
  }
  function card(f) {
    const el = h("article", { class: "card finding-card sev-" + f.severity, id: "f-" + f.id.replace(/[^a-z0-9_-]/gi, "_"), "data-finding": f.id },
      h("p", { class: "expl" }, say(f.explanation)),
      h("p", { class: "suggestion" }, h("strong", {}, t("gaps.suggestion"), " → "), say(f.suggestion)),
      f.merged.length ? alsoCovers(f) : null,
      f.introduces.length ? h("p", { class: "introduces small" }, h("span", { class: "label" }, t("gaps.introduces")), " ",
        f.introduces.map(([a, b]) => h("span", { class: "chip plain" }, `${nameOf(a)} ↔ ${nameOf(b)}`))) : null,
      f.practice.map(practice),
      h("div", { class: "meta" },
        h("span", { class: "label" }, t("gaps.subjects")), " ", f.subjects.map(subjectChip)),
      f.evidence.length ? h("details", { class: "evidence" }, h("summary", {}, `${t("gaps.evidence")} (${f.evidence.length})`),
        h("ul", {}, f.evidence.map((id, i) => h("li", {}, evidenceLink(id, i))))) : null,
      h("a", { class: "small", href: P.link("map", programme, { as_of: asOf, focus: f.subjects.find((x) => names.has(x)) }) }, t("gaps.onmap")));
    const aboutOptions = [["gap", f.id, t("gaps.note.finding")],
      ...f.subjects.filter((x) => names.has(x)).map((x) => ["stakeholder", x, P.short(names.get(x), 40)]),
      ...f.subjects.filter((x) => needById.has(x)).map((x) => ["need", x, P.short(needById.get(x).description || x, 40)])];
    el.append(notesBlock(() => f.notes, aboutOptions));
    return el;
  }

  function needCard(n) {
    return h("article", { class: "card need-card", id: "need-" + n.id },
      h("p", {}, h("strong", {}, n.action), " · ", P.theme(n.theme), " · ", h("span", { class: "status " + n.status }, P.word("status", n.status)),
        n.priority ? [" · ", P.word("priority", n.priority)] : null),
      n.description ? h("p", {}, n.description) : null,
      n.addressed_by.length ? h("p", { class: "small" }, n.addressed_by.map(subjectChip)) : null,
      notesBlock(() => notes.filter((x) => x.about.need === n.id), [["need", n.id, P.short(n.description || n.id, 40)]]));
  }

  /** After a note was saved: the notes as of the append, in the shown
   * findings (each group read again as far as it is shown) and for the needs. */
  async function reload(position) {
    const shown = [...groups].filter(([, g]) => g.findings.length);
    const [pages, listed] = await Promise.all([
      Promise.all(shown.map(([k, g]) => read({ kind: k, severity: g.sev || undefined, limit: Math.min(1000, g.findings.length), min_position: position }))),
      P.all("listNotes", { programme, min_position: position }, "notes")]);
    const byId = new Map(pages.flatMap((p) => p.findings).map((f) => [f.id, f]));
    for (const [, g] of shown) for (const f of g.findings) if (byId.has(f.id)) f.notes = byId.get(f.id).notes;
    notes = listed.notes;
    for (const draw of redraws) draw();
  }

  /** The notes `mine()` gives (their text as text), and (for roles that may) a form to add one about one of `about`. */
  function notesBlock(mine, about) {
    const box = h("div", { class: "notes-block" });
    const draw = () => {
      const list = mine();
      P.fill(box,
        list.length ? h("div", { class: "notes" }, h("h4", {}, t("gaps.notes")),
          h("ul", {}, list.map((n) => h("li", { "data-note": n.id }, h("blockquote", { text: n.text }),
            h("span", { class: "small muted" }, `${n.recorded_by} · ${P.date(n.occurred_at)}`))))) : null,
        P.can.note ? h("button", { type: "button", class: "secondary add-note", onclick: () => open() }, t("gaps.addnote")) : null);
    };
    // Another block's open form is left as it is.
    redraws.push(() => { if (box.isConnected && !box.querySelector("form")) draw(); });
    const open = () => {
      const uid = Math.random().toString(36).slice(2, 10);
      const sel = h("select", { name: "about", id: "about-" + uid }, about.map(([k, v, label], i) => h("option", { value: i }, label)));
      const text = h("textarea", { name: "data.text", id: "text-" + uid, rows: "3", required: true });
      const err = h("p", { class: "field-error", id: "err-" + uid, hidden: true });
      const form = h("form", { class: "note-form", novalidate: true },
        h("label", { for: sel.id }, t("gaps.note.about")), sel,
        h("label", { for: text.id }, t("gaps.note.text")), text, err,
        h("div", { class: "actions" }, h("button", { type: "submit" }, t("gaps.note.submit")),
          h("button", { type: "button", class: "secondary", onclick: draw }, t("gaps.note.cancel"))));
      form.onsubmit = async (e) => {
        e.preventDefault();
        const [k, v] = about[+sel.value];
        const event = { type: "ReviewNoteAdded", programme, occurred_at: P.today(),
          data: { note: "note-" + Date.now().toString(36) + "-" + uid, about: { [k]: v } } };
        if (text.value.trim()) event.data.text = text.value.trim();
        try {
          const stored = await P.post(event);
          await reload(stored.position);
          draw();
          P.notice(t("gaps.note.saved"), "ok");
        } catch (x) {
          if (x.status === 422) {
            err.hidden = false;
            err.textContent = (x.problem.errors || []).map((fe) => fe.message).join("; ") || x.message;
            text.setAttribute("aria-invalid", "true"); text.setAttribute("aria-describedby", err.id); text.focus();
          } else P.fail(x);
        }
      };
      P.fill(box, form);
      text.focus();
    };
    draw();
    return box;
  }
});
