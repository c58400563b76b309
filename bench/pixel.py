"""Pixel benchmark: `.venv/bin/python -m bench.pixel [--runs N] [--strict]`.

1. Size: minified and gzipped bytes of every file pixel/build.mjs ships (dist/oie.js core,
   dist/oie-hash.js, dist/oie-idle.js, dist/oie-embed.js chunks) and their total, each
   against its budget (core <= 3,500 B gzipped, aim 3,072; core + every chunk <= 12,000 B
   minified), beside the peers; Plausible's size is measured from the installed npm package
   (@plausible-analytics/tracker, a dev dependency of pixel/) as the page loads it.
2. Synchronous start, side by side with Plausible's tracker: the same async site tag on the
   same example pages loads either the pixel or Plausible's tracker (bundled with its
   init() call into a classic script by bench/plausible_page.mjs, sending its pageview to a
   dummy endpoint answering 202). Both files are wrapped the same way,
   `performance.mark("bench:s"); <script>; performance.mark("bench:e")`, and e - s is the
   synchronous start. Pixel and Plausible loads alternate (the order flips every round), in
   real headless Chromium; median, p25/p75 and the ratio pixel / Plausible against the
   1.5x target.
3. The pixel's main-thread time per page load: the synchronous start, every idle-time drain
   (the instrumented dist/oie.bench.js marks oie:drain -> oie:drained) and the idle chunk
   (dist/oie-idle.js, loaded at idle time on every page: its evaluation and its start()).
4. Page timings without the tag, with the pixel, with Plausible's tracker and with the pixel
   answering 1 s late: domInteractive, DOMContentLoaded and first contentful paint (same
   interleaved loop, so machine noise hits all alike). The tests prove the page does not
   wait for the pixel by order (tests/python/pixel/test_page_load.py); the cost in
   milliseconds is measured here only, since a shared machine's timings are noise.

Writes bench/results/pixel.md and prints it. Needs the build (`npm run build` in pixel/),
node and Chromium. `--strict` exits 1 when a budget fails (the default only reports).
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from playwright.sync_api import sync_playwright

from oie.example_site import PIXEL_FILES, serve_example_site
from tests.python.helpers.chromium import CHROMIUM
from tests.python.helpers.chromium import CHROMIUM_ARGS as ARGS
from tests.python.helpers.chromium import DESKTOP_UA as UA
from tests.python.helpers.servers import start_ingest_server

ROOT = Path(__file__).resolve().parent.parent
DIST = ROOT / "pixel" / "dist"
RESULTS = ROOT / "bench" / "results" / "pixel.md"
PLAUSIBLE_BUILD = ROOT / "bench" / "plausible_page.mjs"
PAGES = ["/", "/pricing.html", "/contact.html"]
MIN_RUNS = 20
DELAY_S = 1.0  # the late pixel
CORE_GZ_BUDGET = 3_500
CORE_GZ_AIM = 3_072
TOTAL_MIN_BUDGET = 12_000
START_RATIO_TARGET = 1.5
X = "\N{MULTIPLICATION SIGN}"
# What each file of the build is (PIXEL_FILES: the files a page may load).
FILE_ROLES = {
    "oie.js": "core, always loaded",
    "oie-hash.js": "lazy chunk: forms, email hashing, personalization fill",
    "oie-idle.js": (
        "idle chunk, on every page at idle time: focus, video, copy, selection, "
        "cursor jitter, reading velocity"
    ),
    "oie-embed.js": "embed chunk, loaded when a YouTube/Vimeo iframe exists",
}
# Page variants of the interleaved loop: label, and how the example site serves the tag.
VARIANTS = [
    ("without", "no tag"),
    ("pixel", "with pixel"),
    ("plausible", "with Plausible"),
    ("late", f"pixel {DELAY_S:g} s late"),
]
TIMINGS = [
    ("dom_interactive", "domInteractive"),
    ("dcl", "DOMContentLoaded"),
    ("fcp", "first contentful paint"),
]
# Peers not re-measured here (minified, gzipped, as measured for the issue), with their scope.
PEERS = [
    ("Snowplow browser tracker", 51.0, 17.0, "full event model, queue, retries"),
    ("PostHog array.js", 380.0, 122.0, "analytics, replay, flags, surveys"),
]

# The same wrapper around both trackers' files: e - s is the synchronous start (the script's
# top-level run; its compile happens before s, alike for both). Newlines keep a trailing
# line comment of the wrapped file from swallowing the closing mark.
WRAP_HEAD = 'performance.mark("bench:s");\n'
WRAP_TAIL = '\n;performance.mark("bench:e");\n'
# The idle chunk: its evaluation, and the start() the core calls once it has loaded
# (window.__oieIdle, pixel/src/types.ts), timed by a hook outside the measured span.
IDLE_HEAD = 'performance.mark("bench:idle-s");\n'
IDLE_TAIL = (
    '\n;performance.mark("bench:idle-e");\n'
    "(function(c){if(c&&typeof c.start=='function'){var f=c.start;c.start=function(){"
    'performance.mark("bench:idle-start");try{return f.apply(this,arguments)}'
    'finally{performance.mark("bench:idle-started")}}}})(window.__oieIdle);\n'
)

READ_MARKS = """() => {
  const t = (n) => performance.getEntriesByName(n).map((e) => e.startTime);
  const span = (a, b) => {
    const s = t(a), e = t(b);
    let x = 0;
    for (let i = 0; i < Math.min(s.length, e.length); i++) x += e[i] - s[i];
    return [x, Math.min(s.length, e.length)];
  };
  const [tag] = span('bench:s', 'bench:e');
  const [inner] = span('oie:start', 'oie:end');
  const [drains, n_drains] = span('oie:drain', 'oie:drained');
  const [idle_eval, idle_loaded] = span('bench:idle-s', 'bench:idle-e');
  const [idle_start, idle_started] = span('bench:idle-start', 'bench:idle-started');
  return {tag, inner, drains, n_drains, idle_eval, idle_loaded, idle_start, idle_started};
}"""
PAINT = """() => new Promise((resolve) => {
  const nav = performance.getEntriesByType('navigation')[0];
  const done = () => {
    const fcp = performance.getEntriesByName('first-contentful-paint')[0];
    if (!fcp) return setTimeout(done, 20);
    resolve({dom_interactive: nav.domInteractive, dcl: nav.domContentLoadedEventEnd,
             fcp: fcp.startTime});
  };
  done();
})"""


def kb(n: int) -> str:
    return f"{n / 1000:.1f} KB"


def gz(data: bytes) -> int:
    return len(gzip.compress(data, compresslevel=9, mtime=0))


def sizes(dist: Path = DIST) -> dict[str, tuple[int, int] | None]:
    """Minified and gzipped bytes of each shipped file; None for a file not built."""
    out: dict[str, tuple[int, int] | None] = {}
    for name in PIXEL_FILES:
        path = dist / name
        out[name] = (path.stat().st_size, gz(path.read_bytes())) if path.is_file() else None
    return out


@dataclass
class Budget:
    rows: list[tuple[str, str, str, str, str]]  # file, minified, gzipped, budget, status
    failed: list[str]
    total_min: int
    total_gz: int


def budgets(sz: dict[str, tuple[int, int] | None]) -> Budget:
    """One row per shipped file and the total. The core has its own budget (gzipped); a
    chunk has none of its own: it is within the total's (minified), and shares its verdict."""
    failed = []
    missing = [n for n, v in sz.items() if v is None]
    total_min = sum(v[0] for v in sz.values() if v)
    total_gz = sum(v[1] for v in sz.values() if v)
    total_ok = total_min <= TOTAL_MIN_BUDGET
    if total_ok:
        total_status = f"pass ({TOTAL_MIN_BUDGET - total_min:,} B to spare)"
    else:
        total_status = f"**fail** (+{total_min - TOTAL_MIN_BUDGET:,} B)"
        failed.append(f"core + chunks {total_min:,} B minified > {TOTAL_MIN_BUDGET:,}")
    if missing:
        total_status += f"; without {', '.join(missing)} (not built)"
    rows = []
    for name, v in sz.items():
        label = f"`{name}` ({FILE_ROLES.get(name, 'chunk')})"
        if name == "oie.js":
            budget = f"≤ {CORE_GZ_BUDGET:,} gzipped (aim {CORE_GZ_AIM:,})"
            if v is None:
                status = "**fail** (not built)"
                failed.append("core not built")
            elif v[1] > CORE_GZ_BUDGET:
                status = f"**fail** (+{v[1] - CORE_GZ_BUDGET:,} B)"
                failed.append(f"core {v[1]:,} B gzipped > {CORE_GZ_BUDGET:,}")
            elif v[1] > CORE_GZ_AIM:
                status = f"pass ({CORE_GZ_AIM:,} aim missed by {v[1] - CORE_GZ_AIM:,} B)"
            else:
                status = "pass (aim met)"
        else:
            budget = f"within the total's ≤ {TOTAL_MIN_BUDGET:,} minified"
            status = "not built" if v is None else ("pass" if total_ok else "**fail**")
        cells = ("not built", "not built") if v is None else (f"{v[0]:,}", f"{v[1]:,}")
        rows.append((label, *cells, budget, status))
    rows.append(
        (
            "core + every chunk",
            f"{total_min:,}",
            f"{total_gz:,}",
            f"≤ {TOTAL_MIN_BUDGET:,} minified",
            total_status,
        )
    )
    return Budget(rows, failed, total_min, total_gz)


