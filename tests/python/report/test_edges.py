"""The report at the edges: a warehouse with a campaign and no visit at all, one lead
whose name, company and campaign try to break the page, and the JSON block's escaping."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from oie.report.render import json_for_script

from .conftest import (
    EMPTY_CAMPAIGN,
    HOSTILE_CAMPAIGN,
    HOSTILE_COMPANY,
    HOSTILE_FIRST,
    HOSTILE_LAST,
    Warehouses,
    Watched,
)

SECTIONS = ("hot", "timeline", "campaigns", "scores", "health")


def test_no_visits_yet_in_every_section(
    page: Any, watched: Watched, warehouses: Warehouses, tmp_path: Path
) -> None:
    out = tmp_path / "empty.html"
    proc = warehouses.empty("report", "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    assert "top 0 of 0 hot lead(s), 1 campaign(s)" in proc.stdout
    page.goto(out.as_uri())
    for section in SECTIONS:
        assert page.locator(f"#{section} .note").first.inner_text() == "no visits yet", section
    assert EMPTY_CAMPAIGN in page.locator("#campaign-table").inner_text()
    facts = page.locator("#facts").inner_text()
    assert "0 events in total" in facts and "Last KV push (local)" in facts
    assert watched.requests == [out.as_uri()]


def test_one_hostile_lead_is_shown_as_text_and_nothing_runs(
    page: Any, watched: Watched, warehouses: Warehouses, tmp_path: Path
) -> None:
    out = tmp_path / "hostile.html"
    proc = warehouses.hostile("report", "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    assert "top 1 of 1 hot lead(s)" in proc.stdout
    html = out.read_text()
    assert html.count("<script") == 2  # the JSON block and the page's own script
    assert "<img" not in html and "<b>" not in html
    page.goto(out.as_uri())
    name = f"{HOSTILE_FIRST} {HOSTILE_LAST}"
    assert page.locator("#hot-table tbody td.name").all_inner_texts() == [name]
    assert HOSTILE_COMPANY in page.locator("#hot-table tbody").inner_text()
    assert HOSTILE_CAMPAIGN in page.locator("#hot-table tbody").inner_text()
    assert HOSTILE_CAMPAIGN in page.locator("#campaign-table").inner_text()
    page.locator("#hot-table tbody tr").first.click()
    assert page.locator("#timeline-title").inner_text() == f"#1 {name} ({HOSTILE_COMPANY})"
    assert page.locator("#sessions-table tbody tr").count() == 1
    assert "/pricing" in page.locator("#sessions-table").inner_text()
    # The campaign's name is in the charts too, as SVG text.
    assert HOSTILE_CAMPAIGN in page.locator("#campaigns figure").first.inner_text()
    assert page.evaluate("document.querySelectorAll('img, b, script:not([type])').length") == 1
    assert watched.requests == [out.as_uri()]


def test_json_block_cannot_be_closed_by_the_data() -> None:
    data = {"name": "</script><script>alert(1)</script>", "x": "a & b <!-- \u2028"}
    text = json_for_script(data)
    assert "<" not in text and ">" not in text and "&" not in text and "\u2028" not in text
    assert json.loads(text) == data
