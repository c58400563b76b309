"""Fixtures of the report tests: real warehouses built by dbt (once per session, the three
builds side by side), the real `oie` CLI, and Debian Chromium through pytest-playwright
with the pixel tests' launch arguments (never `playwright install`). Once per session is once
per suite: the folder is one xdist unit (tests/python/conftest.py), so one worker runs all
its modules.

- `demo`: `oie demo --sample` (three campaigns, ≈ 7,600 events) then `oie sync`, so every
  section has something to show, the last KV push included;
- `empty`: a campaign imported and `oie run` with no visit at all;
- `hostile`: one lead, whose name, company and campaign are made to break a page, with a
  visit that makes it burning.
"""

from __future__ import annotations

import csv
import json
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pytest

from oie_core.hashing import email_hashes
from tests.python.cli.conftest import OIE, Cli, cli_env
from tests.python.helpers import chromium
from tests.python.warehouse import scenario

HOSTILE_FIRST = "<script>alert(1)</script>"
HOSTILE_LAST = 'O\'Brien "</script><img src=x onerror=alert(2)>"'
HOSTILE_COMPANY = "Acme \"Quotes\" & 'Apostrophes' 🚀🔥"
HOSTILE_CAMPAIGN = "Q1 <b>\"launch\"</b> & 'co' 🚀"
HOSTILE_EMAIL = "mallory@example.com"
EMPTY_CAMPAIGN = "Nobody came"


@dataclass(frozen=True)
class Warehouses:
    demo: Cli
    empty: Cli
    hostile: Cli


def run_cli(env: dict[str, str], cwd: Path, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [*OIE.split(), *args],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def finish(proc: subprocess.Popen[str], what: str, timeout: float = 600) -> str:
    out, _ = proc.communicate(timeout=timeout)
    assert proc.returncode == 0, f"{what} failed:\n{out[-4000:]}"
    assert "Traceback" not in out, out
    return out


def token_of(urls_csv: Path) -> str:
    with urls_csv.open(newline="") as f:
        row = next(csv.DictReader(f))
    return row["tracking_url"].split("i=", 1)[1].split("&", 1)[0]


def hostile_visit(landing: Path, token: str) -> None:
    """One visit of the hostile lead: pricing, a case study, a demo form with the lead's
    address hashed. Recent enough to be scored burning."""
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=20)
    site = "https://site.example"
    steps: list[tuple[str, str, dict[str, Any]]] = [
        ("pageview", "/pricing", {"title": "Pricing"}),
        ("scroll_depth", "/pricing", {"depth": 100}),
        ("page_exit", "/pricing", {"active_ms": 120000, "max_depth": 100}),
        ("pageview", "/case-studies/acme", {"title": "Case study"}),
        ("scroll_depth", "/case-studies/acme", {"depth": 100}),
        ("page_exit", "/case-studies/acme", {"active_ms": 90000, "max_depth": 100}),
        ("pageview", "/pricing", {"title": "Pricing again"}),
        ("pageview", "/demo", {"title": "Book a demo"}),
        ("form_start", "/demo", {"form_id": "demo", "field": "email"}),
        (
            "form_submit",
            "/demo",
            {"form_id": "demo", "fields": ["email"], "hems": email_hashes(HOSTILE_EMAIL)},
        ),
        ("page_exit", "/demo", {"active_ms": 60000, "max_depth": 75}),
    ]
    records = []
    for n, (kind, path, data) in enumerate(steps):
        at = start + timedelta(seconds=40 * n)
        records.append(
            scenario.landing_event(
                f"hostile-{n:02d}",
                kind,
                at,
                at + timedelta(seconds=2),
                visitor="v-hostile",
                token=token if n == 0 else None,
                url=f"{site}{path}?i={token}" if n == 0 else f"{site}{path}",
                data=data,
            )
        )
    folder = landing / "events" / start.strftime("dt=%Y-%m-%d/hr=%H")
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / "report-test-hostile.ndjson").open("w") as f:
        for record in records:
            f.write(json.dumps(record) + "\n")