@dataclass
class Plausible:
    code: str  # the script the page loads (before the bench's wrapper)
    version: str
    module: Path  # the npm package's file it was bundled from


def build_plausible(out: Path, endpoint: str, domain: str = "example.test") -> Plausible:
    """The Plausible tracker as the page loads it (bench/plausible_page.mjs, esbuild)."""
    node = shutil.which("node")
    if node is None:
        raise SystemExit("node not found: the Plausible page script is built with node")
    done = subprocess.run(
        [node, str(PLAUSIBLE_BUILD), str(out), endpoint, domain],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    )
    info = json.loads(done.stdout.strip().splitlines()[-1])
    return Plausible(out.read_text(), str(info["version"]), Path(info["module"]))


class DummyEndpoint:
    """A stand-in for Plausible's /api/event on 127.0.0.1: 202 to every POST, counted."""

    def __init__(self) -> None:
        self.posts = 0
        self.events: Counter[str] = Counter()  # by Plausible's event name ("n")
        lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:
                pass

            def _answer(self, status: int) -> None:
                self.send_response(status)
                self.send_header("Access-Control-Allow-Origin", "*")
                self.send_header("Access-Control-Allow-Headers", "Content-Type")
                self.send_header("Content-Length", "0")
                self.end_headers()

            def do_OPTIONS(self) -> None:
                self._answer(204)

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                try:
                    name = str(json.loads(body).get("n"))
                except (ValueError, AttributeError):
                    name = "?"
                with lock:
                    outer.posts += 1
                    outer.events[name] += 1
                self._answer(202)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/api/event"
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


