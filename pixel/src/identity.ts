// Who is this visitor, which email token brought them, and which session are they in.
//
// Stored in two places so either restores the other when one is cleared or blocked:
//   localStorage _oie_visitor = {v: visitor uuid, t: token|null, s: session uuid,
//                                l: last event ms, x: expiry ms}
//   cookie       _oie_vid     = "<visitor uuid>" or "<visitor uuid>.<token>" (90 days, Lax)
// Only ids and the token: no PII. Read and written from idle callbacks, never at parse time.
import { consentRequired } from "./config";
import { getCookie, lsGet, lsSet, nav, now, setCookie, TOKEN, uuid, w } from "./env";

const KEY = "_oie_visitor";
const COOKIE = "_oie_vid";
const OPTOUT = "_oie_optout";
const DAYS = 90;
/** Same inactivity rule as the warehouse (oie_session_timeout_minutes). */
const SESSION_MS = 18e5;
const UUID = /^[0-9a-f-]{36}$/;

export interface Identity {
  v: string;
  t: string | null;
  s: string;
  l: number;
}

export let id: Identity | null = null;
let dirty = 1;
/** A token seen before the identity was loaded (from the URL or oie('identify')). */
let newToken: string | null = null;

// --- permission: GPC, opt-out and consent mode ---------------------------------------
/** Read lazily (a cookie read is a storage access: not at start). */
let optedOut: any;
let consent = !consentRequired || (w as any).oieConsent === true;

/** Global Privacy Control: nothing is recorded at all. */
export const refused = () => nav.globalPrivacyControl;
/** May we store and send right now? (Checked at idle time and before each send.) */
export const allowed = () =>
  consent && !refused() && !(optedOut = optedOut ?? getCookie(OPTOUT) == "1");
export const setConsent = (g: boolean) => (consent = g);

/** Forget the visitor: clear both stores and remember only the choice. Returns the id
 *  the visitor had (stored or in use), for the collector to forget too. */
export function optOut(): string | null {
  const st = lsGet(KEY);
  const c = getCookie(COOKIE).split(".")[0];
  const v = id ? id.v : st && st.v ? st.v : UUID.test(c) ? c : null;
  optedOut = true;
  id = null;
  lsSet(KEY, 0);
  lsSet("_oie_queue", 0);
  setCookie(COOKIE, "", -1);
  setCookie(OPTOUT, "1", 1825);
  return v;
}

export function setToken(t: string | null): void {
  if (t && TOKEN.test(t)) {
    newToken = t;
    if (id) id.t = t;
    dirty = 1;
  }
}

/** The server restored a visitor id from its HttpOnly cookie (Safari's 7-day script cap). */
export function adoptVisitor(v: unknown): void {
  if (id && v && v != id.v) {
    id.v = v as string;
    dirty = 1;
    save();
  }
}

/** Load (first call) and refresh the identity; picks up another tab's session activity. */
export function identity(): Identity {
  const st = lsGet(KEY);
  const fresh = st && st.x > now();
  if (!id) {
    const c = getCookie(COOKIE).split(".");
    id = {
      v: fresh ? st.v : UUID.test(c[0]) ? c[0] : uuid(),
      t: newToken || (fresh ? st.t : TOKEN.test(c[1]) ? c[1] : null),
      s: "",
      l: 0,
    };
  }
  if (fresh && st.v == id.v && st.l > id.l) {
    id.s = st.s;
    id.l = st.l;
  }
  return id;
}

/** Session id for an event at time ts: a new one after 30 minutes without events. */
export function sessionFor(ts: number): string {
  const i = id as Identity;
  if (ts - i.l > SESSION_MS) i.s = uuid();
  if (ts > i.l) i.l = ts;
  return i.s;
}

/** Write both stores; the cookie (and its 90-day expiry) once per page and on changes. */
export function save(): void {
  if (id && allowed()) {
    lsSet(KEY, { v: id.v, t: id.t, s: id.s, l: id.l, x: now() + DAYS * 864e5 });
    if (dirty) setCookie(COOKIE, id.v + (id.t ? "." + id.t : ""), DAYS);
    dirty = 0;
  }
}