@pytest.fixture(scope="session")
def warehouses(tmp_path_factory: pytest.TempPathFactory) -> Warehouses:
    root = tmp_path_factory.mktemp("report")
    work = root / "work"
    work.mkdir()
    clis = {
        name: Cli(cli_env(root / name, OIE_KV="local"), work)
        for name in ("demo", "empty", "hostile")
    }
    for cli in clis.values():
        for name in [n for n in cli.env if n.startswith(("CLOUDFLARE_", "OIE_ALERT_"))]:
            del cli.env[name]
    demo_dir = root / "demo-parent" / "demo"
    clis["demo"] = Cli({**clis["demo"].env, "OIE_DATA_DIR": str(demo_dir)}, work)
    demo = run_cli(
        {**clis["demo"].env, "OIE_DATA_DIR": str(root / "demo-parent")},
        work,
        "demo",
        "--sample",
        "--data-dir",
        str(demo_dir),
    )

    (work / "nobody.csv").write_text("Email,First Name\nnobody@example.com,Nobody\n")
    (work / "hostile.csv").write_text(
        "Email,First Name,Last Name,Company,Title\n"
        + ",".join(
            '"' + v.replace('"', '""') + '"'
            for v in (HOSTILE_EMAIL, HOSTILE_FIRST, HOSTILE_LAST, HOSTILE_COMPANY, "CTO")
        )
        + "\n"
    )
    for name, source, campaign in (
        ("empty", "nobody.csv", EMPTY_CAMPAIGN),
        ("hostile", "hostile.csv", HOSTILE_CAMPAIGN),
    ):
        clis[name](
            "campaign",
            "create",
            source,
            "--campaign",
            campaign,
            "--landing-url",
            "https://site.example/pricing",
            "--out",
            f"{name}-urls.csv",
            check=True,
        )
    hostile_visit(clis["hostile"].data_dir / "landing", token_of(work / "hostile-urls.csv"))
    runs = [run_cli(clis[name].env, work, "run") for name in ("empty", "hostile")]
    for name, proc in zip(("empty", "hostile"), runs, strict=True):
        finish(proc, f"oie run ({name})")
    out = finish(demo, "oie demo --sample")
    assert str(demo_dir / "report.html") in out.replace("\n", ""), out
    clis["demo"]("sync", check=True)
    return Warehouses(**clis)


def copy_of(cli: Cli, target: Path) -> Cli:
    """The same warehouse in another data folder (for tests that lock or change it)."""
    target.mkdir(parents=True, exist_ok=True)
    shutil.copy2(cli.data_dir / "warehouse.duckdb", target / "warehouse.duckdb")
    return Cli({**cli.env, "OIE_DATA_DIR": str(target)}, cli.cwd)


def query(cli: Cli, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    con = duckdb.connect(str(cli.data_dir / "warehouse.duckdb"), read_only=True)
    try:
        return con.execute(sql, list(params)).fetchall()
    finally:
        con.close()


@pytest.fixture
def cli(tmp_path: Path) -> Cli:
    """A fresh data folder (nothing in it) and the real `oie`."""
    work = tmp_path / "work"
    work.mkdir()
    return Cli(cli_env(tmp_path / "data"), work)


@pytest.fixture(scope="session")
def browser_type_launch_args() -> dict[str, Any]:
    return chromium.launch_args()


@pytest.fixture(scope="session")
def browser_context_args() -> dict[str, Any]:
    return {"viewport": {"width": 1280, "height": 900}}


@dataclass
class Watched:
    """What a page did: console errors, uncaught errors, dialogs, every request."""

    errors: list[str]
    requests: list[str]
    dialogs: list[str]


@pytest.fixture
def watched(page: Any) -> Iterator[Watched]:
    seen = Watched([], [], [])
    page.on("console", lambda m: seen.errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda exc: seen.errors.append(str(exc)))
    page.on("request", lambda r: seen.requests.append(r.url))

    def dialog(d: Any) -> None:
        seen.dialogs.append(d.message)
        d.dismiss()

    page.on("dialog", dialog)
    yield seen
    assert seen.errors == [], seen.errors
    assert seen.dialogs == [], seen.dialogs
