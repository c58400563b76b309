// Behaviour capture: page views (incl. SPA and back/forward cache restores), scroll depth,
// active time, clicks, rage clicks and page exit; forms go to the chunk (lazy.ts); focus,
// video (native and embedded), copy, selection, cursor jitter and reading velocity to the
// idle chunk (src/idle/), loaded on every page once it is idle.
// Every listener is passive and does constant work; layout is only read (never written),
// from a throttled timer.
import { ctaSelector, idleUrl, navSelector } from "./config";
import { drain, emit, view } from "./core";
import { d, idle, inject, nav, now, on, w } from "./env";
import { forward, unwait } from "./lazy";
import type { IdleChunk } from "./types";
import { flush } from "./transport";

// --- page view state --------------------------------------------------------------------
let depths: number[];
let maxDepth: number;
let activeMs: number;
/** Time of the last user activity while visible; 0 while hidden. */
let lastActive: number;
let left: any;
/** The idle chunk, once loaded: its measures restart with each page view and join page_exit. */
let ext: IdleChunk | undefined;

const visible = () => d.visibilityState != "hidden";

/** Active time = time visible with user activity in the last 30 s. */
function activity(): void {
  const t = now();
  if (lastActive) activeMs += Math.min(t - lastActive, 3e4);
  lastActive = visible() ? t : 0;
}

function pageview(): void {
  depths = [];
  maxDepth = activeMs = lastActive = 0;
  activity();
  ext && ext.reset();
  emit("pageview", {
    title: d.title,
    viewport_w: innerWidth,
    viewport_h: innerHeight,
    screen_w: screen.width,
    screen_h: screen.height,
    language: nav.language,
    // A getter: Intl's first call costs ~15 ms, so it runs when the batch is serialized
    // (idle time or unload), not during the page's start.
    get tz() {
      return Intl.DateTimeFormat().resolvedOptions().timeZone;
    },
  });
  // Depth needs the laid-out page: measure once it is loaded (and again on SPA views).
  d.readyState == "complete" ? setTimeout(depth) : on(w, "load", depth);
}

const exit = () => {
  activity();
  const x = { active_ms: activeMs, max_depth: maxDepth };
  emit("page_exit", ext ? ext.data(x) : x);
};

/** SPA navigation: a change of path or query is a new page view; a fragment change is not. */
function route(): void {
  const u = location.href;
  if (u.split("#")[0] != view.url.split("#")[0]) {
    exit();
    view.ref = view.url;
    view.url = u;
    pageview();
  }
}

// --- scroll depth: milestones once per page view, measured at most every 250 ms --------
let depthTimer: any;

function depth(): void {
  depthTimer = 0;
  const h = d.documentElement.scrollHeight;
  const seen = innerHeight + scrollY;
  const p = seen < h - 2 ? Math.floor((seen / h) * 100) : 100;
  if (p > maxDepth) maxDepth = p;
  for (const m of [25, 50, 75, 90, 100])
    if (p >= m && depths.indexOf(m) < 0) emit("scroll_depth", { depth: depths.push(m) && m });
}

// --- clicks: role cta|nav|button|link; rage = 3 clicks within 1 s and 30 px, unless they
// selected text (a triple-click is how people select a paragraph) -------------------------
// Starts empty: its NaN comparisons make the first click start a burst.
let burst = {} as { x: number; y: number; t: number; n: number };

function click(e: MouseEvent): void {
  activity();
  const t = now();
  const b = burst;
  const x = e.clientX;
  const y = e.clientY;
  if (t - b.t < 1e3 && Math.abs(x - b.x) < 30 && Math.abs(y - b.y) < 30) {
    b.t = t;
    if (++b.n == 3 && !String(getSelection())) emit("rage_click", { x, y, count: 3 });
  } else burst = { x, y, t, n: 1 };

  const el = (e.target as Element).closest &&
    (e.target as Element).closest("a,button,[role=button],input[type=submit],input[type=button],[data-oie-role]");
  if (!el) return;
  const tag = el.localName;
  const i = el as HTMLInputElement;
  emit("click", {
    tag,
    id: el.id,
    classes: el.getAttribute("class"),
    // textContent, not innerText (a layout read); a button's value, never a text input's.
    text: (el.textContent || (/^(submit|button)$/.test(i.type) && i.value) || "").trim().slice(0, 100),
    href: (el as HTMLAnchorElement).href,
    role:
      el.getAttribute("data-oie-role") ||
      (el.matches(ctaSelector) ? "cta" : el.matches(navSelector) ? "nav" : tag == "a" ? "link" : "button"),
  });
}

// --- leaving: flush once (Chromium fires pagehide, then visibilitychange hidden) ----------
function leave(): void {
  if (!left) {
    left = 1;
    const f = unwait();
    if (f) emit("form_submit", { form_id: f.id || f.getAttribute("name") });
    exit();
    // Gone (or hidden) from here: time until the page is seen again is never active, even
    // when it comes back from the back/forward cache.
    lastActive = 0;
    drain();
    flush(1);
  }
}

export function start(): void {
  pageview();
  for (const name of ["pushState", "replaceState"] as const) {
    const orig = history[name];
    history[name] = function (this: History) {
      orig.apply(this, arguments as any);
      route();
    };
  }
  on(w, "popstate", route);
  on(w, "scroll", () => {
    activity();
    depthTimer = depthTimer || setTimeout(depth, 250);
  });
  for (const t of ["mousemove", "keydown", "pointerdown"]) on(d, t, activity);
  on(d, "click", click);
  forward();
  idle(() => inject(idleUrl).then(() => ((ext = (w as any).__oieIdle) as IdleChunk).start(emit), () => 0));
  on(w, "pagehide", leave);
  // Restored from the back/forward cache: a new page view, counted once per restore.
  on(w, "pageshow", (e) => {
    if (e.persisted) {
      left = 0;
      pageview();
    }
  });
  on(d, "visibilitychange", () => (visible() ? (left = 0) || activity() : leave()));
}
