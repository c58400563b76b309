"""Pixel benchmark: `.venv/bin/python -m bench.pixel [--runs N]`.

1. Size: minified and gzipped bytes of dist/oie.js (core) and dist/oie-hash.js (lazy
   chunk), beside the peers measured for the issue.
2. Main-thread time at load: the instrumented build (dist/oie.bench.js, performance marks
   around the synchronous start and around each idle-time drain) runs in real headless
   Chromium against the real ingest server; median of N runs, interleaved over three
   example pages.
3. Page timings with and without the pixel: the page's own domInteractive,
   DOMContentLoaded and first contentful paint without the tag, with the pixel, and with
   the pixel answering 1 s late (interleaved in the same loop, so machine noise hits all
   three alike): medians, best runs and the difference to "without". The tests prove the
   page does not wait for the pixel by order (tests/python/pixel/test_page_load.py); the
   cost in milliseconds is measured here only, since a shared machine's timings are noise.

Writes bench/results/pixel.md. Needs the build (`npm run build` in pixel/) and Chromium.
"""

from __future__ import annotations

import argparse
import gzip
import os
import platform
import shutil
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from playwright.sync_api import sync_playwright

from oie.example_site import serve_example_site
from tests.python.helpers.chromium import CHROMIUM
from tests.python.helpers.chromium import CHROMIUM_ARGS as ARGS
from tests.python.helpers.chromium import DESKTOP_UA as UA
from tests.python.helpers.servers import start_ingest_server

ROOT = Path(__file__).resolve().parent.parent
DIST = ROOT / "pixel" / "dist"
RESULTS = ROOT / "bench" / "results" / "pixel.md"
PAGES = ["/", "/pricing.html", "/contact.html"]
DELAY_S = 1.0  # the late pixel
# Page variants of the timing comparison: label, and how the example site serves the tag.
VARIANTS = [
    ("without", "no tag"),
    ("with", "with pixel"),
    ("late", f"pixel {DELAY_S:g} s late"),
]
TIMINGS = [
    ("dom_interactive", "domInteractive"),
    ("dcl", "DOMContentLoaded"),
    ("fcp", "first contentful paint"),
]
# Peers as measured for the issue (minified, gzipped), with what they do.
PEERS = [
    ("Plausible tracker (current)", 6.4, 2.7, "pageviews, outbound links, custom events"),
    ("Snowplow browser tracker", 51.0, 17.0, "full event model, queue, retries"),
    ("PostHog array.js", 380.0, 122.0, "analytics, replay, flags, surveys"),
]

