// The words of the pages come from the message catalogue the server's own
// reports use (`/assets/messages.json`: `{ key: { en, fr } }`), so each
// phrase and each enum label is written and translated once. The catalogue
// lists each vocabulary (kind, outcome, channel…) in the order the pages
// offer it. `I18N.ready` settles once it is loaded; common.js waits for it.
"use strict";
const I18N = (() => {
  const words = { en: {}, fr: {} };
  /** The values of a vocabulary, in the catalogue's order: vocab("kind") → ["city_service", …]. */
  const vocabs = new Map();
  const ready = fetch("/assets/messages.json", { credentials: "same-origin" })
    .then((r) => { if (!r.ok) throw new Error("messages.json: HTTP " + r.status); return r.json(); })
    .then((catalogue) => {
      for (const [key, texts] of Object.entries(catalogue)) {
        words.en[key] = texts.en;
        words.fr[key] = texts.fr;
        const dot = key.lastIndexOf(".");
        const prefix = key.slice(0, dot);
        if (!vocabs.has(prefix)) vocabs.set(prefix, []);
        vocabs.get(prefix).push(key.slice(dot + 1));
      }
    });
  return { en: words.en, fr: words.fr, ready, vocab: (prefix) => vocabs.get(prefix) || [] };
})();
