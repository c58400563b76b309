// The lazily loaded chunk (dist/oie-hash.js, built from src/chunk/) and the events the
// core forwards to it: forms (form_start, form_submit with hashed email; personalize.ts
// asks it to fill personalized nodes). The chunk is requested by the first such event, so
// pages without forms never load it.
import { hashUrl } from "./config";
import { emit } from "./core";
import { d, inject, on, w } from "./env";
import { allowed, type Identity } from "./identity";
import type { Emit } from "./types";

export interface Chunk {
  handle(e: Event, emit: Emit, allowed: () => boolean): void;
  personalize(endpoint: string, id: Identity, late: () => any): void;
}

let loading: Promise<Chunk> | undefined;

export const load = () => loading || (loading = inject(hashUrl).then(() => (w as any).__oieChunk as Chunk));

/** Focus and typing count only inside a form: a click on a link does not load the chunk.
 * (Input events only load it, early, for a field filled without a focus; the chunk hashes
 * on submit.) */
const wanted = (e: Event): any => e.type == "submit" || (e.target as HTMLInputElement).form;

/** A submit that happened before the chunk arrived. If the page unloads first, leave()
 * reports it with its form_id alone (a submit is never lost) and the chunk then skips it. */
export let waiting: any;
export const unwait = () => {
  const f = waiting;
  waiting = 0;
  return f;
};

export function forward(): void {
  for (const t of ["focusin", "input", "submit"])
    on(d, t, (e) => {
      if (wanted(e)) {
        if (e.type == "submit") waiting = e.target;
        load().then((c) => (e.type != "submit" || unwait()) && c.handle(e, emit, allowed), () => 0);
      }
    });
}
