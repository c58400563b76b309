// The idle chunk, dist/oie-idle.js: loaded by the core once the page is idle, on every page,
// so the core stays small. It records focus_lost/focus_gained, video (native here, YouTube
// and Vimeo through embeds.ts), copy and text_select, and holds the two measures of how a
// page is read, per page view, reported in page_exit (docs/design.md):
//   - cursor jitter: hesitation of the mouse. Pointer movement is cut into segments of at
//     least 4 px; each segment's change of direction from the previous one is summed
//     (cursor_jitter = the mean, in degrees) and turns over 90° are counted
//     (cursor_reversals). A pause over 300 ms starts a new window (no turn across it).
//     Mouse only: touch and pen have no hover path, so touch devices send nothing.
//   - reading velocity: words of the main text (article, else main, else body) scrolled
//     past per minute of scrolling (reading_wpm). Distance runs from the first scroll to
//     the furthest point reached, time from the first scroll to the last, with pauses
//     counted up to 30 s (the core's active-time rule). A page never scrolled reports none.
// Listeners are passive and allocate nothing per move or scroll; text is counted once per
// page view.
import { d, on, w } from "../env";
import type { Emit, IdleChunk } from "../types";
import { watchEmbeds } from "./embeds";
import { progress } from "./progress";

const round = (x: number) => Math.round(x * 10) / 10;

const MIN_STEP = 4; // px: a shorter step has no meaningful direction
const WINDOW_GAP = 300; // ms: a pause longer than this starts a new movement window
const MIN_SEGMENTS = 5; // fewer segments say nothing about hesitation
const MIN_READ_MS = 2e3;

// --- cursor ------------------------------------------------------------------------------
let px = 0;
let py = 0;
let pt = -1e9;
/** Direction of the previous segment in radians; NaN at the start of a window. */
let pa = NaN;
let moves = 0;
let turn = 0;
let reversals = 0;

function move(e: PointerEvent): void {
  if (e.pointerType != "mouse") return;
  const x = e.clientX;
  const y = e.clientY;
  const t = performance.now();
  if (t - pt > WINDOW_GAP) pa = NaN;
  else if ((x - px) * (x - px) + (y - py) * (y - py) < MIN_STEP * MIN_STEP) return;
  else {
    const a = Math.atan2(y - py, x - px);
    let da = Math.abs(a - pa);
    if (da > Math.PI) da = 2 * Math.PI - da;
    if (da == da) {
      // not NaN: the window has a previous segment to turn from
      moves++;
      turn += da;
      if (da > Math.PI / 2) reversals++;
    }
    pa = a;
  }
  px = x;
  py = y;
  pt = t;
}

// --- reading -----------------------------------------------------------------------------
/** Viewport bottom at the first scroll (-1: not scrolled in this page view), the furthest
 * reached, time of the last scroll and time spent scrolling. */
let first = -1;
let furthest = 0;
let lastScroll = 0;
let readMs = 0;
/** Words of the main text, counted at the first report of a page view (-1: not yet). */
let words = -1;

function scrolled(e: Event): void {
  const y = scrollY + innerHeight;
  const t = performance.now();
  if (first < 0) first = furthest = y;
  else readMs += Math.min(t - lastScroll, 3e4);
  if (y > furthest) furthest = y;
  lastScroll = t;
}

/** Words per minute over the main text's share of the distance scrolled. */
function wpm(): number | undefined {
  if (first < 0 || readMs < MIN_READ_MS) return;
  const el = d.querySelector("article") || d.querySelector("main") || d.body;
  const r = el.getBoundingClientRect();
  const top = r.top + scrollY;
  const clamp = (y: number) => Math.min(Math.max(y, top), top + r.height);
  const px = clamp(furthest) - clamp(first);
  if (words < 0) words = (el.textContent || "").split(/\s+/).filter(Boolean).length;
  if (px > 0 && r.height > 0) return Math.round(((words / r.height) * px * 6e4) / readMs);
}

// --- focus, video, copy and selection ---------------------------------------------------
let selTimer: any;
let lastSel = 0;
const selected = () => String(getSelection()).length;

type Video = HTMLVideoElement & { _oie?: number[] };

/** play, pause, progress at 25/50/75 % (once each per element), complete. */
function video(emit: Emit, v: Video, type: string): void {
  const pct = Math.round((v.currentTime / v.duration) * 100) || 0;
  const send = (action: string, percent: number) => emit("video", { src: v.currentSrc, action, percent });
  const sent = (v._oie = v._oie || []);
  if (type == "timeupdate") {
    progress(sent, pct, send);
  } else if (type == "ended") send("complete", 100);
  else send(type, pct);
}

function listen(emit: Emit): void {
  // Capture listeners on window also see every element's focus/blur: keep the window's own.
  on(w, "blur", (e) => e.target == window && emit("focus_lost"));
  on(w, "focus", (e) => e.target == window && emit("focus_gained"));
  for (const t of ["play", "pause", "timeupdate", "ended"])
    on(w, t, (e) => e.target.tagName == "VIDEO" && video(emit, e.target, t));
  // A video that started before this chunk arrived (autoplay, an early click) reports its play.
  for (const v of Array.from(d.querySelectorAll("video"))) if (!v.paused) video(emit, v, "play");
  on(w, "copy", () => emit("copy", { chars: selected() }));
  on(w, "selectionchange", () => {
    // Report a selection once it has been still for 1 s (not every extended character).
    clearTimeout(selTimer);
    selTimer = setTimeout(() => {
      const n = selected();
      if (n && n != lastSel) emit("text_select", { chars: n });
      lastSel = n;
    }, 1e3);
  });
}

const chunk: IdleChunk = {
  start(emit: Emit) {
    listen(emit);
    if (!matchMedia("(pointer: coarse)").matches) on(w, "pointermove", move);
    on(w, "scroll", scrolled);
    watchEmbeds(emit);
  },
  reset() {
    pa = NaN;
    moves = turn = reversals = readMs = 0;
    first = words = -1;
  },
  data(out) {
    if (moves >= MIN_SEGMENTS) {
      out.cursor_jitter = round((turn / moves) * (180 / Math.PI));
      out.cursor_reversals = reversals;
      out.cursor_moves = moves;
    }
    const v = wpm();
    if (v != null) out.reading_wpm = v;
    return out;
  },
};
(window as any).__oieIdle = chunk;
