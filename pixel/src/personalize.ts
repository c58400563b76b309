// Personalization trigger. On pages with personalized nodes
//   <span data-personalize="first_name">there</span>          (its text is the fallback)
//   <div data-show-if="engagement_level=hot|burning">…</div>  (shown only on a match)
// the chunk is loaded, asks GET {endpoint}/personalize?vid=…[&i=token], fills the nodes and
// dispatches `oie:profile` on document (detail: the profile, or null for an unknown visitor).
// No flicker: the site's snippet in <head> (docs/pixel.md) hides [data-show-if] blocks until
// they get class "oie-show", and hides [data-personalize] nodes while <html> has class
// "oie-pending". The pixel removes "oie-pending" once the profile is applied, or 1 s after
// it started with the fallback text in place; a profile arriving later is not applied, so
// visible text never changes under the reader's eyes.
import { endpoint } from "./config";
import { onIdentified } from "./core";
import { d, on } from "./env";
import { load } from "./lazy";
import { id } from "./identity";

let late: any;

export function startPersonalize(): void {
  setTimeout(() => {
    late = 1;
    d.documentElement.classList.remove("oie-pending");
  }, 1e3);
  const go = () =>
    d.querySelector("[data-personalize],[data-show-if]") &&
    load().then(
      (c) => {
        // The visitor may opt out while the chunk loads: then there is no one to personalize.
        if (id) c.personalize(endpoint, id, () => late);
      },
      // A chunk that never arrives (the visitor left mid-load, a blocker) keeps the fallback
      // text: no rejection may reach the host page's error handlers.
      () => 0,
    );
  onIdentified.push(() => (d.readyState == "loading" ? on(d, "DOMContentLoaded", go) : go()));
}
