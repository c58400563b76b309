"""Erasure on BigQuery (OIE_SINK or OIE_TARGET = bigquery): who the person is, from the raw
tables and identity_map, and a DML DELETE of their rows from every table of the datasets.

Every base table is searched, as on the local target (oie/forget/databases.py), not a list
of known ones: a row is the person's when its text (strings, JSON, records and arrays as
JSON text) contains one of their needles. Views hold no rows. `raw_tombstones` holds
keyed hashes only and is what keeps them gone: it is never searched.

BigQuery may refuse a DELETE:
- rows written in the last ~30 minutes through insertAll sit in the streaming buffer,
  which DML cannot touch ("would affect rows in the streaming buffer"): the table's erasure
  stays pending and `oie run` repeats it until it goes through (oie/forget/pending.py);
- without permission to delete (bigquery.tables.updateData): pending too, and the command
  exits 1 naming what to grant.
Meanwhile the tombstones keep the rows out of every build and of the ingest function.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from oie.forget.files import Needles
from oie_core.bigquery_client import bigquery_client
from oie_core.hashing import email_hashes, normalize_email
from oie_core.raw_schema import RAW_TOMBSTONES
from oie_core.settings import Settings
from oie_core.tombstones import TombstoneKey

STREAMING_BUFFER = "streaming_buffer"
PENDING_TABLE = "erasure_pending"
FORBIDDEN = "forbidden"
FAILED = "failed"  # any other error of BigQuery's: retried like a refusal
_TEXT_TYPES = {"STRING", "JSON"}
_COLUMNS_PER_TEXT = 12  # text columns searched in one expression (see _condition)
_NEVER_SEARCHED = {RAW_TOMBSTONES.name}


@dataclass
class TableErasure:
    table: str  # dataset.table
    rows: int
    pending: str | None = None  # STREAMING_BUFFER | FORBIDDEN | FAILED: not deleted yet
    message: str = ""


@dataclass(frozen=True)
class Dataset:
    project: str
    raw: str  # the sink's raw tables (oie_raw_dataset, else the models' dataset)
    models: str  # what dbt builds (OIE_BQ_DATASET)
    private: str  # the tombstone key's dataset (oie_private_dataset)

    @property
    def searched(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys((self.raw, self.models)))


def uses_bigquery(settings: Settings) -> bool:
    return settings.sink == "bigquery" or settings.target == "bigquery"


def dataset_of(settings: Settings, project_vars: dict[str, Any]) -> Dataset:
    if not settings.bq_project:
        raise ValueError("erasure on BigQuery needs OIE_BQ_PROJECT")
    models = settings.bq_dataset or "oie"  # profiles.yml's default
    return Dataset(
        settings.bq_project,
        str(project_vars.get("oie_raw_dataset") or models),
        models,
        str(project_vars.get("oie_private_dataset") or "oie_private"),
    )


class BigQueryErasure:
    def __init__(self, client: Any, dataset: Dataset) -> None:
        self.client, self.dataset = client, dataset

    @classmethod
    def from_settings(cls, settings: Settings, project_vars: dict[str, Any]) -> BigQueryErasure:
        dataset = dataset_of(settings, project_vars)
        return cls(bigquery_client(dataset.project, settings.bq_endpoint), dataset)

    # -- who ------------------------------------------------------------------------------
    def leads_of(self, emails: Iterable[str], tokens: Iterable[str]) -> set[tuple[str, str, str]]:
        emails, tokens = sorted(emails), sorted(tokens)
        sha = sorted({email_hashes(e)["sha256"] for e in emails})
        sql = (
            f"select distinct lower(trim(email)) as email, token, lead_id "
            f"from {self._table(self.dataset.raw, 'raw_leads')} "
            "where lower(trim(email)) in unnest(@emails) "
            "or lower(email_sha256) in unnest(@sha) or token in unnest(@tokens)"
        )
        rows = self._rows(sql, emails=emails, sha=sha, tokens=tokens)
        return {(normalize_email(r[0] or ""), r[1] or "", r[2] or "") for r in rows}

    def visitors_of(
        self, emails: Iterable[str], tokens: Iterable[str], lead_ids: Iterable[str]
    ) -> set[str]:
        sha = sorted({email_hashes(e)["sha256"] for e in emails})
        events = self._table(self.dataset.raw, "raw_events")
        rows = self._rows(
            f"select distinct visitor_id, client_visitor_id from {events} "
            "where token in unnest(@tokens) "
            "or lower(json_value(data, '$.hems.sha256')) in unnest(@sha)",
            tokens=sorted(tokens),
            sha=sha,
        )
        found = {v for r in rows for v in (r[0], r[1]) if v}
        if lead_ids:
            identity_map = self._table(self.dataset.models, "identity_map")
            stitched = self._rows(
                f"select distinct identifier from {identity_map} "
                "where identifier_type = 'visitor' and lead_id in unnest(@leads)",
                leads=sorted(lead_ids),
            )
            found |= {r[0] for r in stitched if r[0]}
        return found

    def received_since(self, dataset: str, table: str, since_iso: str) -> list[dict[str, Any]]:
        """The rows of a raw table received since then (a grace pass, oie/forget/pending.py)."""
        rows = self._rows(
            f"select * from {self._table(dataset, table)} where received_at >= timestamp(@since)",
            since=since_iso,
        )
        return [dict(row.items()) for row in rows]

    # -- what -----------------------------------------------------------------------------
    def tables(self) -> list[tuple[str, str]]:
        """(dataset, table) of every base table searched."""
        from google.api_core.exceptions import NotFound

        found = []
        for dataset in self.dataset.searched:
            try:
                listed = list(self.client.list_tables(f"{self.dataset.project}.{dataset}"))
            except NotFound:
                continue
            found += [
                (dataset, t.table_id)
                for t in listed
                if t.table_type == "TABLE" and t.table_id not in _NEVER_SEARCHED
            ]
        return sorted(found)

    def erase(
        self,
        needles: Needles,
        *,
        dry_run: bool,
        only: Iterable[str] | None = None,
    ) -> list[TableErasure]:
        """Count, then delete, the person's rows in each table (`only`: `dataset.table`
        names, for a retry). A DELETE BigQuery refuses, or a table it fails on, leaves that
        table pending; the others go on."""
        from google.api_core.exceptions import Forbidden, GoogleAPICallError, NotFound

        wanted = set(only) if only is not None else None
        results = []
        for dataset, table in self.tables():
            name = f"{dataset}.{table}"
            if wanted is not None and name not in wanted:
                continue
            held = 0
            try:
                where, params = self._condition(dataset, table, needles)
                if not where:
                    continue
                target = self._table(dataset, table)
                rows = self._rows(f"select count(*) from {target} where {where}", **params)
                held = int(rows[0][0]) if rows else 0
                if held and not dry_run:
                    job = self._query(f"delete from {target} where {where}", **params)
                    held = int(job.num_dml_affected_rows or held)
            except NotFound:
                continue  # dropped meanwhile (a full refresh): nothing of theirs left in it
            except GoogleAPICallError as exc:
                if "streaming buffer" in str(exc):
                    reason = STREAMING_BUFFER
                elif isinstance(exc, Forbidden):
                    reason = FORBIDDEN
                else:
                    reason = FAILED
                results.append(TableErasure(name, held, reason, _first_line(exc)))
                continue
            if held:
                results.append(TableErasure(name, held))
        return results

    def _condition(
        self, dataset: str, table: str, needles: Needles
    ) -> tuple[str, dict[str, list[str] | str]]:
        schema = self.client.get_table(f"{self.dataset.project}.{dataset}.{table}").schema
        texts = []
        for field in schema:
            column = f"`{field.name}`"
            if field.mode == "REPEATED" or field.field_type in ("RECORD", "STRUCT", "JSON"):
                texts.append(f"coalesce(to_json_string({column}), '')")
            elif field.field_type in _TEXT_TYPES:
                texts.append(f"coalesce({column}, '')")
        if not texts or not (needles.exact or needles.folded):
            return "", {}
        # A text per group of columns, fields apart by a space (no needle holds one, so no
        # needle can span two fields and a group boundary changes nothing). Groups keep each
        # expression small: the BigQuery emulator the tests run on refuses a concat of 24
        # columns, which raw_events has.
        groups = [texts[i : i + _COLUMNS_PER_TEXT] for i in range(0, len(texts), _COLUMNS_PER_TEXT)]
        joined = [g[0] if len(g) == 1 else "concat(" + ", ' ', ".join(g) + ")" for g in groups]
        parts: list[str] = []
        params: dict[str, list[str] | str] = {}
        for i, needle in enumerate(needles.exact):
            parts += [f"strpos({text}, @e{i}) > 0" for text in joined]
            params[f"e{i}"] = needle.decode()
        for i, needle in enumerate(needles.folded):
            parts += [f"strpos(lower({text}), @f{i}) > 0" for text in joined]
            params[f"f{i}"] = needle.decode()
        return " or ".join(parts), params

    # -- tombstones -----------------------------------------------------------------------
    def ensure_tombstones_table(self, dataset: str) -> None:
        """raw_tombstones as `oie_create_raw_tables` makes it, for a dataset made before it
        existed (the sink writes the tombstones into it)."""
        from google.cloud import bigquery

        fields = [
            bigquery.SchemaField(name, type_, mode=mode)
            for name, type_, mode in RAW_TOMBSTONES.bigquery_schema()
        ]
        table = bigquery.Table(f"{self.dataset.project}.{dataset}.{RAW_TOMBSTONES.name}", fields)
        table.time_partitioning = bigquery.TimePartitioning(field=RAW_TOMBSTONES.partition_column)
        table.clustering_fields = list(RAW_TOMBSTONES.cluster_by)
        self.client.create_table(table, exists_ok=True)

    # -- the key --------------------------------------------------------------------------
    def write_key(self, key: TombstoneKey) -> None:
        """The tombstone key's pads, in a one-row table of the private dataset: the staging
        models' HMAC reads them there (macros/tombstones.sql)."""
        from google.cloud import bigquery

        private = f"{self.dataset.project}.{self.dataset.private}"
        self.client.create_dataset(bigquery.Dataset(private), exists_ok=True)
        self._query(
            f"create or replace table `{private}.tombstone_key` as "
            "select @inner_pad as inner_pad, @outer_pad as outer_pad",
            inner_pad=key.inner_pad.hex(),
            outer_pad=key.outer_pad.hex(),
        )

    # -- pending erasures (oie/forget/pending.py) ----------------------------------------
    def _pending_table(self) -> str:
        return f"`{self.dataset.project}.{self.dataset.private}.{PENDING_TABLE}`"

    def add_pending(self, entry_id: str, detail: dict[str, Any]) -> None:
        from google.cloud import bigquery

        private = f"{self.dataset.project}.{self.dataset.private}"
        self.client.create_dataset(bigquery.Dataset(private), exists_ok=True)
        self._query(
            f"create table if not exists {self._pending_table()} "
            "(id string not null, created_at timestamp not null, detail string not null)"
        )
        # DML, not a streamed insert: the row can be deleted as soon as its work is done.
        self._query(
            f"insert into {self._pending_table()} (id, created_at, detail) "
            "values (@id, current_timestamp(), @detail)",
            id=entry_id,
            detail=json.dumps(detail, sort_keys=True),
        )

    def pending(self) -> list[tuple[str, dict[str, Any]]]:
        rows = self._rows(f"select id, detail from {self._pending_table()} order by created_at")
        return [(row[0], json.loads(row[1])) for row in rows]

    def drop_pending(self, entry_ids: list[str]) -> None:
        if entry_ids:
            self._query(
                f"delete from {self._pending_table()} where id in unnest(@ids)", ids=entry_ids
            )

    # -- plumbing -------------------------------------------------------------------------
    def _table(self, dataset: str, table: str) -> str:
        return f"`{self.dataset.project}.{dataset}.{table}`"

    def _query(self, sql: str, **params: list[str] | str) -> Any:
        from google.cloud import bigquery

        values: list[Any] = [
            bigquery.ArrayQueryParameter(name, "STRING", value)
            if isinstance(value, list)
            else bigquery.ScalarQueryParameter(name, "STRING", value)
            for name, value in params.items()
        ]
        job = self.client.query(sql, job_config=bigquery.QueryJobConfig(query_parameters=values))
        job.result()
        return job

    def _rows(self, sql: str, **params: list[str] | str) -> list[Any]:
        from google.api_core.exceptions import NotFound

        try:
            return list(self._query(sql, **params).result())
        except NotFound:
            return []  # a table not made yet holds nobody


def _first_line(exc: Exception) -> str:
    message = getattr(exc, "message", None) or str(exc)
    return str(message).splitlines()[0]
