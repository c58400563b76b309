"""The report of a demo warehouse in Debian Chromium: every section, the Hot now table
against `high_intent_leads`, a lead's timeline against `sessions`, filters and sorting, no
console error and no request but the file itself. Saves a screenshot per section and one of
the whole page under test-artifacts/report/ (or $OIE_TEST_ARTIFACTS); with
OIE_UPDATE_SCREENSHOT=1 the whole page also replaces the README's docs/report.png."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import duckdb
import pytest

from tests.python.cli.conftest import Cli

from .conftest import Warehouses, Watched, query

REPO = Path(__file__).resolve().parents[3]
SECTIONS = ("hot", "timeline", "campaigns", "scores", "health")
DOCS_SHOT = REPO / "docs" / "report.png"


@pytest.fixture(scope="module")
def artifacts() -> Path:
    folder = Path(os.environ.get("OIE_TEST_ARTIFACTS", REPO / "test-artifacts")) / "report"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture(scope="module")
def demo_report(warehouses: Warehouses) -> Path:
    """`oie report` on the demo warehouse (the demo's own report was checked in conftest)."""
    proc = warehouses.demo("report", check=True)
    path = warehouses.demo.data_dir / "report.html"
    assert f"report written to {path}" in proc.stdout
    return path


def cells(page: Any, column: int) -> list[str]:
    return page.locator(f"#hot-table tbody tr td:nth-child({column})").all_inner_texts()


def test_every_section_renders_first_row_is_rank_1_and_nothing_loads(
    browser: Any,
    page: Any,
    watched: Watched,
    demo_report: Path,
    warehouses: Warehouses,
    artifacts: Path,
) -> None:
    page.goto(demo_report.as_uri())
    for section in SECTIONS:
        assert page.locator(f"#{section} h2").is_visible(), section
    assert page.locator(".note").all_inner_texts() == [
        "Click a lead in Hot now to see its sessions, email clicks and identity evidence."
    ]
    first, total = query(
        warehouses.demo,
        "select first_name || ' ' || last_name, (select count(*) from high_intent_leads) "
        "from high_intent_leads where priority_rank = 1",
    )[0]
    assert cells(page, 1)[0] == "1" and cells(page, 2)[0] == first
    assert page.locator("#hot-table tbody tr").count() == min(total, 200)
    assert page.locator("#campaign-table tbody tr").count() == 3
    assert page.locator("#campaigns figure svg").count() == 3  # one daily chart each
    assert page.locator("#scores figure svg").count() == 2  # histogram, level moves
    facts = page.locator("#facts").inner_text()
    assert "Last KV push (local)" in facts and "not recorded yet" in facts  # alerts
    page.locator("#hot-table tbody tr").first.click()
    for section in SECTIONS:
        shot = artifacts / f"report-{section}.png"
        page.locator(f"#{section}").screenshot(path=str(shot))
        assert shot.stat().st_size > 0, section
    assert watched.requests == [demo_report.as_uri()]
    whole = save_whole_page(browser, demo_report, artifacts / "report.png")
    if os.environ.get("OIE_UPDATE_SCREENSHOT") == "1":
        DOCS_SHOT.write_bytes(whole.read_bytes())


def test_the_readme_shows_the_committed_screenshot() -> None:
    readme = (REPO / "README.md").read_text()
    assert "![The intent report](docs/report.png)" in readme
    assert DOCS_SHOT.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert DOCS_SHOT.stat().st_size < 300_000


def save_whole_page(browser: Any, report: Path, path: Path) -> Path:
    """The README's picture: the whole page, a lead's timeline open, at 0.6 pixel per CSS
    pixel (a PNG under 300 KB)."""
    context = browser.new_context(viewport={"width": 1100, "height": 800}, device_scale_factor=0.6)
    try:
        page = context.new_page()
        page.goto(report.as_uri())
        page.locator("#hot-table tbody tr").first.click()
        path.write_bytes(page.screenshot(full_page=True))
    finally:
        context.close()
    assert path.stat().st_size < 300_000, path.stat().st_size
    return path


def test_clicking_a_lead_opens_its_timeline(
    page: Any, watched: Watched, demo_report: Path, warehouses: Warehouses
) -> None:
    page.goto(demo_report.as_uri())
    assert page.locator("#timeline-body").is_hidden()
    row = 3
    page.locator("#hot-table tbody tr").nth(row - 1).click()
    assert page.locator("#timeline-body").is_visible()
    name, lead_id = query(
        warehouses.demo,
        "select first_name || ' ' || last_name, lead_id from high_intent_leads "
        "where priority_rank = ?",
        row,
    )[0]
    assert page.locator("#timeline-title").inner_text().startswith(f"#{row} {name}")
    sessions = query(
        warehouses.demo,
        "select strftime(started_at, '%Y-%m-%d %H:%M'), entry_page, pageviews from sessions "
        "where lead_id = ? order by started_at desc limit 20",
        lead_id,
    )
    rows = page.locator("#sessions-table tbody tr")
    assert rows.count() == len(sessions) > 0
    for i, (started, entry, views) in enumerate(sessions):
        shown = rows.nth(i).locator("td").all_inner_texts()
        assert shown[0] == started and shown[3] == (entry or "-") and shown[5] == str(views)
    clicks = query(warehouses.demo, "select count(*) from email_clicks where lead_id = ?", lead_id)
    assert page.locator("#clicks-table tbody tr").count() == max(1, min(clicks[0][0], 20))
    evidence = page.locator("#identity-table tbody").inner_text()
    assert "lead_token" in evidence and "lead_email" in evidence
    assert page.locator("#hot-table tbody tr.selected td").first.inner_text() == str(row)


def test_level_and_campaign_filters_and_sorting(
    page: Any, watched: Watched, demo_report: Path, warehouses: Warehouses
) -> None:
    page.goto(demo_report.as_uri())
    counts = dict(
        query(
            warehouses.demo, "select engagement_level, count(*) from high_intent_leads group by 1"
        )
    )
    page.select_option("#level-filter", "hot")
    assert set(cells(page, 7)) == {"hot"} and len(cells(page, 7)) == counts["hot"]
    page.select_option("#level-filter", "burning")
    assert set(cells(page, 7)) == {"burning"} and len(cells(page, 7)) == counts["burning"]
    page.select_option("#level-filter", "")
    per_campaign = dict(
        query(warehouses.demo, "select campaign_name, count(*) from high_intent_leads group by 1")
    )
    for name, n in per_campaign.items():
        page.select_option("#campaign-filter", label=name)
        assert set(cells(page, 5)) == {name} and len(cells(page, 5)) == n
    page.select_option("#campaign-filter", "")
    assert page.locator("#hot-count").inner_text().startswith(f"{sum(counts.values())} of")

    def sorted_by(header: str, column: int) -> list[str]:
        page.locator(f"#hot-table th[data-key={header}]").click()
        return cells(page, column)

    ranks = [int(v) for v in cells(page, 1)]
    assert ranks == sorted(ranks)
    scores = [int(v) for v in sorted_by("score", 6)]
    assert scores == sorted(scores, reverse=True)
    assert [int(v) for v in sorted_by("score", 6)] == sorted(scores)
    names = sorted_by("name", 2)
    assert names[0].lower() <= names[len(names) // 2].lower() <= names[-1].lower()
    high = [float(v) for v in sorted_by("high_intent", 11)]
    assert high == sorted(high, reverse=True)


def test_no_identifier_reaches_the_page(demo_report: Path, warehouses: Warehouses) -> None:
    html = demo_report.read_text()
    for column, table in (
        ("email", "lead_profiles"),
        ("email_sha256", "lead_profiles"),
        ("lead_id", "lead_profiles"),
        ("token", "lead_profiles"),
        ("identifier", "identity_map"),
        ("ip", "email_clicks"),
    ):
        values = [
            v
            for (v,) in query(
                warehouses.demo, f"select distinct {column} from {table} where {column} is not null"
            )
        ]
        assert values, (column, table)
        leaked = [v for v in values if len(str(v)) >= 8 and str(v) in html]
        assert leaked == [], (column, leaked[:3])
    assert "<script src" not in html and "http://" not in html.split("<svg")[0].lower()


def test_a_suppressed_lead_is_marked_in_hot_now(
    page: Any, watched: Watched, warehouses: Warehouses, tmp_path: Path
) -> None:
    """A lead that bounced or unsubscribed stays on the list with a `suppressed` tag, and no
    other lead gets one."""
    data = tmp_path / "data"
    data.mkdir()
    shutil.copy(warehouses.demo.data_dir / "warehouse.duckdb", data / "warehouse.duckdb")
    con = duckdb.connect(str(data / "warehouse.duckdb"))
    try:
        con.execute(
            "update lead_profiles set is_suppressed = true where lead_id = "
            "(select lead_id from high_intent_leads where priority_rank = 2)"
        )
    finally:
        con.close()
    cli = Cli({**warehouses.demo.env, "OIE_DATA_DIR": str(data)}, warehouses.demo.cwd)
    cli("report", check=True)
    page.goto((data / "report.html").as_uri())
    rows = page.locator("#hot-table tbody tr")
    assert rows.count() > 2
    tags = [rows.nth(i).locator(".suppressed").count() for i in range(rows.count())]
    assert tags[1] == 1 and sum(tags) == 1
    assert "do not contact" in (
        rows.nth(1).locator("td .suppressed").locator("..").get_attribute("title") or ""
    )
