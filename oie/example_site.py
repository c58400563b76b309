"""The pixel's example site (pixel/examples) on a small static HTTP server.

`oie serve` runs it on a second port next to the collector; the browser tests and the
pixel benchmark run it too. Each HTML page carries the real site tag, written as a customer
would write it (`<script async src="https://collect.example/oie.js"
data-endpoint="https://collect.example">`); the server points it at the collector it is
given. Options exist for measurement only: serve the pixel from this server after an
artificial delay (the page-load impact test), or leave the tag out (the baseline).

Options for tests only: `no_store=False` leaves out `Cache-Control: no-store` (which keeps
Chromium and Firefox from putting a page in their back/forward cache), and `recorder` puts
a small script first in every page's <head> that keeps what a test cannot ask every browser
for (WebKitGTK's driver reports no console messages) in the origin's localStorage, so it
survives navigations (not sessionStorage: Firefox gives a page restored from the
back/forward cache the sessionStorage it had when it was cached):
- `__oie_errors`: uncaught errors and unhandled rejections (also in `window.__errors`);
- `__oie_pageshow`: `[path, persisted]` per pageshow event (persisted = restored from the
  back/forward cache); `window.__shown` = Date.now() at the document's last pageshow.

    site = serve_example_site("127.0.0.1", 0, "http://127.0.0.1:8080")
    print(site.url)   # http://127.0.0.1:54321
    site.close()

Routes: files under pixel/examples; `/app/...` serves app.html (the single-page app's
deep links); POST to a page serves that page (the contact form posts to /thanks.html; the
body is read and discarded, never stored or logged); `/_pixel/<file>` serves the built
pixel from `pixel_dir` (only used with `pixel_delay_s` or `serve_pixel`).
"""

from __future__ import annotations

import mimetypes
import re
import sys
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES_DIR = ROOT / "pixel" / "examples"
PIXEL_DIST = ROOT / "pixel" / "dist"
# The files pixel/build.mjs writes that a page loads: the core and its chunks.
PIXEL_FILES = ("oie.js", "oie-hash.js", "oie-idle.js")
PLACEHOLDER = "https://collect.example"
_TAG_RE = re.compile(
    r'[ \t]*<script async src="https://collect\.example/oie\.js"[^>]*></script>\n?'
)
_MAX_FORM_BODY = 1 << 20


@dataclass
class SiteOptions:
    collector_url: str
    pixel_delay_s: float = 0.0
    include_tag: bool = True
    serve_pixel: bool = False
    root: Path = EXAMPLES_DIR
    pixel_dir: Path = PIXEL_DIST
    extra_headers: dict[str, str] = field(default_factory=dict)
    recorder: bool = False
    no_store: bool = True


class ExampleSite:
    """A running example-site server (a daemon thread); `close()` stops it."""

    def __init__(self, server: ThreadingHTTPServer, thread: threading.Thread) -> None:
        self.server = server
        self.thread = thread
        host, port = server.server_address[:2]
        self.host = str(host)
        self.port = int(port)
        self.url = f"http://{self.host}:{self.port}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)

    def __enter__(self) -> ExampleSite:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# The test recorder (`recorder=True`): plain ES5, first in <head>, so it sees the pixel's
# errors too. A bubbling `error` listener: runtime errors only, not failed resource loads.
RECORDER_SCRIPT = """<script>(function () {
  function add(key, item) {
    try {
      var all = JSON.parse(localStorage.getItem(key) || "[]");
      all.push(item);
      localStorage.setItem(key, JSON.stringify(all));
    } catch (e) {}
  }
  function error(what) {
    window.__errors.push(what);
    add("__oie_errors", location.pathname + ": " + what);
  }
  window.__errors = [];
  addEventListener("error", function (e) {
    error(String(e.message || e.error) + " (" + e.filename + ":" + e.lineno + ")");
  });
  addEventListener("unhandledrejection", function (e) {
    error("unhandled rejection: " + String(e.reason && (e.reason.stack || e.reason)));
  });
  addEventListener("pageshow", function (e) {
    window.__shown = Date.now();
    add("__oie_pageshow", [location.pathname, !!e.persisted]);
  });
})();</script>
"""


