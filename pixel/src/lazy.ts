// The lazily loaded chunk (dist/oie-hash.js, built from src/chunk/) and the events the
// core forwards to it: forms (form_start, form_submit with hashed email), video, copy and
// text selection (and personalize.ts asks it to fill personalized nodes). The chunk is
// requested by the first such event, so pages without these interactions never load it.
import { hashUrl } from "./config";
import { emit } from "./core";
import { d, on, w } from "./env";
import { allowed } from "./identity";

export interface Chunk {
  handle(e: Event, emit: (type: string, data?: Record<string, any>) => void, allowed: () => boolean): void;
  personalize(url: string, late: () => any): void;
}

let loading: Promise<Chunk> | undefined;

export const load = () =>
  loading ||
  (loading = new Promise<Chunk>((ok, no) => {
    const s = d.head.appendChild(d.createElement("script"));
    s.onload = () => ok((w as any).__oieChunk);
    s.onerror = no;
    s.src = hashUrl;
  }));

/** Focus and typing count only inside a form, a selection only when not empty: a click
 * on a link or on text does not load the chunk. */
const wanted = (e: Event): any =>
  /^[fi]/.test(e.type) ? (e.target as HTMLInputElement).form : e.type != "selectionchange" || String(getSelection());

/** A submit that happened before the chunk arrived. If the page unloads first, leave()
 * reports it with its form_id alone (a submit is never lost) and the chunk then skips it. */
export let waiting: any;
export const unwait = () => {
  const f = waiting;
  waiting = 0;
  return f;
};

export function forward(): void {
  for (const t of ["focusin", "input", "play", "pause", "timeupdate", "ended", "submit", "copy", "selectionchange"])
    on(d, t, (e) => {
      if (wanted(e)) {
        if (e.type == "submit") waiting = e.target;
        load().then((c) => (e.type != "submit" || unwait()) && c.handle(e, emit, allowed), () => 0);
      }
    });
}
