"""One report from start to end: check where it goes, read the warehouse (and let go of
it), turn the rows into the page's data, draw the charts, render, write."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.markup import escape

from oie import warehouse
from oie.errors import UserError
from oie.report import model, queries, render
from oie.report.source import open_source

DEFAULT_LIMIT = 200
MAX_LIMIT = 10_000
COMPONENT_BARS = 25  # leads in the Hot now overview chart
DAILY_CHARTS = 8  # campaigns charted day by day (the most leads first)


@dataclass(frozen=True)
class Report:
    html: str
    csp: str
    page: model.Page

    def summary(self, path: Path | None = None) -> str:
        size = len(self.html.encode("utf-8"))
        where = f"written to {path} " if path else ""
        return (
            f"report {where}({size / 1024:,.0f} KB): top {self.page.shown} of "
            f"{self.page.hot_total} hot lead(s), {len(self.page.campaigns)} campaign(s)"
        )


def default_out(env: Mapping[str, str] | None = None) -> Path:
    return warehouse.data_dir(env) / "report.html"


def check_limit(limit: int) -> None:
    if not 1 <= limit <= MAX_LIMIT:
        raise UserError(f"--limit must be between 1 and {MAX_LIMIT}, not {limit}")


def check_out(out: Path) -> None:
    """Fail before any query when the page could not be written."""
    folder = out.parent
    if out.is_dir():
        raise UserError(f"--out {escape(str(out))} is a folder: name the HTML file")
    if not folder.is_dir():
        raise UserError(
            f"--out {escape(str(out))}: the folder {escape(str(folder))} does not exist"
        )
    probe = folder / f".{out.name}.{os.getpid()}.probe"
    try:
        probe.write_bytes(b"")
        probe.unlink()
        if out.exists() and not os.access(out, os.W_OK):
            raise PermissionError(13, "Permission denied", str(out))
    except OSError as exc:
        raise UserError(
            f"--out {escape(str(out))} is not writable: {escape(exc.strerror or str(exc))}"
        ) from None


def svgs_for(page: model.Page) -> dict[str, Any]:
    # Here, not at the top: altair and vl-convert take ≈ 0.2 s to import, which every `oie`
    # command (a scheduled `oie run` among them) would otherwise pay through oie.demo.
    from oie.report import charts

    out: dict[str, Any] = {}
    leads = page.data.get("leads") or []
    fields = page.data.get("lead_fields") or []
    if leads:
        top = [dict(zip(fields, lead, strict=True)) for lead in leads[:COMPONENT_BARS]]
        out["components"] = charts.components(top)
    if not page.notes.get("campaigns") and page.daily:
        names = [c["name"] for c in page.campaigns if c["name"] in page.daily]
        names += [n for n in page.daily if n not in names]
        out["daily"] = [charts.campaign_daily(page.daily[n], n) for n in names[:DAILY_CHARTS]]
        out["daily_more"] = max(0, len(names) - DAILY_CHARTS)
    if not page.notes.get("scores"):
        out["histogram"] = charts.histogram(page.histogram)
        if page.moves:
            out["moves"] = charts.level_moves(page.moves)
    if not page.notes.get("health"):
        if page.events_per_day:
            out["events"] = charts.events_per_day(page.events_per_day)
        if page.rejects_per_day:
            out["rejects"] = charts.rejects_per_day(page.rejects_per_day)
    return out


def build_report(
    *,
    limit: int = DEFAULT_LIMIT,
    campaign: str | None = None,
    env: Mapping[str, str] | None = None,
    data_dir: Path | None = None,
    wait_s: float = 30.0,
) -> Report:
    check_limit(limit)
    environment = dict(os.environ if env is None else env)
    source = open_source(environment, data_dir=data_dir, wait_s=wait_s)
    try:
        raw = queries.collect(source, limit=limit, campaign=campaign)
    finally:
        source.close()  # before rendering: `oie run` may need the file meanwhile
    page = model.build(raw, limit=limit, target=source.target)
    text, policy = render.html(page, svgs_for(page))
    return Report(text, policy, page)


def write_report(
    out: Path | None = None,
    *,
    limit: int = DEFAULT_LIMIT,
    campaign: str | None = None,
    env: Mapping[str, str] | None = None,
    data_dir: Path | None = None,
    wait_s: float = 30.0,
) -> tuple[Path, Report]:
    """Build the report and write it to `out` (default `$OIE_DATA_DIR/report.html`)."""
    check_limit(limit)
    if out is not None:  # the user's path: checked before any query
        check_out(out)
    report = build_report(limit=limit, campaign=campaign, env=env, data_dir=data_dir, wait_s=wait_s)
    path = out or (data_dir / "report.html" if data_dir else default_out(env))
    path.parent.mkdir(parents=True, exist_ok=True)  # the data folder (BigQuery: maybe new)
    render.write(path, report.html)
    return path, report
