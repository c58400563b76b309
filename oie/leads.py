"""The SDR's view of the warehouse: hottest leads, why they are hot, what they read.

Used by `oie leads` and by `oie demo` to print its results. The same rows go out as a
table, CSV or JSON (with the lead's email and since when it is at its level, from the
`lead_level_changes` mart when the warehouse has it).
"""

from __future__ import annotations

import csv
import io
import json
import os
import sys
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from oie import warehouse
from oie.errors import EXIT_FAILED, UserError

# Piped output (CI logs, `| less`) gets a fixed, roomy width instead of rich's 80 columns.
console = Console(highlight=False, width=None if sys.stdout.isatty() else 160)
LEVELS = ("cold", "warm", "hot", "burning")
LEVEL_STYLE = {"burning": "bold red", "hot": "red", "warm": "yellow", "cold": "blue"}
FORMATS = ("table", "csv", "json")
COMPONENTS = ("recency", "frequency", "engagement", "high_intent", "conversions")
LEVEL_CHANGES = "lead_level_changes"
NOT_RECORDED = "level since: not recorded yet"
# The columns of `--format csv` (and the keys of `--format json`), in this order.
FIELDS = (
    "lead_id",
    "name",
    "email",
    "company",
    "campaign_id",
    "intent_score",
    "engagement_level",
    "level_since",
    *(f"score_{c}" for c in COMPONENTS),
    "last_visit_at",
    "pages_seen",
)


@dataclass(frozen=True)
class Lead:
    lead_id: str
    name: str
    email: str | None
    company: str | None
    campaign_id: str | None
    intent_score: int
    engagement_level: str
    level_since: datetime | None
    components: dict[str, float]
    last_visit_at: datetime | None
    pages_seen: str | None

    def record(self) -> dict[str, Any]:
        """One flat row, timestamps as ISO 8601 (UTC), in FIELDS order."""
        out: dict[str, Any] = {
            "lead_id": self.lead_id,
            "name": self.name,
            "email": self.email,
            "company": self.company,
            "campaign_id": self.campaign_id,
            "intent_score": self.intent_score,
            "engagement_level": self.engagement_level,
            "level_since": _iso(self.level_since),
            **{f"score_{c}": self.components[c] for c in COMPONENTS},
            "last_visit_at": _iso(self.last_visit_at),
            "pages_seen": self.pages_seen,
        }
        return {name: out[name] for name in FIELDS}


def _iso(moment: datetime | None) -> str | None:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ") if moment else None


def _pages(pages_seen: str | None, keep: int = 5) -> str:
    pages = [p for p in (pages_seen or "").split(", ") if p]
    if len(pages) <= keep:
        return ", ".join(pages) or "-"
    return ", ".join(pages[:keep]) + f" +{len(pages) - keep}"


def fetch_leads(
    data_dir: Path | None,
    *,
    level: str | None = None,
    campaign: str | None = None,
    limit: int = 20,
) -> tuple[list[Lead], bool]:
    """Leads by intent score, hottest first; and whether the level-change mart exists."""
    where, params = ["1 = 1"], []
    if level:
        where.append("p.engagement_level = ?")
        params.append(level)
    if campaign:
        where.append("(p.campaign_id = ? or p.campaign_name = ?)")
        params += [campaign, campaign]
    try:
        con = warehouse.connect_readonly(data_dir)
    except warehouse.WarehouseError as exc:
        raise UserError(str(exc), exit_code=EXIT_FAILED) from None
    with con:
        relations = {
            r[0]
            for r in con.execute(
                "select table_name from duckdb_tables() union all "
                "select view_name from duckdb_views() where not internal"
            ).fetchall()
        }
        if "lead_profiles" not in relations:
            raise UserError("the warehouse has no lead_profiles yet: run `oie run`", EXIT_FAILED)
        recorded = LEVEL_CHANGES in relations
        # The newest change into the level the lead is at now: since when it is that hot.
        since = (
            f"""left join (
                select lead_id, to_level, max(changed_at) as level_since
                from {LEVEL_CHANGES} group by lead_id, to_level
            ) as c on c.lead_id = p.lead_id and c.to_level = p.engagement_level"""
            if recorded
            else ""
        )
        since_column = "c.level_since" if recorded else "cast(null as timestamp)"
        sql = f"""
            select p.lead_id,
                   trim(coalesce(p.first_name, '') || ' ' || coalesce(p.last_name, '')),
                   p.email, p.company, p.campaign_id, p.intent_score, p.engagement_level,
                   {since_column}, p.score_recency, p.score_frequency, p.score_engagement,
                   p.score_high_intent, p.score_conversions, p.last_visit_at, p.pages_seen
            from lead_profiles as p
            {since}
            where {" and ".join(where)}
            order by p.intent_score desc, p.last_activity_at desc nulls last, p.lead_id
            limit {int(limit)}
        """
        rows = con.execute(sql, params).fetchall()
    leads = [
        Lead(
            lead_id=r[0],
            name=r[1] or r[0],
            email=r[2],
            company=r[3],
            campaign_id=r[4],
            intent_score=int(r[5]),
            engagement_level=r[6],
            level_since=r[7],
            components=dict(zip(COMPONENTS, (round(float(v), 4) for v in r[8:13]), strict=True)),
            last_visit_at=r[13],
            pages_seen=r[14],
        )
        for r in rows
    ]
    return leads, recorded


