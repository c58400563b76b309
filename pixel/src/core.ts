// Event creation. Handlers call emit(), which only records the type, time and page
// address; the idle-time drain() stamps identity and session (storage work) and scrubs
// URLs before the event joins a batch. While consent is pending nothing leaves memory.
import { allowed, identity, refused, save, sessionFor } from "./identity";
import { idle, mark, now, uuid } from "./env";
import { enqueue, type Ev, retry } from "./transport";

let pending: Ev[] = [];
let scheduled: any;
/** Runs once, after the first drain has loaded the identity. */
export const onIdentified: Array<() => void> = [retry];

/** Names of fields of a GET form submitted in this tab (their values end up in the next
 * page's URL), written to sessionStorage _oie_ff by the chunk. */
let fieldNames: string[];

/** The address of the current page view (the previous one is the referrer of SPA views). */
export const view = { url: location.href, ref: document.referrer || null };

export function emit(type: string, data: Record<string, any> = {}): void {
  if (refused()) return;
  // Waiting for consent: keep only a bounded first part of the page view in memory.
  if (pending.length < 100) pending.push({ event_id: uuid(), type, ts: now(), url: view.url, referrer: view.ref, data });
  scheduled = scheduled || idle(drain) || 1;
}

/** Stamp and hand pending events to the batcher; also called synchronously on pagehide. */
export function drain(): void {
  scheduled = 0;
  if (!allowed()) return;
  mark("drain");
  const id = identity();
  for (const e of pending) {
    const x = e.data;
    e.visitor_id = id.v;
    e.session_id = sessionFor(e.ts);
    e.token = id.t;
    e.url = scrub(e.url);
    e.referrer = scrub(e.referrer);
    for (const k of ["href", "src"]) if (x[k]) x[k] = scrub(x[k]);
    if (x.text) x.text = scrubEmail(x.text);
    enqueue(e);
  }
  pending = [];
  save();
  onIdentified.splice(0).map((f) => f());
  mark("drained");
}

export const clearPending = () => (pending = []);

// --- scrubbing ------------------------------------------------------------------------
// The server's rule (docs/ingest.md), in short: a query or fragment parameter whose value
// holds an @ (or %40) or whose name is a field of a GET form submitted in this tab is
// dropped; an email anywhere else becomes "[email]". The server applies its wider rule again.
const scrubEmail = (s: string) => s.replace(/[\w.%+-]+(@|%40)[\w-]+(\.[\w-]+)+/g, "[email]");

function fields(): string[] {
  try {
    fieldNames = fieldNames || JSON.parse(sessionStorage._oie_ff);
  } catch (e) {}
  return (fieldNames = fieldNames || []);
}

export function scrub(u: string | null): string | null {
  const f = fields();
  return (
    u &&
    scrubEmail(
      u.replace(/([?&#])([^=&#?]*)=([^&#]*)/g, (m, sep, k, v) =>
        /@|%40/i.test(v) || f.indexOf(k) >= 0 ? (sep == "&" ? "" : sep) : m,
      ),
    ).replace(/([?#])&+/, "$1").replace(/[?#&]+$/, "")
  );
}