@contextmanager
def dummy_endpoint() -> Iterator[DummyEndpoint]:
    ep = DummyEndpoint()
    try:
        yield ep
    finally:
        ep.close()


def wrap(text: str, head: str = WRAP_HEAD, tail: str = WRAP_TAIL) -> str:
    return head + text + tail


def stage_pixel(pixel_dir: Path, dist: Path = DIST) -> bool:
    """The pixel as the bench serves it: the instrumented core (oie.bench.js) wrapped as
    `oie.js`, the idle chunk wrapped, the other chunks as built. True if oie-idle.js exists."""
    pixel_dir.mkdir(parents=True, exist_ok=True)
    core = (dist / "oie.bench.js").read_text()
    (pixel_dir / "oie.js").write_text(wrap(core))
    idle = dist / "oie-idle.js"
    for name in PIXEL_FILES:
        if name == "oie.js" or not (dist / name).is_file():
            continue
        if name == "oie-idle.js":
            (pixel_dir / name).write_text(wrap(idle.read_text(), IDLE_HEAD, IDLE_TAIL))
        else:
            shutil.copy(dist / name, pixel_dir / name)
    return idle.is_file()


def measure(runs: int) -> dict[str, Any]:
    bench_dir = Path(tempfile.mkdtemp(prefix="oie-bench-pixel-"))
    pixel_dir = bench_dir / "pixel"
    plausible_dir = bench_dir / "plausible"
    plausible_dir.mkdir()
    has_idle = stage_pixel(pixel_dir)
    paint: dict[str, dict[str, list[float]]] = {
        which: {k: [] for k, _ in TIMINGS} for which, _ in VARIANTS
    }
    m: dict[str, Any] = {
        "paint": paint,
        "pixel": [],  # READ_MARKS of each pixel load
        "plausible": [],  # e - s of each Plausible load
        "pairs": [],  # (pixel, Plausible) start of the same round, same page
        "late_load": [],
        "has_idle": has_idle,
        "load_before": os.getloadavg()[0],
    }
    try:
        with (
            dummy_endpoint() as ep,
            start_ingest_server(data_dir=bench_dir / "collector") as collector,
        ):
            pl = build_plausible(bench_dir / "plausible.js", ep.url)
            (plausible_dir / "oie.js").write_text(wrap(pl.code))
            m["plausible_info"] = pl
            with (
                serve_example_site(
                    "127.0.0.1", 0, collector.url, serve_pixel=True, pixel_dir=pixel_dir
                ) as site,
                serve_example_site(
                    "127.0.0.1", 0, collector.url, serve_pixel=True, pixel_dir=plausible_dir
                ) as plausible_site,
                serve_example_site("127.0.0.1", 0, collector.url, include_tag=False) as bare,
                serve_example_site(
                    "127.0.0.1", 0, collector.url, pixel_delay_s=DELAY_S, pixel_dir=pixel_dir
                ) as late,
                sync_playwright() as pw,
            ):
                browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
                m["chromium"] = browser.version
                bases = {
                    "pixel": site.url,
                    "plausible": plausible_site.url,
                    "without": bare.url,
                    "late": late.url,
                }
                order = [which for which, _ in VARIANTS]
                # Round 0 (first compile, first connections) is a warm-up, not counted. The
                # order flips every round, so neither tracker always loads after the other.
                for i in range(runs + 1):
                    path = PAGES[i % len(PAGES)]
                    starts: dict[str, float] = {}
                    for which in order if i % 2 == 0 else order[::-1]:
                        r = load_once(browser, bases[which] + path, which, ep, has_idle)
                        if i == 0:
                            continue
                        for k, _ in TIMINGS:
                            paint[which][k].append(r["paint"][k])
                        if which == "pixel":
                            m["pixel"].append(r["marks"])
                            starts["pixel"] = r["marks"]["tag"]
                        elif which == "plausible":
                            m["plausible"].append(r["start"])
                            starts["plausible"] = r["start"]
                        elif which == "late":
                            m["late_load"].append(r["load_end"])
                    if i:
                        m["pairs"].append((starts["pixel"], starts["plausible"]))
                browser.close()
            m["plausible_events"] = dict(ep.events)
    finally:
        shutil.rmtree(bench_dir, ignore_errors=True)
    m["load_after"] = os.getloadavg()[0]
    return m


