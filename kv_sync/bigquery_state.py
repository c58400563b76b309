"""The sync state on BigQuery: `kv_sync_state` beside `edge_profiles` in the dbt dataset.

The same diff as on DuckDB runs as a query job whose result is read page by page; each
confirmed batch is one MERGE with the batch as typed array parameters (never SQL text built
from keys). A dry run only reads. Needs the `bigquery` extra (google-cloud-bigquery).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from kv_sync import state_sql
from kv_sync.errors import NothingBuilt
from kv_sync.state import DiffRow, StateRow, utc
from kv_sync.store import MAX_BATCH_KEYS
from oie_core.bigquery_client import bigquery_client

D = state_sql.BIGQUERY


class BigQueryState:
    def __init__(
        self,
        client: Any,
        project: str,
        dataset: str,
        *,
        read_only: bool,
        page_size: int = MAX_BATCH_KEYS,
    ) -> None:
        from google.api_core.exceptions import NotFound

        self._client = client
        self._read_only = read_only
        self._page_size = page_size
        self._ids = {name: f"{project}.{dataset}.{name}" for name in _TABLES}
        self.edge_profiles = f"`{project}`.`{dataset}`.`{state_sql.EDGE_PROFILES}`"
        self.state = f"`{project}`.`{dataset}`.`{state_sql.STATE_TABLE}`"

        def exists(name: str) -> bool:
            try:
                client.get_table(self._ids[name])
            except NotFound:
                return False
            return True

        if not exists(state_sql.EDGE_PROFILES):
            raise NothingBuilt(
                f"BigQuery has no {self._ids[state_sql.EDGE_PROFILES]} yet: "
                "run `oie run` (or the dbt Cloud job) first"
            )
        self._has_state = exists(state_sql.STATE_TABLE)
        if not self._has_state and not read_only:
            self._query(state_sql.create_state(D, self.state)).result()
            self._has_state = True

    def diff(self, store: str, refresh_before: float) -> Iterator[DiffRow]:
        from google.cloud import bigquery

        state = self.state if self._has_state else state_sql.empty_state(D)
        job = self._query(
            state_sql.diff(D, self.edge_profiles, state),
            [
                bigquery.ScalarQueryParameter("store", "STRING", store),
                bigquery.ScalarQueryParameter("refresh_before", "TIMESTAMP", utc(refresh_before)),
            ],
        )
        for row in job.result(page_size=self._page_size):
            yield DiffRow(row[0], row[1], row[2], row[3])

    def record(self, store: str, pushed: Sequence[StateRow] = (), gone: Sequence[str] = ()) -> None:
        from google.cloud import bigquery

        if self._read_only:
            raise RuntimeError("a dry run records nothing")
        if not pushed and not gone:
            return
        row_type = bigquery.StructQueryParameterType(
            bigquery.ScalarQueryParameterType("STRING", name="key"),
            bigquery.ScalarQueryParameterType("STRING", name="hash"),
            bigquery.ScalarQueryParameterType("TIMESTAMP", name="expires_at"),
            bigquery.ScalarQueryParameterType("TIMESTAMP", name="pushed_at"),
        )
        rows = [
            bigquery.StructQueryParameter(
                None,
                bigquery.ScalarQueryParameter("key", "STRING", r.key),
                bigquery.ScalarQueryParameter("hash", "STRING", r.hash),
                bigquery.ScalarQueryParameter("expires_at", "TIMESTAMP", utc(r.expires_at)),
                bigquery.ScalarQueryParameter("pushed_at", "TIMESTAMP", utc(r.pushed_at)),
            )
            for r in pushed
        ]
        parameters: list[Any] = [bigquery.ScalarQueryParameter("store", "STRING", store)]
        if rows:
            parameters.append(bigquery.ArrayQueryParameter("rows", row_type, rows))
        if gone:
            parameters.append(bigquery.ArrayQueryParameter("gone", "STRING", list(gone)))
        self._query(
            state_sql.merge(D, self.state, pushed=bool(rows), gone=bool(gone)), parameters
        ).result()

    def clear(self, store: str) -> None:
        from google.cloud import bigquery

        if self._read_only:
            raise RuntimeError("a dry run records nothing")
        self._query(
            state_sql.clear_store(D, self.state),
            [bigquery.ScalarQueryParameter("store", "STRING", store)],
        ).result()

    def _query(self, sql: str, parameters: Sequence[Any] = ()) -> Any:
        from google.cloud import bigquery

        config = bigquery.QueryJobConfig(query_parameters=list(parameters))
        return self._client.query(sql, job_config=config)


_TABLES = (state_sql.EDGE_PROFILES, state_sql.STATE_TABLE)


def client_for(project: str, endpoint: str | None) -> Any:
    """A BigQuery client for the dbt project's dataset (oie_core.bigquery_client)."""
    return bigquery_client(project, endpoint)
