// The lazily loaded chunk, dist/oie-hash.js: loaded at the first focus on a form (and on
// pages with personalized nodes), so the core file stays small. It holds
//   - email hashing by docs/design.md's rule (trim + lowercase, UTF-8, lowercase hex):
//     SubtleCrypto (sha256, sha1) where the page has it; md5 always, and sha1/sha256
//     without SubtleCrypto (non-secure origins), in pure JS. Results are cached by
//     normalized value: hashing starts while the visitor types, so the submit handler finds
//     them ready; otherwise it computes them synchronously (a navigating form still reports);
//   - form_start and form_submit (field NAMES and the hashes, never a value);
//   - filling personalized nodes from a /personalize profile.
// Video, copy and selection live in the idle chunk (src/idle/).
// API on window.__oieChunk (see src/lazy.ts and src/personalize.ts).
import type { Identity } from "../identity";
import type { Emit } from "../types";
import { md5, sha1, sha256 } from "./algos";

type Hems = { sha256: string; sha1: string; md5: string };
type Field = HTMLInputElement;
const cache: Record<string, Hems> = {};
const norm = (v: string) => v.trim().toLowerCase();
const hex = (b: ArrayBuffer) => Array.from(new Uint8Array(b), (x) => (x + 256).toString(16).slice(1)).join("");

/** Hashes now: the cached SubtleCrypto result, else pure JS. */
function now(v: string): Hems {
  const n = norm(v);
  return cache[n] || (cache[n] = { sha256: sha256(n), sha1: sha1(n), md5: md5(n) });
}

/** Hashes, asynchronously with SubtleCrypto where available (cached for now()). */
function hash(v: string): Promise<Hems> {
  const n = norm(v);
  const s = window.crypto && crypto.subtle;
  if (cache[n] || !s) return Promise.resolve(now(n));
  const b = new TextEncoder().encode(n);
  return Promise.all([s.digest("SHA-256", b), s.digest("SHA-1", b)]).then(
    ([a, c]) => (cache[n] = { sha256: hex(a), sha1: hex(c), md5: md5(n) }),
    () => now(n),
  );
}

const isEmail = (f: Field) =>
  f.type != "password" &&
  (f.type == "email" || /mail/i.test(f.name + f.id + f.autocomplete)) &&
  /^\s*[^\s@]+@[^\s@]+\s*$/.test(f.value);

const formId = (f: HTMLFormElement) =>
  f.id || f.getAttribute("name") || "form-" + Array.from(document.forms).indexOf(f);

/** form_submit data: field names and the first email's hashes, never a value. */
function submitted(f: HTMLFormElement, allowed: () => boolean): Record<string, any> {
  const fields: string[] = [];
  const data: Record<string, any> = { form_id: formId(f), fields };
  for (const el of Array.from(f.elements) as Field[]) {
    if (el.name && fields.indexOf(el.name) < 0) fields.push(el.name);
    if (!data.hems && isEmail(el)) data.hems = now(el.value);
  }
  // A GET form puts its values into the next page's URL: remember the names so the core
  // scrubs them (core.ts reads sessionStorage _oie_ff).
  if (!/post/i.test(f.method) && allowed())
    try {
      const ff = "_oie_ff";
      sessionStorage[ff] = JSON.stringify(JSON.parse(sessionStorage[ff] || "[]").concat(fields).slice(-50));
    } catch (e) {}
  return data;
}

/** Fetch the profile, fill [data-personalize] nodes and show matching [data-show-if]
 * blocks, unless the core's 1 s anti-flicker deadline passed; then reveal and announce. */
function personalize(endpoint: string, id: Identity, late: () => any): void {
  // The email token rides along: its `t:` key personalizes a first visit, before any run
  // has linked this browser (`v:` is tried first).
  const url = endpoint + "/personalize?vid=" + id.v + (id.t ? "&i=" + id.t : "");
  const done = (p: Record<string, any> | null) => {
    if (p && !late()) {
      const all = (a: string) => Array.from(document.querySelectorAll("[" + a + "]"));
      for (const el of all("data-personalize")) {
        const v = p[el.getAttribute("data-personalize") as string];
        if (v) el.textContent = v;
      }
      for (const el of all("data-show-if")) {
        const [k, vals] = (el.getAttribute("data-show-if") as string).split("=");
        el.classList.toggle("oie-show", vals.split("|").indexOf(p[k]) >= 0);
      }
    }
    document.documentElement.classList.remove("oie-pending");
    document.dispatchEvent(new CustomEvent("oie:profile", { detail: p }));
  };
  fetch(url, { credentials: "include" })
    .then((r) => r.ok && r.json())
    .then((p) => done(p || null), () => done(null));
}

/** Events the core forwards: focus, typing and submit in forms. */
function handle(e: Event, emit: Emit, allowed: () => boolean): void {
  const type = e.type;
  const el = e.target as Field;
  const f = el.form as (HTMLFormElement & { _oie?: 1 }) | null;
  if (type == "focusin") {
    // form_start: the first focus in each form.
    if (f && !f._oie) {
      f._oie = 1;
      emit("form_start", { form_id: formId(f), field: el.name });
    }
  } else if (type == "input") {
    // Start hashing an address as it is typed, so the submit finds it ready.
    if (f && isEmail(el)) hash(el.value).catch(() => 0);
  } else if (type == "submit") emit("form_submit", submitted(e.target as HTMLFormElement, allowed));
}

(window as any).__oieChunk = { personalize, handle };
export {};
