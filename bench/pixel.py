"""Pixel benchmark: `.venv/bin/python -m bench.pixel [--runs N] [--strict]`.

1. Size: minified and gzipped bytes of every file pixel/build.mjs ships (dist/oie.js core,
   dist/oie-hash.js and dist/oie-idle.js chunks) and their total, each
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
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from playwright.sync_api import sync_playwright

from bench.pixel_report import DELAY_S, PAGES, TIMINGS, VARIANTS, Plausible, report, sizes
from oie.example_site import PIXEL_FILES, serve_example_site
from tests.python.helpers.chromium import CHROMIUM
from tests.python.helpers.chromium import CHROMIUM_ARGS as ARGS
from tests.python.helpers.chromium import DESKTOP_UA as UA
from tests.python.helpers.servers import start_ingest_server

ROOT = Path(__file__).resolve().parent.parent
DIST = ROOT / "pixel" / "dist"
RESULTS = ROOT / "bench" / "results" / "pixel.md"
PLAUSIBLE_BUILD = ROOT / "bench" / "plausible_page.mjs"
MIN_RUNS = 20
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
