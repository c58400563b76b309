"""The whole loop in a real browser: a lead clicks through from an email (`?i=TOKEN`) and
reads a page, `oie run` (seal, dbt build, KV sync) fills kv.sqlite, and the example site
then greets the lead by first name on their next page, and on a first visit from another
browser with the same link (the token's key)."""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page

from oie.example_site import ExampleSite, serve_example_site
from tests.python.cli.conftest import Cli, cli_env
from tests.python.helpers.chromium import DESKTOP_UA
from tests.python.helpers.servers import IngestServer, start_ingest_server
from tests.python.pixel.conftest import DIST
from tests.python.pixel.support import (
    events_for,
    pause_clock,
    run_idle,
    visitor_id,
    wait_events,
    wait_for,
)

SECRET = "pixel-run-secret-0123456789abcdef"
SNIPPET_MS = 1500  # past the pixel's 1 s deadline and the snippet's fallback timer
# The greeting (data-personalize) and the profile event, recorded from the first node on.
OBSERVER = """
document.addEventListener('oie:profile', (e) => { window.__profile = e.detail; window.__got = 1; });
"""


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Cli, IngestServer]]:
    root = tmp_path_factory.mktemp("personalize-after-run")
    data_dir = root / "data"
    (root / "work").mkdir()
    cli = Cli(cli_env(data_dir, OIE_TOKEN_SECRET=SECRET, OIE_KV="local"), root / "work")
    env = {"OIE_TOKEN_SECRET": SECRET, "OIE_PIXEL_DIR": str(DIST), "OIE_LANDING_MAX_AGE": "1s"}
    with start_ingest_server(env, data_dir=data_dir) as srv:
        yield cli, srv


@pytest.fixture(scope="module")
def run_site(stack: tuple[Cli, IngestServer]) -> Iterator[ExampleSite]:
    with serve_example_site("127.0.0.1", 0, stack[1].url) as s:
        yield s


def fresh_page(browser: Browser) -> tuple[BrowserContext, Page]:
    context = browser.new_context(user_agent=DESKTOP_UA, viewport={"width": 1000, "height": 700})
    page = context.new_page()
    page.add_init_script(OBSERVER)
    return context, page


def open_and_decide(page: Page, url: str) -> None:
    """Open `url` on a paused clock, let the pixel ask /personalize and decide, then run
    the clock past every timer, so the greeting is final when the test reads it."""
    pause_clock(page)
    page.goto(url)
    run_idle(page)
    wait_for(lambda: page.evaluate("window.__got === 1"), what="oie:profile")
    page.clock.run_for(SNIPPET_MS)


def wait_sealed(landing: Path, timeout: float = 30) -> None:
    """Until the server has sealed every events file (OIE_LANDING_MAX_AGE): `oie run`
    reads sealed files only."""
    deadline = time.monotonic() + timeout
    while list(landing.glob("events/dt=*/hr=*/*.ndjson.open")):
        assert time.monotonic() < deadline, "the server never sealed its landing file"
        time.sleep(0.1)


def test_after_oie_run_the_lead_is_greeted_by_name(
    browser: Browser, stack: tuple[Cli, IngestServer], run_site: ExampleSite
) -> None:
    cli, srv = stack
    (cli.cwd / "leads.csv").write_text("Email,First Name,Company\nada@example.com,Ada,AE\n")
    cli(
        "campaign",
        "create",
        "leads.csv",
        "--campaign",
        "Spring",
        "--landing-url",
        run_site.url + "/",
        check=True,
    )
    lead = json.loads(
        next((cli.data_dir / "landing" / "leads").glob("dt=*/hr=*/*.ndjson")).read_text()
    )
    token = lead["token"]

    # The click-through: nothing is in the store yet, so the page greets no one.
    context, page = fresh_page(browser)
    open_and_decide(page, f"{run_site.url}/?i={token}")
    assert page.text_content("#greeting") == "Hi there, see who is warming up."
    vid = visitor_id(page)
    page.goto(f"{run_site.url}/pricing.html")  # the home page's events leave on pagehide
    page.goto("about:blank")  # and the pricing page's
    landed = wait_events(srv, vid, "pageview", count=2)
    assert {e.get("token") for e in landed} >= {token}
    # Including what the pages sent while unloading: a bot's visit would never be linked.
    assert not [e["type"] for e in events_for(srv, vid, raw=True) if e["is_bot"]]
    wait_sealed(srv.landing_dir)

    proc = cli("run", timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "kv sync" in proc.stdout, proc.stdout

    # The same browser back on the home page, without the link: greeted by name, asking
    # with its own visitor id (its key `v:` was written by the run).
    asked: list[str] = []
    page.on("request", lambda r: asked.append(r.url) if "/personalize" in r.url else None)
    open_and_decide(page, f"{run_site.url}/")
    assert page.text_content("#greeting") == "Hi Ada, see who is warming up."
    assert asked and all(u.startswith(f"{srv.url}/personalize?vid={vid}") for u in asked)
    context.close()
    visitor_key = (
        sqlite3.connect(srv.data_dir / "kv.sqlite")
        .execute("select value from kv where key = ?", [f"v:{vid}"])
        .fetchone()
    )
    assert visitor_key is not None and json.loads(visitor_key[0])["first_name"] == "Ada"

    # Another browser with the same email link: the token's key (`t:`) greets it.
    context, page = fresh_page(browser)
    open_and_decide(page, f"{run_site.url}/?i={token}")
    assert page.text_content("#greeting") == "Hi Ada, see who is warming up."
    assert page.evaluate("window.__profile.first_name") == "Ada"
    context.close()