# Sum of the pixel's own main-thread work, from its marks: the synchronous start
# (oie:start -> oie:end) and every idle-time drain (oie:drain -> oie:drained) so far.
READ_MARKS = """() => {
  const m = (n) => performance.getEntriesByName('oie:' + n).map((e) => e.startTime);
  const s = m('start'), e = m('end'), d = m('drain'), dd = m('drained');
  let idle = 0;
  for (let i = 0; i < Math.min(d.length, dd.length); i++) idle += dd[i] - d[i];
  return {sync: e[0] - s[0], idle, drains: dd.length};
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


def sizes() -> dict[str, tuple[int, int]]:
    out = {}
    for name in ("oie.js", "oie-hash.js"):
        data = (DIST / name).read_bytes()
        out[name] = (len(data), len(gzip.compress(data, compresslevel=9, mtime=0)))
    return out


def measure(runs: int) -> dict[str, Any]:
    bench_dir = Path(tempfile.mkdtemp(prefix="oie-bench-pixel-"))
    pixel_dir = bench_dir / "pixel"
    pixel_dir.mkdir()
    shutil.copy(DIST / "oie.bench.js", pixel_dir / "oie.js")  # the instrumented core
    shutil.copy(DIST / "oie-hash.js", pixel_dir / "oie-hash.js")
    main_ms: list[float] = []
    sync_ms: list[float] = []
    paint: dict[str, dict[str, list[float]]] = {
        which: {k: [] for k, _ in TIMINGS} for which, _ in VARIANTS
    }
    late_load_ms: list[float] = []
    try:
        with (
            start_ingest_server(data_dir=bench_dir / "collector") as collector,
            serve_example_site(
                "127.0.0.1", 0, collector.url, serve_pixel=True, pixel_dir=pixel_dir
            ) as site,
            serve_example_site("127.0.0.1", 0, collector.url, include_tag=False) as bare,
            serve_example_site(
                "127.0.0.1", 0, collector.url, pixel_delay_s=DELAY_S, pixel_dir=pixel_dir
            ) as late,
            sync_playwright() as pw,
        ):
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
            bases = {"with": site.url, "without": bare.url, "late": late.url}
            # One warm-up of each (first compile, first connection) is not counted.
            for i in range(runs + 1):
                path = PAGES[i % len(PAGES)]
                for which, _ in VARIANTS:
                    ctx = browser.new_context(user_agent=UA)
                    page = ctx.new_page()
                    page.goto(bases[which] + path, wait_until="load")
                    p = page.evaluate(PAINT)
                    if which == "with":
                        page.wait_for_function(
                            "performance.getEntriesByName('oie:drained').length > 0"
                        )
                        page.wait_for_timeout(200)  # let later idle work finish too
                        m = page.evaluate(READ_MARKS)
                    if which == "late":
                        # The delay is real: the load event waits for the async script.
                        page.wait_for_function("window._oie === 1")
                        load_end = page.evaluate(
                            "performance.getEntriesByType('navigation')[0].loadEventEnd"
                        )
                    ctx.close()
                    if i == 0:
                        continue
                    for k, _ in TIMINGS:
                        paint[which][k].append(p[k])
                    if which == "with":
                        main_ms.append(m["sync"] + m["idle"])
                        sync_ms.append(m["sync"])
                    if which == "late":
                        late_load_ms.append(load_end)
            browser.close()
    finally:
        shutil.rmtree(bench_dir, ignore_errors=True)
    return {"main": main_ms, "sync": sync_ms, "paint": paint, "late_load": late_load_ms}


def report(sz: dict[str, tuple[int, int]], m: dict[str, Any], runs: int) -> str:
    core_min, core_gz = sz["oie.js"]
    chunk_min, chunk_gz = sz["oie-hash.js"]
    med = statistics.median
    lines = [
        "# Pixel benchmark",
        "",
        f"Run {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} on {platform.machine()}, "
        f"{platform.system()}, {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} "
        f"(a shared machine), Chromium headless (`{CHROMIUM}`); `python -m bench.pixel "
        f"--runs {runs}`.",
        "",
        "## Size (bytes; gzip -9)",
        "",
        "| file | minified | gzipped | budget |",
        "|---|---:|---:|---|",
        f"| `oie.js` (core, always loaded) | {core_min:,} | {core_gz:,} | ≤ 3,500 gzipped |",
        f"| `oie-hash.js` (lazy chunk) | {chunk_min:,} | {chunk_gz:,} | |",
        f"| core + chunk | {core_min + chunk_min:,} | {core_gz + chunk_gz:,} | ≤ 12,000 minified |",
        "",
        "Beside peers (figures measured for the issue, not re-measured here):",
        "",
        "| tracker | minified | gzipped | scope |",
        "|---|---:|---:|---|",
        f"| **OIE pixel core** | {kb(core_min)} | {kb(core_gz)} | pageviews (SPA too), scroll, "
        "clicks + roles, rage clicks, focus, active time / page_exit, identity, sessions, "
        "retry queue, consent, GPC, scrubbing, personalization trigger |",
        f"| OIE core + lazy chunk | {kb(core_min + chunk_min)} | {kb(core_gz + chunk_gz)} "
        "| + email hashing, form_start / form_submit, video, copy / text_select, "
        "personalization fill (loaded on first use) |",
    ]
    for name, mn, gz, scope in PEERS:
        lines.append(f"| {name} | {mn:.1f} KB | {gz:.1f} KB | {scope} |")
    p = m["paint"]
    lines += [
        "",
        f"## Main-thread time at load (median of {runs} runs, interleaved over {', '.join(PAGES)})",
        "",
        "Instrumented build (`dist/oie.bench.js`): performance marks around the synchronous "
        "start and around each idle-time drain (identity, session, scrubbing, batching).",
        "",
        "| measure | median | min | max |",
        "|---|---:|---:|---:|",
        f"| pixel main-thread total (sync + idle) | {med(m['main']):.2f} ms "
        f"| {min(m['main']):.2f} ms | {max(m['main']):.2f} ms |",
        f"| of which synchronous start | {med(m['sync']):.2f} ms | {min(m['sync']):.2f} ms "
        f"| {max(m['sync']):.2f} ms |",
        "",
        f"## Page timings with and without the pixel (ms from navigation start; {runs} runs "
        "of each, interleaved)",
        "",
        "The same pages without the tag, with the pixel, and with the pixel answering "
        f"{DELAY_S:g} s late (`pixel_delay_s`): median, best run, and the median's difference "
        "to the page without the tag. This machine varies 20-67 % run to run: read these as "
        "a measurement, not a verdict; that the page never waits for the pixel is proven by "
        "order in tests/python/pixel/test_page_load.py.",
        "",
        "| | " + " | ".join(label for _, label in VARIANTS) + " |",
        "|---|" + "---:|" * len(VARIANTS),
    ]
    base = p["without"]
    for k, label in TIMINGS:
        cells = []
        for which, _ in VARIANTS:
            v = p[which][k]
            diff = "" if which == "without" else f", {med(v) - med(base[k]):+.0f} ms"
            cells.append(f"{med(v):.0f} ms (best {min(v):.0f}{diff})")
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    lines += [
        "",
        f"With the pixel {DELAY_S:g} s late, the load event (which waits for async scripts) "
        f"ends at {med(m['late_load']):.0f} ms (median): the delay was real while the "
        "timings above were taken.",
        "",
    ]
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=12, help="measured runs (>= 10)")
    args = ap.parse_args()
    sz = sizes()
    m = measure(max(args.runs, 10))
    text = report(sz, m, max(args.runs, 10))
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(text)
    print(text)
    print(f"wrote {RESULTS.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
