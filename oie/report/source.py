"""Where the report's rows come from: the DuckDB warehouse (read-only, waiting while a build
holds it) or the BigQuery dataset of `OIE_TARGET=bigquery`.

A source is opened, queried and closed before anything is rendered, so a report never
holds the DuckDB file longer than its queries take (`oie run` needs it to write).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, Protocol

from rich.markup import escape

from oie import warehouse
from oie.errors import EXIT_BAD_INPUT, EXIT_FAILED, UserError
from oie_core.bigquery_client import MISSING_EXTRA, bigquery_client

Row = tuple[Any, ...]


class Source(Protocol):
    target: str

    def relations(self) -> set[str]:
        """Names of the tables and views the warehouse holds."""
        ...

    def table(self, name: str) -> str:
        """`name` as the engine must write it in a FROM clause."""
        ...

    def rows(self, sql: str) -> list[Row]: ...

    def close(self) -> None: ...


def plain(value: Any) -> Any:
    """One engine-independent Python value: UTC timestamps as ISO strings (`...Z`), days as
    `YYYY-MM-DD`, decimals as floats."""
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            value = value.astimezone(UTC).replace(tzinfo=None)
        return value.strftime("%Y-%m-%dT%H:%M:%SZ")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    return value


@dataclass
class DuckDBSource:
    con: Any
    target: str = "local"

    def relations(self) -> set[str]:
        found = self.con.execute(
            "select table_name from information_schema.tables where table_schema = current_schema()"
        ).fetchall()
        return {str(r[0]) for r in found}

    def table(self, name: str) -> str:
        return f'"{name}"'

    def rows(self, sql: str) -> list[Row]:
        return [tuple(plain(v) for v in r) for r in self.con.execute(sql).fetchall()]

    def close(self) -> None:
        self.con.close()


@dataclass
class BigQuerySource:
    client: Any
    project: str
    dataset: str
    target: str = "bigquery"

    def relations(self) -> set[str]:
        try:
            return {t.table_id for t in self.client.list_tables(f"{self.project}.{self.dataset}")}
        except Exception as exc:
            if type(exc).__name__ == "NotFound":
                raise UserError(
                    f"no BigQuery dataset {self.project}.{self.dataset}: run `oie run` first",
                    EXIT_FAILED,
                ) from None
            raise

    def table(self, name: str) -> str:
        return f"`{self.project}`.`{self.dataset}`.`{name}`"

    def rows(self, sql: str) -> list[Row]:
        return [tuple(plain(v) for v in r.values()) for r in self.client.query(sql).result()]

    def close(self) -> None:
        self.client.close()


def no_warehouse(path: Path) -> UserError:
    return UserError(
        f"no warehouse at {escape(str(path))}: run `oie run` or `oie demo` first", EXIT_FAILED
    )


def open_duckdb(directory: Path, wait_s: float) -> DuckDBSource:
    path = directory / "warehouse.duckdb"
    if not path.is_file():
        raise no_warehouse(path)
    try:
        con = warehouse.connect_readonly(directory, wait_s=wait_s)
    except warehouse.WarehouseError as exc:
        raise UserError(escape(str(exc)), EXIT_FAILED) from None
    return DuckDBSource(con)


_NAME = re.compile(r"^[A-Za-z0-9_.:-]+$")


def open_bigquery(env: Mapping[str, str]) -> BigQuerySource:
    """A client for `$OIE_BQ_PROJECT.$OIE_BQ_DATASET` (an emulator when
    OIE_BQ_API_ENDPOINT is set, with anonymous credentials, as the ingest sink does)."""
    project = (env.get("OIE_BQ_PROJECT") or "").strip()
    dataset = (env.get("OIE_BQ_DATASET") or "oie").strip()  # profiles.yml's default
    if not project:
        raise UserError("OIE_TARGET=bigquery needs OIE_BQ_PROJECT (the models' project)")
    if not _NAME.match(project) or not _NAME.match(dataset):
        raise UserError("OIE_BQ_PROJECT and OIE_BQ_DATASET must be plain BigQuery names")
    endpoint = env.get("OIE_BQ_API_ENDPOINT")
    keyfile = None if endpoint else env.get("OIE_BQ_KEYFILE")
    if keyfile and not Path(keyfile).is_file():
        raise UserError(f"OIE_BQ_KEYFILE {escape(keyfile)} is not a file")
    try:
        from google.auth.exceptions import DefaultCredentialsError

        client = bigquery_client(project, endpoint, keyfile)
    except ImportError:
        raise UserError(MISSING_EXTRA) from None
    except DefaultCredentialsError:
        raise UserError(
            "OIE_TARGET=bigquery found no Google credentials: set OIE_BQ_KEYFILE (a "
            "service-account key file) or GOOGLE_APPLICATION_CREDENTIALS, or run "
            "`gcloud auth application-default login`",
            EXIT_BAD_INPUT,
        ) from None
    return BigQuerySource(client, project, dataset)


def open_source(
    env: Mapping[str, str] | None = None, *, data_dir: Path | None = None, wait_s: float = 30.0
) -> Source:
    """The configured warehouse, ready for read-only queries."""
    environment = dict(os.environ if env is None else env)
    target = (environment.get("OIE_TARGET") or "local").strip().lower()
    if target == "bigquery":
        return open_bigquery(environment)
    if target != "local":
        raise UserError(f"OIE_TARGET={escape(target)!r}: expected local or bigquery")
    return open_duckdb(data_dir or warehouse.data_dir(environment), wait_s)