def render_page(html: str, opts: SiteOptions) -> str:
    """Point the site tag at the collector (or at the delayed local copy, or drop it)."""
    if opts.recorder:
        html = html.replace("<head>\n", "<head>\n" + RECORDER_SCRIPT, 1)
    if not opts.include_tag:
        return _TAG_RE.sub("", html)
    collector = opts.collector_url.rstrip("/")
    if opts.serve_pixel or opts.pixel_delay_s > 0:
        html = html.replace(f'src="{PLACEHOLDER}/oie.js"', 'src="/_pixel/oie.js"')
    return html.replace(PLACEHOLDER, collector)


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: object, client_address: object) -> None:
        # A browser that closes a connection mid-request (a tab closed, a test ending) is
        # normal traffic, not an error worth a traceback.
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)  # type: ignore[arg-type]


def _handler(opts: SiteOptions) -> type[BaseHTTPRequestHandler]:
    root = opts.root.resolve()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "oie-example-site"

        def log_message(self, format: str, *args: object) -> None:
            pass  # quiet: tests and `oie serve` print their own lines

        def do_GET(self) -> None:
            self._serve(head=False)

        def do_HEAD(self) -> None:
            self._serve(head=True)

        def do_POST(self) -> None:
            # A form post: read and drop the body (the example site keeps nothing), then
            # answer with the page it was posted to, like a static "thank you" page.
            length = int(self.headers.get("Content-Length") or 0)
            if length > _MAX_FORM_BODY:
                self._send(413, b"too large", "text/plain")
                return
            self.rfile.read(length)
            self._serve(head=False)

        def _serve(self, head: bool) -> None:
            path = urlsplit(self.path).path
            if path.startswith("/_pixel/"):
                self._pixel(path.removeprefix("/_pixel/"), head)
                return
            if path.endswith("/"):
                path += "index.html"
            if path.startswith("/app/"):
                path = "/app.html"
            target = (root / path.lstrip("/")).resolve()
            if not target.is_relative_to(root) or not target.is_file():
                self._send(404, b"not found", "text/plain")
                return
            body = target.read_bytes()
            ctype = mimetypes.guess_type(target.name)[0] or "application/octet-stream"
            if target.suffix == ".html":
                body = render_page(body.decode("utf-8"), opts).encode("utf-8")
                ctype = "text/html; charset=utf-8"
            self._send(200, b"" if head else body, ctype, len(body))

        def _pixel(self, name: str, head: bool) -> None:
            if name not in PIXEL_FILES:
                self._send(404, b"not found", "text/plain")
                return
            if name == "oie.js" and opts.pixel_delay_s > 0:
                time.sleep(opts.pixel_delay_s)  # the artificial slow collector
            try:
                body = (opts.pixel_dir / name).read_bytes()
            except OSError:
                self._send(404, b"pixel not built (npm run build in pixel/)", "text/plain")
                return
            self._send(200, b"" if head else body, "application/javascript", len(body))

        def _send(self, status: int, body: bytes, ctype: str, length: int | None = None) -> None:
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body) if length is None else length))
            if opts.no_store:
                self.send_header("Cache-Control", "no-store")
            for k, v in opts.extra_headers.items():
                self.send_header(k, v)
            self.end_headers()
            if body:
                self.wfile.write(body)

    return Handler


def serve_example_site(
    host: str,
    port: int,
    collector_url: str,
    *,
    pixel_delay_s: float = 0.0,
    include_tag: bool = True,
    serve_pixel: bool = False,
    root: Path | None = None,
    pixel_dir: Path | None = None,
    recorder: bool = False,
    no_store: bool = True,
) -> ExampleSite:
    """Start the example site on host:port (port 0 picks a free one) in a daemon thread.

    collector_url: where the site tag loads /oie.js from and sends events to.
    pixel_delay_s: > 0 serves the pixel from this server (/_pixel/oie.js) after that delay,
      to measure that a slow pixel does not hold the page back.
    include_tag: False serves the pages without the site tag (the baseline).
    serve_pixel: True serves the pixel from this server's /_pixel/ (pixel_dir, default
      pixel/dist) instead of the collector; events still go to collector_url.
    recorder: True records uncaught errors and pageshow events in localStorage (tests;
      see the module docstring).
    no_store: False drops `Cache-Control: no-store` (pages may enter the back/forward cache).
    """
    opts = SiteOptions(
        collector_url=collector_url,
        pixel_delay_s=pixel_delay_s,
        include_tag=include_tag,
        serve_pixel=serve_pixel,
        root=root or EXAMPLES_DIR,
        pixel_dir=pixel_dir or PIXEL_DIST,
        recorder=recorder,
        no_store=no_store,
    )
    server = _Server((host, port), _handler(opts))
    thread = threading.Thread(
        target=server.serve_forever,
        kwargs={"poll_interval": 0.05},
        daemon=True,
        name=f"oie-example-site-{server.server_address[1]}",
    )
    thread.start()
    return ExampleSite(server, thread)
