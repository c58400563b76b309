"""`oie tune`: what proposed score vars would do to the current leads, without a build.

The intent score is the one model `int_lead_scores` (docs/design.md): dbt compiles it with
the proposed vars, and the compiled SELECT runs read-only over the warehouse's own
`int_lead_activity`, joined with `lead_profiles` (the scores people see now). Nothing is
written: dbt compiles against a throwaway DuckDB file in a temporary folder (the real
warehouse is never opened by dbt), and the warehouse is read through a read-only
connection. On BigQuery the same compiled SQL is sent as a query job.

Only vars the score model itself reads can be previewed: a var of an upstream model (a
score window, a page pattern) changes `int_lead_activity`, which only a build recomputes.
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from oie import dbt_vars, warehouse
from oie.errors import EXIT_FAILED, UserError
from oie_core.bigquery_client import MISSING_EXTRA
from oie_core.bigquery_client import bigquery_client as shared_bigquery_client

MODEL = "int_lead_scores"
LEVELS = ("cold", "warm", "hot", "burning")
HOT_LEVELS = ("hot", "burning")
# The scoring clock is the one the warehouse was built with (lead_profiles.scored_as_of),
# so a preview differs from today's scores only by the proposed vars.
CLOCK_VAR = "oie_as_of"
_VAR_CALL = re.compile(r"""var\(\s*['"](\w+)['"]""")

Fetch = Callable[[str], list[tuple[Any, ...]]]


@dataclass(frozen=True)
class Crossing:
    lead_id: str
    name: str
    company: str | None
    campaign_id: str | None
    score_before: int
    score_after: int
    level_before: str
    level_after: str


@dataclass
class TuneResult:
    vars: dict[str, Any]
    as_of: str | None
    matrix: dict[str, dict[str, int]]
    crossings: list[Crossing]
    crossing_total: int
    project_lines: list[str]
    queries: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {
            "vars": self.vars,
            "as_of": self.as_of,
            "matrix": self.matrix,
            "crossing_total": self.crossing_total,
            "crossing": [c.__dict__ for c in self.crossings],
            "dbt_project_lines": self.project_lines,
        }


def model_path(project_dir: Path = warehouse.PROJECT_DIR) -> Path:
    found = sorted((project_dir / "models").rglob(f"{MODEL}.sql"))
    if not found:
        raise UserError(f"the dbt project has no model {MODEL}", EXIT_FAILED)
    return found[0]


def model_vars(project_dir: Path = warehouse.PROJECT_DIR) -> set[str]:
    """The vars the score model reads (read from its SQL now, never listed here)."""
    return set(_VAR_CALL.findall(model_path(project_dir).read_text(encoding="utf-8")))


def check_vars(text: str | None) -> dict[str, Any]:
    """--vars parsed and validated (dbt_vars), and limited to what a preview can show."""
    proposed = dbt_vars.check(text)
    if not proposed:
        raise UserError('--vars needs at least one var, e.g. --vars "{oie_level_hot: 55}"')
    previewable = model_vars() - {CLOCK_VAR}
    for name in proposed:
        if name not in previewable:
            raise UserError(
                f"{name} is not read by {MODEL}: oie tune previews the score's own vars only; "
                f"try it with `oie run --vars` on a copy of the data folder"
            )
    return proposed


def compile_score_sql(
    proposed: Mapping[str, Any], *, target: str = "local", env: Mapping[str, str] | None = None
) -> str:
    """`dbt compile` of the score model with these vars; returns its SELECT.

    dbt runs on a temporary data folder: on the local target its profile opens an empty
    throwaway `warehouse.duckdb` there (so the real file is never opened for writing), and
    the relation names it renders ("warehouse"."main".…) are the same as the real file's.
    """
    base = dict(os.environ if env is None else env)
    with tempfile.TemporaryDirectory(prefix="oie-tune-") as tmp:
        folder = Path(tmp)
        run_env = {
            **base,
            "OIE_DATA_DIR": str(folder),
            "OIE_TARGET": target,
            "DBT_TARGET_PATH": str(folder / "target"),
            "DBT_LOG_PATH": str(folder / "logs"),
        }
        args = warehouse.dbt_command(
            "compile",
            select=MODEL,
            # the model is incremental: without a connection, render its whole-table branch
            vars={**proposed, "oie_offline_compile": "full"},
            extra_args=["--no-populate-cache", "--no-introspect", "--quiet"],
        )
        done = warehouse.run_dbt(args, run_env, capture=True)
        if done.returncode != 0:
            tail = (done.stdout + done.stderr).strip().splitlines()
            reason = next((line for line in reversed(tail) if line.strip()), "no output")
            raise UserError(f"dbt compile of {MODEL} failed: {reason.strip()}", EXIT_FAILED)
        compiled = sorted((folder / "target" / "compiled").rglob(f"{MODEL}.sql"))
        if not compiled:
            raise UserError(f"dbt compile wrote no SQL for {MODEL}", EXIT_FAILED)
        return compiled[0].read_text(encoding="utf-8")


_LEVEL_RANK = "case {col} when 'cold' then 0 when 'warm' then 1 when 'hot' then 2 else 3 end"


def queries(score_sql: str, lead_profiles: str, limit: int) -> tuple[str, str]:
    """The transition-matrix query and the crossing-leads query over the proposed scores."""
    base = f"""with proposed as (
{score_sql.strip()}
),
compared as (
    select
        current_leads.lead_id,
        trim(concat(coalesce(current_leads.first_name, ''), ' ',
                    coalesce(current_leads.last_name, ''))) as lead_name,
        current_leads.company,
        current_leads.campaign_id,
        current_leads.intent_score as score_before,
        proposed.intent_score as score_after,
        current_leads.engagement_level as level_before,
        proposed.engagement_level as level_after
    from {lead_profiles} as current_leads
    inner join proposed on proposed.lead_id = current_leads.lead_id
)
"""
    matrix = (
        base
        + """select level_before, level_after, count(*) as leads
from compared
group by level_before, level_after
order by level_before, level_after"""
    )
    rank_before = _LEVEL_RANK.format(col="level_before")
    rank_after = _LEVEL_RANK.format(col="level_after")
    crossing = (
        base
        + f"""select lead_id, lead_name, company, campaign_id, score_before, score_after,
       level_before, level_after
from compared
where level_after in ('hot', 'burning') and {rank_after} > {rank_before}
order by score_after desc, score_before desc, lead_id
limit {int(limit)}"""
    )
    return matrix, crossing


def _clock_sql(lead_profiles: str) -> str:
    return f"select max(scored_as_of) from {lead_profiles}"


def _format_clock(value: Any) -> str | None:
    if value is None:
        return None
    if hasattr(value, "strftime"):
        return str(value.strftime("%Y-%m-%d %H:%M:%S.%f"))
    return str(value)


def preview(
    proposed: dict[str, Any],
    *,
    fetch: Fetch,
    lead_profiles: str,
    limit: int,
    compile_sql: Callable[[Mapping[str, Any]], str],
) -> TuneResult:
    """The whole preview over one reader (`fetch` runs a query and returns its rows)."""
    sent: list[str] = []

    def run(sql: str) -> list[tuple[Any, ...]]:
        sent.append(sql)
        return fetch(sql)

    clock_rows = run(_clock_sql(lead_profiles))
    as_of = _format_clock(clock_rows[0][0]) if clock_rows else None
    compile_vars = {**proposed, **({CLOCK_VAR: as_of} if as_of else {})}
    matrix_sql, crossing_sql = queries(compile_sql(compile_vars), lead_profiles, limit)
    matrix = {before: dict.fromkeys(LEVELS, 0) for before in LEVELS}
    for before, after, count in run(matrix_sql):
        matrix.setdefault(str(before), dict.fromkeys(LEVELS, 0))[str(after)] = int(count)
    rank = {level: index for index, level in enumerate(LEVELS)}
    total = sum(
        count
        for before, row in matrix.items()
        for after, count in row.items()
        if after in HOT_LEVELS and rank[after] > rank.get(before, -1)
    )
    crossings = [
        Crossing(
            lead_id=str(r[0]),
            name=str(r[1] or r[0]),
            company=r[2],
            campaign_id=r[3],
            score_before=int(r[4]),
            score_after=int(r[5]),
            level_before=str(r[6]),
            level_after=str(r[7]),
        )
        for r in run(crossing_sql)
    ]
    return TuneResult(
        vars=proposed,
        as_of=as_of,
        matrix=matrix,
        crossings=crossings,
        crossing_total=total,
        project_lines=dbt_vars.project_lines(proposed),
        queries=sent,
    )


def bigquery_relation(env: Mapping[str, str], name: str) -> str:
    project = env.get("OIE_BQ_PROJECT") or ""
    dataset = env.get("OIE_BQ_DATASET") or "oie"  # profiles.yml's default
    if not project:
        raise UserError("OIE_TARGET=bigquery needs OIE_BQ_PROJECT (the models' project)")
    return f"`{project}`.`{dataset}`.`{name}`"


def bigquery_fetch(client: Any) -> Fetch:
    """Runs each query as a BigQuery query job through `client` (google-cloud-bigquery)."""

    def fetch(sql: str) -> list[tuple[Any, ...]]:
        return [tuple(row.values()) for row in client.query(sql).result()]

    return fetch


def bigquery_client(env: Mapping[str, str]) -> Any:
    try:
        return shared_bigquery_client(env.get("OIE_BQ_PROJECT"), env.get("OIE_BQ_API_ENDPOINT"))
    except ImportError:
        raise UserError(MISSING_EXTRA) from None


def tune(
    vars_text: str | None,
    *,
    limit: int = 20,
    env: Mapping[str, str] | None = None,
    bigquery: Any = None,
) -> TuneResult:
    """Check the vars, then preview them on the configured target (`bigquery`: a client)."""
    proposed = check_vars(vars_text)
    environment = dict(os.environ if env is None else env)
    target = (environment.get("OIE_TARGET") or "local").strip().lower()

    def compile_sql(values: Mapping[str, Any]) -> str:
        return compile_score_sql(values, target=target, env=environment)

    if target == "bigquery":
        relation = bigquery_relation(environment, "lead_profiles")
        client = bigquery if bigquery is not None else bigquery_client(environment)
        return preview(
            proposed,
            fetch=bigquery_fetch(client),
            lead_profiles=relation,
            limit=limit,
            compile_sql=compile_sql,
        )
    if target != "local":
        raise UserError(f"OIE_TARGET={target!r}: expected local or bigquery")
    directory = warehouse.data_dir(environment)

    def fetch(sql: str) -> list[tuple[Any, ...]]:
        # A short read-only connection per query: none is held while dbt compiles, so an
        # `oie run` starting meanwhile is never blocked by this preview.
        try:
            con = warehouse.connect_readonly(directory)
        except warehouse.WarehouseError as exc:
            raise UserError(str(exc), EXIT_FAILED) from None
        with con:
            return con.execute(sql).fetchall()

    tables = {row[0] for row in fetch("select table_name from duckdb_tables()")}
    missing = {"lead_profiles", "int_lead_activity"} - tables
    if missing:
        raise UserError(
            f"the warehouse has no {', '.join(sorted(missing))} yet: run `oie run` first",
            EXIT_FAILED,
        )
    return preview(
        proposed, fetch=fetch, lead_profiles="lead_profiles", limit=limit, compile_sql=compile_sql
    )


def render_table(result: TuneResult, out: Console) -> None:
    """The matrix, the leads crossing into hot or burning, and the lines to change."""
    changes = ", ".join(f"{k}={dbt_vars.yaml_value(v)}" for k, v in result.vars.items())
    clock = f" (scored as of {result.as_of})" if result.as_of else ""
    out.print(f"Proposed: {changes}{clock}")
    matrix = Table(title="Level transitions (rows: now, columns: proposed)", title_justify="left")
    matrix.add_column("now \\ proposed")
    for level in LEVELS:
        matrix.add_column(level, justify="right")
    matrix.add_column("total", justify="right")
    for before in result.matrix:
        row = result.matrix[before]
        matrix.add_row(before, *(str(row.get(a, 0)) for a in LEVELS), str(sum(row.values())))
    out.print(matrix)
    if result.crossings:
        shown = len(result.crossings)
        more = f", showing {shown}" if shown < result.crossing_total else ""
        table = Table(
            title=f"Leads crossing into hot or burning: {result.crossing_total}{more}",
            title_justify="left",
        )
        for name in ("Lead", "Company", "Campaign", "Score", "Level"):
            table.add_column(name, justify="right" if name == "Score" else "left")
        for c in result.crossings:
            table.add_row(
                escape(c.name),
                escape(c.company or "-"),
                escape(c.campaign_id or "-"),
                f"{c.score_before} -> {c.score_after}",
                f"{c.level_before} -> {c.level_after}",
            )
        out.print(table)
    else:
        out.print("Leads crossing into hot or burning: none")
    if result.project_lines:
        out.print("To keep it, change these lines under `vars:` in dbt_project.yml:")
        for line in result.project_lines:
            out.print(line, markup=False)
    else:
        out.print("The proposed values equal dbt_project.yml's: nothing to change.")
