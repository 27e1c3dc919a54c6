// The recording forms (`/record`) for coordinators: register a stakeholder,
// log a contact, record a partnership, a co-creation session, a need. Each
// form posts one event; the API's 422 `errors[]` are shown beside the field
// they name (an input's `name` is the field's path, e.g. `data.to`).
"use strict";
P.page(async ({ main, programme, me }) => {
  const { h, t } = P;
  let stakeholders = [];

  const when = { name: "occurred_at", type: "date", value: P.today() };
  const who = (name) => ({ name, options: () => stakeholders.map((s) => [s.id, s.name]) });
  const many = (name, filter) => ({ name, multiple: true, options: () => stakeholders.filter(filter || (() => true)).map((s) => [s.id, s.name]) });
  // A choice among a vocabulary of the message catalogue (its values are the catalogue's keys under `prefix.`).
  const vocab = (name, prefix) => ({ name, options: () => P.vocab(prefix).map((v) => [v, P.word(prefix, v)]) });
  const FORMS = {
    contact: { type: "OutreachContactLogged", fields: [who("data.from"), who("data.to"), vocab("data.channel", "channel"),
      vocab("data.outcome", "outcome"), { name: "data.purpose" }, { name: "data.follow_up_due", type: "date" }, when] },
    stakeholder: { type: "StakeholderRegistered", privacy: true, fields: [{ name: "data.stakeholder" }, { name: "data.name" },
      vocab("data.kind", "kind"), { name: "data.themes", list: true }, { name: "data.territory" },
      { name: "data.contact.person" }, { name: "data.contact.email", type: "email" }, { name: "data.contact.phone", type: "tel" }, when] },
    partnership: { type: "PartnershipFormed", fields: [{ name: "data.partnership" }, who("data.between[0]"), who("data.between[1]"),
      vocab("data.kind", "pkind"), { name: "data.themes", list: true }, when] },
    session: { type: "CoCreationSessionHeld", fields: [{ name: "data.session" }, { name: "data.title" }, { name: "data.themes", list: true },
      vocab("data.level", "level"), many("data.stakeholders"), many("data.facilitators"),
      many("data.groups", (s) => s.kind === "beneficiary_group"),
      ...["total", "women", "men", "undisclosed", "first_time", "returning"].map((k) => ({ name: "data.beneficiaries." + k, type: "number", min: "0" })),
      { name: "data.outputs", lines: true }, when] },
    need: { type: "NeedDeclared", fields: [{ name: "data.need" }, { name: "data.action", value: "Maison des Femmes" }, { name: "data.theme" },
      { name: "data.description", lines: false, area: true }, vocab("data.priority", "priority"), when] },
  };
  const ORDER = ["contact", "stakeholder", "partnership", "session", "need"];

  main.append(h("h1", { class: "page-title" }, t("record.title")));
  if (!P.can.write) {
    main.append(h("p", { class: "notice-box" }, t("record.readonly", { role: P.word("role", me.role) })));
    return;
  }
  await loadStakeholders();
  const tabs = h("div", { class: "tabs", role: "tablist", "aria-label": t("record.title") });
  const panels = h("div", { class: "tab-panels" });
  main.append(tabs, panels);
  const current = () => (ORDER.includes(location.hash.slice(1)) ? location.hash.slice(1) : "contact");
  for (const key of ORDER) {
    const tab = h("button", { type: "button", role: "tab", id: "tab-" + key, "aria-controls": "panel-" + key, "data-form": key },
      t("record.tab." + key));
    tab.onclick = () => { history.replaceState(null, "", "#" + key); show(); };
    tab.onkeydown = (e) => {
      const i = ORDER.indexOf(key);
      const next = e.key === "ArrowRight" ? ORDER[(i + 1) % ORDER.length] : e.key === "ArrowLeft" ? ORDER[(i + ORDER.length - 1) % ORDER.length] : null;
      if (next) { e.preventDefault(); history.replaceState(null, "", "#" + next); show(); document.getElementById("tab-" + next).focus(); }
    };
    tabs.append(tab);
    panels.append(h("section", { role: "tabpanel", id: "panel-" + key, "aria-labelledby": "tab-" + key }, form(key)));
  }
  window.addEventListener("hashchange", show);
  show();

  function show() {
    const key = current();
    for (const k of ORDER) {
      const on = k === key;
      const tab = document.getElementById("tab-" + k);
      tab.setAttribute("aria-selected", String(on));
      tab.tabIndex = on ? 0 : -1;
      document.getElementById("panel-" + k).hidden = !on;
    }
  }

  async function loadStakeholders(minPosition) {
    const body = await P.all("listStakeholders", { programme, min_position: minPosition }, "stakeholders");
    stakeholders = body.stakeholders.filter((s) => !s.archived).sort((a, b) => a.name.localeCompare(b.name));
  }

  function inputId(key, name) { return `${key}-${name.replace(/[^a-z0-9]+/gi, "-")}`; }

  function control(key, f) {
    const id = inputId(key, f.name);
    const common = { id, name: f.name, "aria-describedby": `${id}-err${f.list || f.multiple || f.lines ? " " + id + "-hint" : ""}` };
    if (f.options) {
      return h("select", { ...common, multiple: f.multiple || null, size: f.multiple ? "5" : null },
        f.multiple ? null : h("option", { value: "" }, t("record.choose")),
        f.options().map(([v, label]) => h("option", { value: v }, label)));
    }
    if (f.lines || f.area) return h("textarea", { ...common, rows: "3" });
    return h("input", { ...common, type: f.type || "text", value: f.value || null, min: f.min || null, autocomplete: "off" });
  }

  function form(key) {
    const def = FORMS[key];
    const summary = h("div", { class: "form-errors", role: "alert", hidden: true, id: key + "-errors" });
    const status = h("p", { class: "form-status", role: "status", id: key + "-status" });
    const el = h("form", { class: "record-form", id: "form-" + key, novalidate: true, "data-type": def.type },
      def.privacy ? h("p", { class: "muted small" }, t("record.privacy")) : null,
      summary,
      h("div", { class: "fields" }, def.fields.map((f) => {
        const id = inputId(key, f.name);
        const hint = f.list ? t("record.list") : f.multiple ? t("record.multi") : f.lines ? t("record.lines") : null;
        return h("div", { class: "field" + (f.lines || f.area || f.multiple ? " wide" : ""), "data-field": f.name },
          h("label", { for: id }, t("f." + f.name)), control(key, f),
          hint ? h("span", { class: "hint", id: id + "-hint" }, hint) : null,
          h("p", { class: "field-error", id: id + "-err", hidden: true }));
      })),
      h("div", { class: "actions" }, h("button", { type: "submit" }, t("record.submit")), status));
    el.onsubmit = async (e) => {
      e.preventDefault();
      clearErrors(el, summary);
      status.textContent = "";
      const event = { type: def.type, programme, data: {} };
      for (const f of def.fields) {
        const input = el.elements.namedItem(f.name);
        let v;
        if (f.multiple) v = [...input.selectedOptions].map((o) => o.value);
        else if (f.list) v = input.value.split(",").map((x) => x.trim()).filter(Boolean);
        else if (f.lines) v = input.value.split("\n").map((x) => x.trim()).filter(Boolean);
        else if (f.type === "number") v = input.value.trim() === "" ? undefined : Number.isFinite(+input.value) ? +input.value : input.value;
        else v = input.value.trim();
        if (v === undefined || v === "" || (Array.isArray(v) && !v.length)) continue;
        setPath(event, f.name, v);
      }
      if (def.type === "CoCreationSessionHeld" && !event.data.beneficiaries) event.data.beneficiaries = {};
      try {
        const stored = await P.post(event);
        P.fill(status, t("record.saved", { position: stored.position }), " ",
          h("a", { href: P.link("map", programme, { focus: event.data.from || event.data.stakeholder || (event.data.between || [])[0] }) }, t("record.onmap")));
        el.reset();
        await loadStakeholders(stored.position);
        refreshOptions();
      } catch (x) {
        if (x.status === 422) showErrors(el, summary, key, x.problem.errors || []);
        else P.fail(x);
      }
    };
    return el;
  }

  /** Fills the stakeholder lists of every form again (after a registration). */
  function refreshOptions() {
    for (const key of ORDER) for (const f of FORMS[key].fields) {
      if (!f.options) continue;
      const old = document.getElementById(inputId(key, f.name));
      old.replaceWith(control(key, f));
    }
  }

  function setPath(obj, path, value) {
    const parts = path.split(".").flatMap((p) => p.split(/\[(\d+)\]/).filter(Boolean));
    let o = obj;
    parts.forEach((p, i) => {
      const last = i === parts.length - 1;
      const nextIsIndex = !last && /^\d+$/.test(parts[i + 1]);
      if (last) o[p] = value;
      else { if (o[p] === undefined) o[p] = nextIsIndex ? [] : {}; o = o[p]; }
    });
  }

  function clearErrors(el, summary) {
    summary.hidden = true; P.fill(summary);
    for (const p of el.querySelectorAll(".field-error")) { p.hidden = true; p.textContent = ""; }
    for (const i of el.querySelectorAll("[aria-invalid]")) i.removeAttribute("aria-invalid");
  }

  /** The input of a field path: itself, its first item (`data.between[0]`), or the nearest enclosing path. */
  function inputFor(el, field) {
    let path = field;
    while (path) {
      const input = el.elements.namedItem(path) || el.elements.namedItem(path + "[0]");
      if (input) return input;
      const cut = path.replace(/(\[\d+\]|\.[^.[\]]+)$/, "");
      if (cut === path) return null;
      path = cut;
    }
    return null;
  }

  /** Puts each error beside the input it names: the exact path, else the nearest enclosing one. */
  function showErrors(el, summary, key, errors) {
    const loose = [];
    let first = null;
    for (const e of errors) {
      const input = inputFor(el, e.field || "");
      if (input && input.id) {
        const p = document.getElementById(input.id + "-err");
        p.hidden = false;
        p.textContent = p.textContent ? p.textContent + "; " + e.message : e.message;
        input.setAttribute("aria-invalid", "true");
        first = first || input;
      } else loose.push(e);
    }
    summary.hidden = false;
    P.fill(summary, h("p", {}, t("record.errors", { n: errors.length })),
      loose.length ? h("ul", {}, loose.map((e) => h("li", {}, (e.field ? e.field + ": " : "") + e.message))) : null);
    (first || summary).focus?.();
  }
});
