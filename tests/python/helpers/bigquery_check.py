"""Offline checks of the SQL dbt compiles for the BigQuery target.

dbt-bigquery compiles without a connection (`--no-populate-cache --no-introspect`, fake
oauth-secrets token: `offline_compile`, dbt inside the test worker); this module then
parses each statement as BigQuery SQL (sqlglot) and looks for the traps that pass a parser
but fail on real BigQuery: DATETIME values where the models use TIMESTAMPs (dbt.dateadd
yields DATETIME there), and DuckDB-only functions or syntax leaking through a missing
adapter.dispatch.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlglot
from sqlglot import exp

from oie import warehouse
from tests.python.helpers import dbt_in_worker
from tests.python.helpers.bqemulator import OFFLINE_BIGQUERY_ENV


def offline_compile(
    data_dir: Path,
    target: Path,
    *extra_args: str,
    mode: str = "full",
    more_vars: Mapping[str, Any] | None = None,
) -> str:
    """`dbt compile` for the bigquery target, without a connection, into `target`; what dbt
    printed. `mode` is the branch compiled: `full` (first build) or `incremental`."""
    args = warehouse.dbt_command(
        "compile",
        vars={"oie_offline_compile": mode, **(more_vars or {})},
        extra_args=["--no-populate-cache", "--no-introspect", *extra_args],
    )
    env = {
        **OFFLINE_BIGQUERY_ENV,
        "OIE_DATA_DIR": str(data_dir),
        "DBT_TARGET_PATH": str(target),
        "DBT_LOG_PATH": str(data_dir / "logs"),
    }
    done = dbt_in_worker.run_printing(args, env)
    assert done.returncode == 0, done.stdout[-3000:]
    return done.stdout


# Functions that exist in DuckDB but not BigQuery (or mean something else there).
DUCKDB_ONLY_FUNCTIONS = {
    "JSON_EXTRACT_STRING",
    "EPOCH_MS",
    "ARG_MIN",
    "ARG_MAX",
    "BOOL_OR",
    "BOOL_AND",
    "LIST",
    "LIST_SORT",
    "LIST_DISTINCT",
    "LIST_SLICE",
    "STRPTIME",
    "STRFTIME",
    "DATE_DIFF",
    "DATEDIFF",
    "EPOCH",
    "TO_MINUTES",
    "REGEXP_MATCHES",
    "JSON_OBJECT",
}
# Functions that produce DATETIME on BigQuery: comparing them with TIMESTAMP columns fails.
DATETIME_FUNCTIONS = {
    "DATETIME_ADD",
    "DATETIME_SUB",
    "DATETIME",
    "CURRENT_DATETIME",
    "DATETIME_TRUNC",
    "DATETIME_DIFF",
}


@dataclass(frozen=True)
class Problem:
    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


def _function_name(node: exp.Expression) -> str:
    if isinstance(node, exp.Anonymous):
        return str(node.name).upper()
    return node.sql_name().upper() if hasattr(node, "sql_name") else type(node).__name__.upper()


# DuckDB spellings that sqlglot would quietly map onto a BigQuery equivalent.
DUCKDB_ONLY_SYNTAX = {
    "::": re.compile(r"::"),
    "TRY_CAST (BigQuery: SAFE_CAST)": re.compile(r"\btry_cast\s*\(", re.IGNORECASE),
    "VARCHAR type (BigQuery: STRING)": re.compile(r"\bvarchar\b", re.IGNORECASE),
    "INTERVAL arithmetic on timestamps (BigQuery: TIMESTAMP_ADD)": re.compile(
        r"[+-]\s*(cast\([^)]*\)\s*\*\s*)?interval\b", re.IGNORECASE
    ),
}


def _without_strings_and_comments(sql: str) -> str:
    sql = re.sub(r"--[^\n]*", "", sql)
    return re.sub(r"'(?:[^'\\]|\\.)*'", "''", sql)


def check_statement(sql: str, path: str = "<sql>") -> list[Problem]:
    problems: list[Problem] = []
    code = _without_strings_and_comments(sql)
    for what, pattern in DUCKDB_ONLY_SYNTAX.items():
        if pattern.search(code):
            problems.append(Problem(path, f"DuckDB-only syntax: {what}"))
    try:
        trees = sqlglot.parse(sql, read="bigquery", error_level=sqlglot.ErrorLevel.RAISE)
    except sqlglot.errors.ParseError as exc:
        return [Problem(path, f"not parseable as BigQuery SQL: {str(exc).splitlines()[0]}")]
    for tree in trees:
        if tree is None:
            continue
        for node in tree.walk():
            if isinstance(node, exp.Func):
                name = _function_name(node)
                if name in DUCKDB_ONLY_FUNCTIONS:
                    problems.append(Problem(path, f"DuckDB-only function {name}()"))
                if name in DATETIME_FUNCTIONS:
                    problems.append(Problem(path, f"{name}() yields DATETIME, not TIMESTAMP"))
            if isinstance(node, exp.Cast) and node.to.this == exp.DataType.Type.DATETIME:
                problems.append(Problem(path, "CAST(... AS DATETIME): the models use TIMESTAMP"))
    return problems


def check_compiled_tree(compiled_root: Path) -> tuple[int, list[Problem]]:
    """Checks every compiled .sql file; returns (files checked, problems)."""
    # dbt may also leave a folder named `from remote system.sql` (its introspective
    # queries): only files are statements.
    files = sorted(p for p in compiled_root.rglob("*.sql") if p.is_file())
    problems: list[Problem] = []
    for file in files:
        problems += check_statement(file.read_text(), str(file.relative_to(compiled_root)))
    return len(files), problems
