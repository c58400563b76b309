// YouTube and Vimeo player iframes: finds them (those in the page now and those added
// later) and hands each to players.ts, which talks to it.
//
// YouTube answers postMessage only when the iframe's URL has enablejsapi=1. The pixel adds
// it to a player iframe it sees being inserted: the observer runs in the task that inserted
// it, before any of the player can have arrived, so the browser normally drops the first
// navigation unrendered (rarely, under load, Chromium commits it first; the new src then
// replaces it at once). It never changes a player that was already in
// the page when this chunk started (at idle time: loaded or loading): a new src reloads
// the iframe, which blanks it, downloads the player again and stops a video the visitor
// started. Such a player is tracked when the site's embed URL carries enablejsapi=1.
import type { Emit } from "../types";
import { track } from "./players";

// Group 1 is set for YouTube.
const PLAYER = /^https?:\/\/(?:www\.)?(?:(youtube(?:-nocookie)?\.com\/embed)|player\.vimeo\.com\/video)\//;

export function watchEmbeds(emit: Emit): void {
  const d = document;
  // Any node comes here: only a player iframe has such a src.
  const see = (f: any, late?: any) => {
    const m = !f._oie && PLAYER.exec(f.src);
    if (m) {
      f._oie = 1;
      // As the first parameter of the query, else before the fragment, else at the end.
      if (late && m[1] && !/enablejsapi=1/.test(f.src))
        f.src = f.src.replace(/\?|#|$/, (x: string) => "?enablejsapi=1" + (x == "?" ? "&" : x));
      track(f, emit);
    }
  };
  // Only added nodes are looked at: each one and the iframes in its subtree.
  const scan = (n: any, late?: any) => {
    see(n, late);
    if (n.querySelectorAll) for (const f of n.querySelectorAll("iframe")) see(f, late);
  };
  scan(d);
  new MutationObserver((ms) => {
    for (const m of ms) for (const n of m.addedNodes as any) scan(n, 1);
  }).observe(d, { childList: true, subtree: true });
}