def leads_table(rows: list[Lead], title: str) -> Table:
    table = Table(title=title, title_justify="left", expand=False)
    table.add_column("Lead")
    table.add_column("Company")
    table.add_column("Campaign")
    table.add_column("Score", justify="right")
    table.add_column("Level")
    table.add_column("Level since", no_wrap=True)
    table.add_column("R/F/E/H/C", justify="right", no_wrap=True)
    table.add_column("Last visit", no_wrap=True)
    table.add_column("Pages seen", overflow="fold", max_width=60)
    for row in rows:
        parts = (row.components[c] for c in COMPONENTS)
        table.add_row(
            escape(row.name),
            escape(row.company or "-"),
            escape(row.campaign_id or "-"),
            str(row.intent_score),
            f"[{LEVEL_STYLE[row.engagement_level]}]{row.engagement_level}[/]",
            row.level_since.strftime("%Y-%m-%d %H:%M") if row.level_since else "-",
            "/".join(f"{v:g}" for v in parts),
            row.last_visit_at.strftime("%Y-%m-%d %H:%M") if row.last_visit_at else "-",
            escape(_pages(row.pages_seen)),
        )
    return table


def to_csv(rows: list[Lead]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=FIELDS, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: "" if v is None else v for k, v in row.record().items()})
    return buffer.getvalue()


def to_json(rows: list[Lead]) -> str:
    return json.dumps([row.record() for row in rows], indent=2, ensure_ascii=False) + "\n"


def output_format(fmt: str | None, out: Path | None) -> str:
    """The format to write: --format, else the --out file's suffix, else a table."""
    if fmt is not None and fmt not in FORMATS:
        raise UserError(f"--format must be one of {', '.join(FORMATS)}, not {fmt!r}")
    if out is None:
        return fmt or "table"
    chosen = fmt or {".csv": "csv", ".json": "json"}.get(out.suffix.lower())
    if chosen is None:
        raise UserError(f"--out {out}: say --format csv or --format json (or name it .csv/.json)")
    if chosen == "table":
        raise UserError("--out writes csv or json: use --format csv or --format json")
    return chosen


def _write_atomically(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def show_leads(
    data_dir: Path | None,
    level: str | None,
    campaign: str | None,
    limit: int,
    *,
    fmt: str | None = None,
    out: Path | None = None,
) -> list[Lead]:
    """Print (or write to `out`) the hottest leads as a table, CSV or JSON."""
    chosen = output_format(fmt, out)
    rows, recorded = fetch_leads(data_dir, level=level, campaign=campaign, limit=limit)
    if chosen != "table":
        text = to_csv(rows) if chosen == "csv" else to_json(rows)
        if out is None:
            sys.stdout.write(text)
        else:
            _write_atomically(out, text)
            console.print(f"{len(rows)} lead(s) written to {out} ({chosen})")
        return rows
    title = (
        "Hottest leads" + (f" ({level})" if level else "") + (f" in {campaign}" if campaign else "")
    )
    if rows:
        console.print(leads_table(rows, title))
        if not recorded:
            console.print(NOT_RECORDED)
    else:
        console.print(f"{title}: none yet.")
    return rows
