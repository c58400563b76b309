// The lazily loaded chunk, dist/oie-hash.js: loaded at the first focus on a form (and on
// pages with personalized nodes), so the core file stays small. It holds
//   - email hashing by docs/design.md's rule (trim + lowercase, UTF-8, lowercase hex), in
//     pure JS and synchronously in the submit handler, so a form that navigates away still
//     reports, on secure and non-secure origins alike (SubtleCrypto is missing on the latter
//     and has no md5 anywhere). An address of a few dozen bytes hashes in microseconds, so
//     nothing is gained by hashing it ahead while it is typed;
//   - form_start and form_submit (field NAMES and the hashes, never a value);
//   - filling personalized nodes from a /personalize profile.
// Video, copy and selection live in the idle chunk (src/idle/).
// API on window.__oieChunk (see src/lazy.ts and src/personalize.ts).
import type { Identity } from "../identity";
import type { Emit } from "../types";
import { md5, sha1, sha256 } from "./algos";

type Hems = { sha256: string; sha1: string; md5: string };
type Field = HTMLInputElement;

/** The three hashes of an address, normalized by docs/design.md's rule. */
function hems(v: string): Hems {
  const n = v.trim().toLowerCase();
  return { sha256: sha256(n), sha1: sha1(n), md5: md5(n) };
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
    if (!data.hems && isEmail(el)) data.hems = hems(el.value);
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

/** Events the core forwards: focus, typing and submit in forms (typing needs nothing here). */
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
  } else if (type == "submit") emit("form_submit", submitted(e.target as HTMLFormElement, allowed));
}

(window as any).__oieChunk = { personalize, handle };
export {};
