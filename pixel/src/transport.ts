// Batching and delivery to POST {endpoint}/track.
//
// - A batch leaves at 5 events or 10 s after its first event, whichever comes first.
// - fetch(keepalive) so failures are seen; on pagehide the rest leaves by sendBeacon
//   (text/plain: no CORS preflight), unless the collector is failing right now: then it is
//   kept for the next page load instead of being thrown at a server that refuses it.
// - Network errors, 408, 429 and 5xx keep the events in a localStorage queue (bounded: the
//   first 200 events are kept, later ones dropped, since the first carry the email visit)
//   retried with exponential backoff and on the next page load. Other 4xx (400, 403, 413,
//   415, 422) are never retried: the same bytes would be refused again. Every event carries
//   a UUID, so a retry that lands twice is deduplicated by the warehouse.
import { endpoint } from "./config";
import { adoptVisitor, allowed } from "./identity";
import { lsGet, lsSet, nav, now } from "./env";

declare const VERSION: string;

export interface Ev {
  event_id: string;
  type: string;
  ts: number;
  visitor_id?: string;
  session_id?: string;
  token?: string | null;
  url: string | null;
  referrer: string | null;
  data: Record<string, any>;
}

const QKEY = "_oie_queue";
/** Body cap: keepalive fetches and beacons over 64 KiB fail; the server refuses > 64 KB. */
const MAX_BYTES = 6e4;
const MAX_QUEUED = 200;

const url = endpoint + "/track";
let batch: Ev[] = [];
let timer: any;
let retryTimer: any;
let failures = 0;

export function enqueue(e: Ev): void {
  if (batch.push(e) > 4) flush();
  else timer = timer || setTimeout(flush, 1e4);
}

const body = (evs: Ev[]) => JSON.stringify({ events: evs, meta: { sent_at: now(), pixel_version: VERSION } });

/** Bodies under the byte cap (halving); a single event over it is dropped. */
function split(evs: Ev[]): Ev[][] {
  const n = evs.length;
  return new Blob([body(evs)]).size < MAX_BYTES ? [evs] : n > 1 ? split(evs.slice(0, n / 2)).concat(split(evs.slice(n / 2))) : [];
}

/** Send what is batched; `unloading` uses sendBeacon (the page is going away). */
export function flush(unloading?: any): void {
  clearTimeout(timer);
  timer = 0;
  const evs = batch;
  batch = [];
  if (evs.length && allowed())
    for (const part of split(evs)) {
      if (!unloading) post(part);
      else if (failures || !nav.sendBeacon(url, body(part))) requeue(part);
    }
}

function post(evs: Ev[], queued?: 1): void {
  // text/plain is a CORS "simple" request (no preflight); credentials carry the server's
  // first-party cookie when the collector shares the site's domain.
  fetch(url, { method: "POST", body: body(evs), keepalive: true, credentials: "include" }).then(
    (r) => {
      const s = r.status;
      if (s > 499 || s == 408 || s == 429) return fail(evs, queued);
      // Delivered, or refused for good: either way it leaves the queue.
      if (queued) requeue([], evs);
      if (s < 300) {
        failures = 0;
        r.json().then((j) => adoptVisitor(j.vid), () => 0);
        if (lsGet(QKEY)) schedule(0);
      }
    },
    () => fail(evs, queued),
  );
}

function fail(evs: Ev[], queued?: 1): void {
  if (!queued) requeue(evs);
  // 1 s, 2 s, 4 s … capped at about 4.5 minutes.
  schedule(1e3 << Math.min(failures++, 8));
}

/** Add events to and remove events from the stored retry queue (deduplicated by id). */
function requeue(add: Ev[], remove: Ev[] = []): void {
  const ids = remove.concat(add).map((e) => e.event_id);
  const q = (lsGet(QKEY) || []).filter((e: Ev) => ids.indexOf(e.event_id) < 0).concat(add);
  lsSet(QKEY, q.length && q.slice(0, MAX_QUEUED));
}

function schedule(ms: number): void {
  clearTimeout(retryTimer);
  retryTimer = setTimeout(retry, ms);
}

/** Resend the stored queue, one batch at a time (also called once per page load). */
export function retry(): void {
  const q = lsGet(QKEY);
  if (q && allowed()) post(split(q.slice(0, 50))[0], 1);
}