def load_once(browser: Any, url: str, which: str, ep: DummyEndpoint, has_idle: bool) -> dict:
    """One page load in a fresh context; what this variant measures."""
    ctx = browser.new_context(user_agent=UA)
    page = ctx.new_page()
    pageviews = ep.events["pageview"]
    out: dict[str, Any] = {}
    try:
        page.goto(url, wait_until="load")
        out["paint"] = page.evaluate(PAINT)
        if which == "pixel":
            page.wait_for_function(
                "performance.getEntriesByName('oie:drained').length > 0", timeout=10_000
            )
            if has_idle:
                page.wait_for_function(
                    "performance.getEntriesByName('bench:idle-e').length > 0", timeout=10_000
                )
            page.wait_for_timeout(200)  # let later idle work (the chunk's start()) finish too
            out["marks"] = page.evaluate(READ_MARKS)
        elif which == "plausible":
            out["start"] = page.evaluate(
                "performance.getEntriesByName('bench:e')[0].startTime"
                " - performance.getEntriesByName('bench:s')[0].startTime"
            )
            # It really started: its pageview reached the endpoint (checked in the report).
            deadline = time.monotonic() + 5
            while ep.events["pageview"] == pageviews and time.monotonic() < deadline:
                time.sleep(0.01)
        elif which == "late":
            # The delay is real: the load event waits for the async script.
            page.wait_for_function("window._oie === 1", timeout=10_000)
            out["load_end"] = page.evaluate(
                "performance.getEntriesByType('navigation')[0].loadEventEnd"
            )
    finally:
        ctx.close()
    return out


