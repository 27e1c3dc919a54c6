// The gap report (`/gaps`): findings grouped by kind and severity, each with
// its explanation, next step, the kinds of the findings merged into it, the
// stakeholders it proposes to introduce, subjects, evidence (links into the
// event log for the roles that may read it, numbered items for the others),
// what the mentor programmes do on its theme or sector (`practice`, given by
// the API only to readers of those programmes) and the review notes about it
// (`notes`); a form to add a note on a finding, a stakeholder or a need.
"use strict";
P.page(async ({ main, programme }) => {
  const { h, t } = P;
  /** A text in the page's language (English when it has none). */
  const say = (b) => b[P.lang] || b.en;
  const asOf = P.param("as_of");
  const KINDS = P.vocab("gapkind"), SEVERITIES = P.vocab("severity");
  const [gaps, directory, needs, log] = await Promise.all([
    P.all("getGaps", { programme, as_of: asOf || undefined }, "findings"), P.all("listStakeholders", { programme }, "stakeholders"),
    P.all("listNeeds", { programme }, "needs"), P.can.log ? P.events(programme) : [],
  ]);
  // Each finding with the whole of its evidence (the report gives the first ids).
  await Promise.all(gaps.findings.filter((f) => f.evidence_next).map(async (f) => {
    f.evidence = await P.rest(f, "evidence", "evidence_next", "next");
  }));
  // Notes about needs (a finding's notes come with it).
  let notes = (await P.all("listNotes", { programme }, "notes")).notes;
  /** Each drawn notes block, to draw again once a note is saved. */
  const redraws = [];
  const names = new Map(directory.stakeholders.map((s) => [s.id, s.name]));
  const nameOf = (id) => P.short(names.get(id) || id, 40);
  const needById = new Map(needs.needs.map((n) => [n.id, n]));
  const events = new Map(log.map((e) => [e.id, e]));
  const count = (sev) => gaps.findings.filter((f) => f.severity === sev).length;

  const toc = h("nav", { class: "toc", "aria-label": t("gaps.title") }, h("ul", {}, KINDS.map((k) => {
    const n = gaps.findings.filter((f) => f.kind === k).length;
    return h("li", {}, h("a", { href: "#kind-" + k }, P.word("gapkind", k)), ` (${n})`);
  })));
  main.append(
    h("h1", { class: "page-title" }, t("gaps.title")),
    h("p", { class: "lead" }, t("gaps.summary", { n: gaps.findings.length, date: P.date(gaps.as_of), high: count("high"), medium: count("medium"), low: count("low") })),
    toc);

  for (const kind of KINDS) {
    const mine = gaps.findings.filter((f) => f.kind === kind);
    const section = h("section", { class: "gap-kind", id: "kind-" + kind, "aria-labelledby": "h-" + kind },
      h("h2", { id: "h-" + kind }, P.word("gapkind", kind), h("span", { class: "count" }, ` ${mine.length}`)),
      h("p", { class: "muted" }, t("gapdesc." + kind)));
    if (!mine.length) section.append(h("p", { class: "muted small" }, t("gaps.none")));
    for (const sev of SEVERITIES) {
      const group = mine.filter((f) => f.severity === sev);
      if (!group.length) continue;
      section.append(h("h3", { class: "sev-h" }, h("span", { class: "sev " + sev }, P.word("severity", sev)), ` ${group.length}`),
        h("div", { class: "cards" }, group.map(card)));
    }
    main.append(section);
  }

  main.append(h("section", { class: "gap-kind", id: "needs", "aria-labelledby": "h-needs" },
    h("h2", { id: "h-needs" }, t("gaps.needs")),
    h("div", { class: "cards" }, needs.needs.map(needCard))));

  if (location.hash) document.getElementById(location.hash.slice(1))?.scrollIntoView();

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

  /** After a note was saved: the notes as of the append, in the findings and for the needs. */
  async function reload(position) {
    const [fresh, listed] = await Promise.all([
      P.all("getGaps", { programme, as_of: asOf || undefined, min_position: position }, "findings"),
      P.all("listNotes", { programme, min_position: position }, "notes")]);
    const byId = new Map(fresh.findings.map((f) => [f.id, f]));
    for (const f of gaps.findings) if (byId.has(f.id)) f.notes = byId.get(f.id).notes;
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
    redraws.push(() => { if (!box.querySelector("form")) draw(); });
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
