// What every page shares: the language, the API client (same origin only),
// the header with its sign-out form, the sign-in message and small DOM helpers. A page script calls
// P.page(async ({main, programme, me, programmes}) => …) and draws into main.
"use strict";
const P = (() => {
  const LANGS = ["en", "fr"];
  const SVGNS = "http://www.w3.org/2000/svg";

  /** The chosen language: a saved choice, else the browser's. */
  function pickLang() {
    const saved = localStorage.getItem("passerelle.lang");
    if (LANGS.includes(saved)) return saved;
    const first = (navigator.languages && navigator.languages[0]) || navigator.language || "en";
    return first.toLowerCase().startsWith("fr") ? "fr" : "en";
  }
  const lang = pickLang();

  /**
   * A translated text, with {name} placeholders filled from vars. The pages pass plain values, read
   * as the server reads them: a count agrees ({n} contact{n|s}: "1 contact", "2 contacts"); any
   * other value is a masculine singular name: {a|de} is "de X" or "d'X" in French, {a|à} "à X",
   * an agreement token ({a|e}, {a|il}…) the masculine singular (il, le, est, a, or nothing).
   */
  function t(key, vars) {
    const s = (I18N[lang] && I18N[lang][key]) ?? I18N.en[key] ?? key;
    if (!vars) return s;
    return s.replace(/\{([A-Za-z0-9_]+)(?:\|([^{}|]+))?\}/g, (whole, name, form) => {
      if (!Object.hasOwn(vars, name)) return whole;
      const v = String(vars[name]);
      if (!form || form === "nu") return v;
      if (form === "de" || form === "à") {
        if (lang !== "fr") return v;
        return form === "à" ? "à " + v : (/^[aàâäeéèêëiîïoôöuùûüyœæh]/i.test(v) ? "d'" + v : "de " + v);
      }
      const n = /^\d[\d\u202F]*$/.test(v) ? Number(v.replace(/\u202F/g, "")) : null;
      if (lang !== "fr") return form === "s" && n !== null && n !== 1 ? "s" : "";
      // A count agrees from 2 on ("2 contacts"); any other value as a masculine singular name.
      const plural = n !== null && n >= 2;
      return (plural ? { s: "s", es: "s", il: "ils", le: "les", lui: "eux", est: "sont", a: "ont", n: "nt" }
        : { il: "il", le: "le", lui: "lui", est: "est", a: "a" })[form] ?? "";
    });
  }

  /** A label for a slug of a vocabulary (kind, theme, level…). */
  function word(prefix, slug) {
    if (slug === null || slug === undefined) return "";
    const key = prefix + "." + slug;
    const s = t(key);
    return s === key ? String(slug).replace(/_/g, " ") : s;
  }

  /** The values of a vocabulary (kind, outcome, channel, gapkind…) in the order the pages offer them. */
  const vocab = (prefix) => I18N.vocab(prefix);

  /** Builds an HTML element: attrs (class, text, on…, others as attributes), children. */
  function h(tag, attrs, ...children) { return build(document.createElement(tag), attrs, children); }
  /** Builds an SVG element. */
  function s(tag, attrs, ...children) { return build(document.createElementNS(SVGNS, tag), attrs, children); }
  function build(el, attrs, children) {
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined || v === false) continue;
      if (k === "text") el.textContent = v;
      else if (k.startsWith("on") && typeof v === "function") el.addEventListener(k.slice(2), v);
      else el.setAttribute(k, v === true ? "" : String(v));
    }
    for (const c of children.flat()) {
      if (c === null || c === undefined || c === false) continue;
      el.append(c instanceof Node ? c : document.createTextNode(String(c)));
    }
    return el;
  }

  /** Replaces an element's children, skipping null and false, flattening arrays. */
  function fill(el, ...children) {
    el.replaceChildren(...children.flat(Infinity).filter((c) => c !== null && c !== undefined && c !== false)
      .map((c) => (c instanceof Node ? c : document.createTextNode(String(c)))));
    return el;
  }

  /** An error the API answered with (an RFC 9457 problem). */
  class ApiError extends Error {
    constructor(status, problem) {
      super(problem.detail || problem.title || "HTTP " + status);
      this.status = status;
      this.problem = problem;
    }
  }

  async function handle(r) {
    const type = r.headers.get("content-type") || "";
    const body = type.includes("json") ? await r.json() : await r.text();
    if (!r.ok) {
      const err = new ApiError(r.status, typeof body === "object" ? body : { detail: body });
      if (r.status === 401) signIn(err);
      throw err;
    }
    return body;
  }

  /** Where the tab keeps the log position of its latest append. */
  const WRITTEN = "passerelle.written";

  /** The path of the API operation `op` (its operation id in the OpenAPI
   * document and in ROUTES, from routes.js), its `{…}` segments taken from
   * `params`; returns the path and the other params. */
  function opPath(op, params) {
    const template = ROUTES.ops[op];
    if (!template) throw new Error("no API operation " + op);
    const rest = { ...params };
    const path = template.replace(/\{(\w+)\}/g, (_, k) => { const v = rest[k]; delete rest[k]; return encodeURIComponent(v); });
    return [path, rest];
  }

  /** Operations that read no projection, so no log position. */
  const UNPOSITIONED = ["listEvents", "getMe", "getMetrics"];

  /** GET of the API operation `op` (e.g. "getNetwork") with query params
   * (empty ones left out); opts.signal (an AbortSignal) cancels it. */
  function api(op, params, opts) {
    const [path, rest] = opPath(op, params);
    return get(path, rest, !UNPOSITIONED.includes(op), opts && opts.signal);
  }

  /** GET of an API path with query params. */
  async function get(path, params, positioned, signal) {
    const url = new URL(path, location.origin);
    // Read-your-writes: every read reflects at least what this tab recorded.
    const written = Number(sessionStorage.getItem(WRITTEN) || 0);
    const added = positioned && written > 0 && !(params && params.min_position);
    const query = added ? { ...params, min_position: written } : params;
    for (const [k, v] of Object.entries(query || {})) {
      if (v !== undefined && v !== null && v !== "") url.searchParams.set(k, v);
    }
    const response = await fetch(url, { credentials: "same-origin", headers: { accept: "application/json" }, signal });
    // A busy server (`/problems/busy`) is not a position it lacks.
    if (added && response.status === 503 &&
        (await response.clone().json().catch(() => ({}))).type === "/problems/unavailable") {
      // The server no longer has that position (a new store): forget it.
      sessionStorage.removeItem(WRITTEN);
      return get(path, params, positioned, signal);
    }
    return handle(response);
  }

  /** GET of a link an answer gave (a `next` page): an API path with its query. */
  function follow(link) {
    const url = new URL(link, location.origin);
    return get(url.pathname, Object.fromEntries(url.searchParams), true);
  }

  /** The whole of `key` from `first` on: its items, then those of each page
   * its `firstNext` link leads to, and each page's `pageNext` after that. */
  async function rest(first, key, firstNext = "next", pageNext = firstNext) {
    const out = [...first[key]];
    for (let link = first[firstNext]; link;) {
      const page = await follow(link);
      out.push(...page[key]);
      link = page[pageNext];
    }
    return out;
  }

  /** A paged read with the whole of its list `key` (every page, 1000 at a time). */
  async function all(op, params, key) {
    const first = await api(op, { ...params, limit: 1000 });
    return { ...first, [key]: await rest(first, key), next: null };
  }

  /** Loads scripts of /assets/ (in this order, each once) that only some pages need. */
  const loaded = new Map();
  function scripts(files) {
    return Promise.all(files.map((file) => {
      if (!loaded.has(file)) {
        loaded.set(file, new Promise((resolve, reject) => {
          const el = document.createElement("script");
          el.src = "/assets/" + file;
          el.async = false;
          el.onload = resolve;
          el.onerror = () => reject(new Error("could not load /assets/" + file));
          document.head.append(el);
        }));
      }
      return loaded.get(file);
    }));
  }

  /** Appends one event or an array (`appendEvents`). */
  async function post(events) {
    const stored = await handle(await fetch(opPath("appendEvents", {})[0], {
      method: "POST", credentials: "same-origin",
      headers: { "content-type": "application/json", accept: "application/json" },
      body: JSON.stringify(events),
    }));
    const top = Math.max(0, ...[].concat(stored).map((e) => e.position || 0));
    if (top > Number(sessionStorage.getItem(WRITTEN) || 0)) sessionStorage.setItem(WRITTEN, String(top));
    return stored;
  }

  /** Every event of a programme, page by page (admins and coordinators only: see can.log). */
  async function events(programme) {
    const out = [];
    let after = 0;
    for (;;) {
      const page = await api("listEvents", { programme, after, limit: 1000 });
      out.push(...page.events);
      if (page.events.length < 1000 || page.next_after >= page.position) return out;
      after = page.next_after;
    }
  }

  const MONTHS = {
    en: ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"],
    fr: ["janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre", "octobre", "novembre", "décembre"],
  };
  /** The narrow no-break space French writes before ; : ! ? % and between groups of thousands. */
  const NNBSP = "\u202F";
  /** A day for people, as the server's reports write it: 15 April 2021 / 15 avril 2021, 1er avril 2021. */
  function date(iso) {
    if (!iso) return "";
    const d = new Date(iso.length === 10 ? iso + "T00:00:00Z" : iso);
    if (Number.isNaN(d.getTime())) return String(iso);
    const day = d.getUTCDate();
    const first = lang === "fr" && day === 1 ? "1er" : String(day);
    return `${first} ${MONTHS[lang][d.getUTCMonth()]} ${d.getUTCFullYear()}`;
  }
  /** x with `places` decimals: 0.10 / 0,10 (French: − sign, thousands grouped); – for null. */
  function decimal(x, places = 2) {
    if (x === null || x === undefined || !Number.isFinite(x)) return "–";
    let fixed = Math.abs(x).toFixed(places);
    const negative = x < 0 && /[1-9]/.test(fixed);
    if (lang !== "fr") return (negative ? "-" : "") + fixed;
    const [int, frac] = fixed.split(".");
    const grouped = int.replace(/\B(?=(\d{3})+(?!\d))/g, NNBSP);
    return (negative ? "\u2212" : "") + grouped + (frac ? "," + frac : "");
  }
  /** A theme's words: its catalogue label (accès aux droits), else the slug with spaces. */
  const theme = (slug) => word("theme", slug);
  /** A month for people. */
  function month(ym) {
    return new Intl.DateTimeFormat(lang === "fr" ? "fr-FR" : "en-GB", { month: "short", year: "numeric", timeZone: "UTC" })
      .format(new Date(ym + "-01T00:00:00Z"));
  }
  /** A number with at most `digits` decimals, or – for null. */
  function num(x, digits = 2) {
    if (x === null || x === undefined || Number.isNaN(x)) return "–";
    return new Intl.NumberFormat(lang === "fr" ? "fr-FR" : "en-GB", { maximumFractionDigits: digits }).format(x);
  }
  /** A share in [0, 1] as a whole percentage: 81% / 81 % (narrow no-break space in French). */
  function pct(x) { return x === null || x === undefined ? "–" : num(100 * x, 0) + (lang === "fr" ? NNBSP + "%" : "%"); }
  /** Today as YYYY-MM-DD (local). */
  function today() {
    const d = new Date();
    return d.getFullYear() + "-" + String(d.getMonth() + 1).padStart(2, "0") + "-" + String(d.getDate()).padStart(2, "0");
  }
  /** A personal value as the API answers it: its text, or "erased" / "unreadable". */
  function personal(v) {
    if (v && typeof v === "object") return v.erased ? t("personal.erased") : t("personal.unreadable");
    return v;
  }
  /** A short name: the part before " — ", cut to n characters. */
  function short(name, n = 26) {
    const head = String(name).split(" — ")[0].split(" (")[0];
    return head.length > n ? head.slice(0, n - 1) + "…" : head;
  }

  /** The page's state in its address (?programme=…&as_of=…), kept across reloads. */
  function param(name) { return new URLSearchParams(location.search).get(name); }
  function setParam(name, value) {
    const url = new URL(location.href);
    if (value === null || value === undefined || value === "") url.searchParams.delete(name);
    else url.searchParams.set(name, value);
    history.replaceState(null, "", url);
  }
  /** A link to the page `name` (its script: "map", "gaps", …) keeping the programme. */
  function link(name, programme, extra) {
    const page = ROUTES.pages.find(([, n]) => n === name);
    const url = new URL(page ? page[0] : "/", location.origin);
    if (programme) url.searchParams.set("programme", programme);
    for (const [k, v] of Object.entries(extra || {})) if (v) url.searchParams.set(k, v);
    return url.pathname + url.search + (extra && extra.hash ? "#" + extra.hash : "");
  }

  const main = () => document.getElementById("main");

  /** A message above the page (role=alert). */
  function notice(text, kind = "error") {
    const b = document.getElementById("banner");
    b.className = "banner " + kind;
    b.textContent = text;
    b.hidden = !text;
  }
  /** Shows an API error as a message people can act on. */
  function fail(err) {
    if (err instanceof ApiError && err.status === 401) return;
    const detail = err.message || String(err);
    notice(err instanceof ApiError && err.status === 403 ? t("error.forbidden", { detail }) : t("error.generic", { detail }));
    console.error(err);
  }

  /** No session: the sign-in message replaces the page. */
  function signIn(err) {
    const m = main();
    if (m.dataset.signin) return;
    m.dataset.signin = "1";
    document.body.dataset.ready = "signin";
    const form = h("form", { method: "post", action: ROUTES.login, class: "signin-form" },
      h("label", { for: "token" }, t("signin.token")),
      h("input", { id: "token", name: "token", type: "password", autocomplete: "off", required: true, spellcheck: "false" }),
      h("button", { type: "submit" }, t("signin.submit")));
    fill(m, h("section", { class: "signin", "aria-labelledby": "signin-title" },
      h("h1", { id: "signin-title" }, t("signin.title")),
      param("signin") === "failed" ? h("p", { class: "error" }, t("signin.failed")) : null,
      h("p", {}, ...code(t("signin.text"))),
      form,
      err ? h("p", { class: "muted" }, t("signin.server", { detail: err.message })) : null));
    document.getElementById("programme").closest("label").hidden = true;
  }
  /** Text with `code` spans. */
  function code(text) { return text.split("`").map((part, i) => (i % 2 ? h("code", {}, part) : part)); }

  function header(programme) {
    const here = document.body.dataset.page;
    const nav = document.getElementById("nav");
    // The event log is offered to the roles that may read it (known once /me answered).
    const pages = ROUTES.pages.filter(([, name]) => name !== "log" || can.log);
    fill(nav, h("ul", {}, pages.map(([, name]) => h("li", {},
      h("a", { href: link(name, programme), "aria-current": name === here ? "page" : null }, t("nav." + name))))));
    const b = document.getElementById("lang");
    b.textContent = t("lang.switch");
    b.setAttribute("aria-label", t("lang.switch.label"));
    b.setAttribute("lang", lang === "fr" ? "en" : "fr");
    b.onclick = () => { localStorage.setItem("passerelle.lang", lang === "fr" ? "en" : "fr"); location.reload(); };
    document.getElementById("programme-label").textContent = t("programme");
    document.querySelector(".skip").textContent = t("skip");
  }

  let pageFn = null;
  /** Registers the page's drawing function. */
  function page(fn) { pageFn = fn; }

  const ctx = { me: null, programmes: [], programme: null };
  /** What the signed-in role may do. */
  const can = {
    get write() { return ctx.me && (ctx.me.role === "admin" || ctx.me.role === "coordinator"); },
    get note() { return ctx.me && ctx.me.role !== "viewer"; },
    /** Read the raw event log (listEvents): admins and coordinators only. */
    get log() { return Boolean(ctx.me && (ctx.me.role === "admin" || ctx.me.role === "coordinator")); },
  };

  async function boot() {
    document.documentElement.lang = lang;
    try { await I18N.ready; } catch (e) { fail(e); return; }
    header(param("programme"));
    try {
      ctx.me = await api("getMe");
      ctx.programmes = (await all("listProgrammes", {}, "programmes")).programmes;
    } catch (e) { fail(e); return; }
    const ids = ctx.programmes.map((p) => p.id);
    const wanted = param("programme") || localStorage.getItem("passerelle.programme");
    const mentee = ctx.programmes.find((p) => p.role === "mentee");
    ctx.programme = ids.includes(wanted) ? wanted : (mentee ? mentee.id : ids[0]);
    if (ctx.programme) { setParam("programme", ctx.programme); localStorage.setItem("passerelle.programme", ctx.programme); }
    header(ctx.programme);
    const sel = document.getElementById("programme");
    fill(sel, ...ctx.programmes.map((p) => h("option", { value: p.id, selected: p.id === ctx.programme },
      p.name + (p.role ? " (" + word("programme.role", p.role) + ")" : ""))));
    sel.onchange = () => { setParam("programme", sel.value); setParam("as_of", null); setParam("focus", null); location.reload(); };
    document.getElementById("who").textContent = t("who", { name: ctx.me.name, role: word("role", ctx.me.role) });
    // Signing out posts the header's form: the server ends the session and sends the browser to /.
    document.getElementById("signout-button").textContent = t("signout");
    document.getElementById("signout").hidden = false;
    const m = main();
    fill(m);
    if (!pageFn) return;
    try {
      await pageFn({ main: m, programme: ctx.programme, me: ctx.me, programmes: ctx.programmes });
      document.body.dataset.ready = "1";
    } catch (e) { fail(e); document.body.dataset.ready = "error"; }
  }
  document.addEventListener("DOMContentLoaded", boot);

  return { lang, t, word, vocab, h, s, fill, api, all, rest, scripts, post, events, ApiError, date, decimal, theme, month, num, pct, today, short, personal, param, setParam, link, notice, fail, page, can, ctx };
})();