def sent(events: dict[str, int]) -> str:
    return ", ".join(f"{n} {name}" for name, n in sorted(events.items())) or "nothing"


def quartiles(v: list[float]) -> tuple[float, float, float]:
    q = statistics.quantiles(v, n=4, method="inclusive")
    return q[0], q[1], q[2]


def stat_row(label: str, v: list[float], digits: int = 2) -> str:
    p25, p50, p75 = quartiles(v)
    f = f"{{:.{digits}f}} ms"
    return (
        f"| {label} | {f.format(p50)} | {f.format(p25)} | {f.format(p75)} "
        f"| {f.format(min(v))} | {f.format(max(v))} |"
    )


def report(
    sz: dict[str, tuple[int, int] | None], m: dict[str, Any], runs: int, took_s: float
) -> tuple[str, list[str]]:
    """The results page, and the budgets that failed (size and start-up ratio)."""
    med = statistics.median
    b = budgets(sz)
    failed = list(b.failed)
    core = sz.get("oie.js")
    pl: Plausible = m["plausible_info"]
    pl_bytes = pl.code.encode()
    pl_min, pl_gz = len(pl_bytes), gz(pl_bytes)
    npm_raw = pl.module.read_bytes()
    lines = [
        "# Pixel benchmark",
        "",
        f"Run {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} on {platform.machine()}, "
        f"{platform.system()}, {os.cpu_count()} CPUs (a shared machine; load average "
        f"{m['load_before']:.1f} at the start, {m['load_after']:.1f} at the end), headless "
        f"Chromium {m.get('chromium', '?')} (`{CHROMIUM}`), Plausible tracker {pl.version} "
        f"(npm); `python -m bench.pixel --runs {runs}` took {took_s:.0f} s.",
        "",
        "## Size (bytes; gzip -9)",
        "",
        "| file | minified | gzipped | budget | status |",
        "|---|---:|---:|---|---|",
    ]
    lines += [f"| {' | '.join(r)} |" for r in b.rows]
    lines += [
        "",
        "`dist/oie.bench.js` (the instrumented core) is the benchmark's own and not shipped.",
        "",
        "Beside peers (Plausible measured here from the installed npm package, bundled with "
        "its `init()` call as the page below loads it; the others as measured for the issue):",
        "",
        "| tracker | minified | gzipped | scope |",
        "|---|---:|---:|---|",
    ]
    if core:
        lines.append(
            f"| **OIE pixel core** | {kb(core[0])} | {kb(core[1])} | pageviews (SPA too), "
            "scroll, clicks + roles, rage clicks, back/forward restores, active time / "
            "page_exit, identity, sessions, retry queue, consent, GPC, scrubbing, "
            "personalization trigger |"
        )
    lines += [
        f"| OIE core + every chunk | {kb(b.total_min)} | {kb(b.total_gz)} | + email hashing, "
        "form_start / form_submit, personalization fill (lazy), focus, video, copy / "
        "text_select, cursor jitter, reading velocity (idle), YouTube / Vimeo players (embed) |",
        f"| Plausible tracker {pl.version} (npm, measured) | {kb(pl_min)} | {kb(pl_gz)} "
        "| pageviews (SPA too), engagement time / scroll depth, custom events; outbound "
        "links, downloads, forms when enabled |",
    ]
    lines += [f"| {n} | {mn:.1f} KB | {g:.1f} KB | {s} |" for n, mn, g, s in PEERS]
    lines += [
        "",
        f"(The npm file itself, `{pl.module.name}`: {len(npm_raw):,} B minified, "
        f"{gz(npm_raw):,} B gzipped; the page's bundle adds the IIFE and the init call.)",
    ]

    px = m["pixel"]
    tag = [r["tag"] for r in px]
    pls = m["plausible"]
    ratio = med(tag) / med(pls) if med(pls) > 0 else float("inf")
    paired = [a / b_ for a, b_ in m["pairs"] if b_ > 0]
    ok = ratio <= START_RATIO_TARGET
    if not ok:
        failed.append(f"start ratio {ratio:.2f}x > {START_RATIO_TARGET:g}x")
    n_pages = len(m["paint"]["pixel"]["dcl"])
    lines += [
        "",
        f"## Synchronous start beside Plausible's tracker ({runs} runs each, interleaved over "
        f"{', '.join(PAGES)})",
        "",
        "The same async site tag on the same example pages, served by the same local server, "
        "loads either the pixel (`dist/oie.bench.js`) or Plausible's tracker "
        f"(`@plausible-analytics/tracker` {pl.version} from pixel/node_modules, bundled by "
        "`bench/plausible_page.mjs` with esbuild into a classic ES2015 script that calls "
        "`init({domain, endpoint, captureOnLocalhost: true})`, so it registers its listeners "
        "and sends its pageview to a local endpoint answering 202: "
        f"{sent(m['plausible_events'])} for {len(pls) + 1} loads). Both files are wrapped "
        'alike, `performance.mark("bench:s"); <file>; performance.mark("bench:e")`: e - s is '
        "the script's synchronous run (its compile, before s, is left out for both). Each round "
        "loads pixel then Plausible, the next round the other way round; a fresh browser "
        "context for every load; one warm-up round not counted.",
        "",
        "| synchronous start | median | p25 | p75 | min | max |",
        "|---|---:|---:|---:|---:|---:|",
        stat_row("OIE pixel core", tag),
        stat_row(f"Plausible tracker {pl.version}", pls),
        "",
        f"**Ratio pixel / Plausible (medians): {ratio:.2f}{X}** against the "
        f"≤ {START_RATIO_TARGET:g}{X} target: **{'pass' if ok else 'fail'}**. Median of the "
        f"per-round ratios (same page, same round): {med(paired):.2f}{X} "
        f"(p25 {quartiles(paired)[0]:.2f}{X}, p75 {quartiles(paired)[2]:.2f}{X}). The pixel's "
        "figure includes the instrumented build's own marks; their `oie:start` → `oie:end` "
        f"span (median {med([r['inner'] for r in px]):.2f} ms) leaves out the bundled modules' "
        "top-level code that runs before it, so the wrapper's span is the one compared. "
        "Marks tick in 0.1 ms steps (Chromium's timer resolution without cross-origin "
        "isolation).",
    ]

    drains = [r["drains"] for r in px]
    idle_eval = [r["idle_eval"] for r in px]
    idle_start = [r["idle_start"] for r in px]
    total = [r["tag"] + r["drains"] + r["idle_eval"] + r["idle_start"] for r in px]
    idle_loads = sum(1 for r in px if r["idle_loaded"])
    idle_starts = sum(1 for r in px if r["idle_started"])
    lines += [
        "",
        f"## The pixel's main-thread time per page load ({runs} runs)",
        "",
        "Synchronous start (as above), plus every idle-time drain (identity, session, "
        "scrubbing, batching: the instrumented build's `oie:drain` → `oie:drained` marks; "
        f"median {med([r['n_drains'] for r in px]):g} per load), plus the idle chunk "
        "`oie-idle.js` the core loads at idle time on every page: its evaluation (wrapped like "
        "the core) and the `start()` the core then calls "
        f"(loaded in {idle_loads} of {len(px)} loads, started in {idle_starts}"
        f"{'' if m['has_idle'] else '; dist/oie-idle.js not built'}).",
        "",
        "| measure | median | p25 | p75 | min | max |",
        "|---|---:|---:|---:|---:|---:|",
        stat_row("**pixel main-thread total**", total),
        stat_row("synchronous start", tag),
        stat_row("idle-time drains", drains),
        stat_row("idle chunk: evaluation", idle_eval),
        stat_row("idle chunk: start()", idle_start),
        "",
        f"Beside it, Plausible's synchronous start: median {med(pls):.2f} ms "
        "(its later work, engagement and scroll listeners, is not measured).",
    ]

    p = m["paint"]
    base = p["without"]
    lines += [
        "",
        f"## Page timings with and without a tracker (ms from navigation start; {n_pages} "
        "runs of each, interleaved)",
        "",
        "The same pages without the tag, with the pixel, with Plausible's tracker, and with "
        f"the pixel answering {DELAY_S:g} s late (`pixel_delay_s`): median, p25-p75, and the "
        "median's difference to the page without the tag. This shared machine varies "
        "20-67 % run to run: read these as a measurement, not a verdict; that the page never "
        "waits for the pixel is proven by order in tests/python/pixel/test_page_load.py.",
        "",
        "| | " + " | ".join(label for _, label in VARIANTS) + " |",
        "|---|" + "---:|" * len(VARIANTS),
    ]
    for k, label in TIMINGS:
        cells = []
        for which, _ in VARIANTS:
            v = p[which][k]
            q1, q2, q3 = quartiles(v)
            diff = "" if which == "without" else f", {q2 - med(base[k]):+.0f} ms"
            cells.append(f"{q2:.0f} ms ({q1:.0f}-{q3:.0f}{diff})")
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    lines += [
        "",
        f"With the pixel {DELAY_S:g} s late, the load event (which waits for async scripts) "
        f"ends at {med(m['late_load']):.0f} ms (median): the delay was real while the "
        "timings above were taken.",
        "",
        "## Verdict",
        "",
        f"- core ≤ {CORE_GZ_BUDGET:,} B gzipped: "
        + ("**fail**" if not core or core[1] > CORE_GZ_BUDGET else "pass")
        + (f" ({core[1]:,} B; aim {CORE_GZ_AIM:,})" if core else " (not built)"),
        f"- core + every chunk ≤ {TOTAL_MIN_BUDGET:,} B minified: "
        + ("**fail**" if b.total_min > TOTAL_MIN_BUDGET else "pass")
        + f" ({b.total_min:,} B)",
        f"- synchronous start ≤ {START_RATIO_TARGET:g}{X} Plausible's: "
        + ("pass" if ok else "**fail**")
        + f" ({ratio:.2f}{X}: {med(tag):.2f} ms vs {med(pls):.2f} ms)",
    ]
    for k, label in TIMINGS[1:]:
        q1, q2, q3 = quartiles(base[k])
        diff = med(p["pixel"][k]) - q2
        within = diff <= q3 - q1
        lines.append(
            f"- {label} with the pixel within the noise of runs without the tag (slower by at "
            f"most the no-tag runs' IQR, {q3 - q1:.0f} ms): "
            + ("yes" if within else "**no**")
            + f" ({diff:+.0f} ms, median {med(p['pixel'][k]):.0f} vs {q2:.0f} ms)"
        )
    lines.append("")
    return "\n".join(lines), failed


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument(
        "--runs", type=int, default=21, help=f"measured rounds (>= {MIN_RUNS}; 21 = 7 per page)"
    )
    ap.add_argument("--strict", action="store_true", help="exit 1 when a budget fails")
    args = ap.parse_args()
    runs = max(args.runs, MIN_RUNS)
    started = time.monotonic()
    sz = sizes()
    if not (DIST / "oie.bench.js").is_file():
        raise SystemExit("pixel/dist/oie.bench.js missing: run `npm run build` in pixel/")
    m = measure(runs)
    text, failed = report(sz, m, runs, time.monotonic() - started)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(text)
    print(text)
    print(f"wrote {RESULTS.relative_to(ROOT)}")
    if failed:
        print("budgets failed: " + "; ".join(failed), file=sys.stderr)
        if args.strict:
            raise SystemExit(1)


if __name__ == "__main__":
    main()
