"""The CRM sync state on BigQuery: `crm_sync_state` beside `crm_contacts` in the dbt
dataset.

The same diff as on DuckDB runs as a query job whose result is read page by page; each
confirmed request is one MERGE with the contacts as a typed array parameter (never SQL text
built from emails). A dry run only reads. Needs the `bigquery` extra (google-cloud-bigquery).
"""

from __future__ import annotations

from collections.abc import Generator, Sequence
from typing import Any

from crm_sync import state_sql
from crm_sync.state import DiffRow, StateRow
from kv_sync.errors import NothingBuilt
from kv_sync.state import utc

D = state_sql.BIGQUERY
PAGE_ROWS = 10_000


class BigQueryState:
    def __init__(
        self,
        client: Any,
        project: str,
        dataset: str,
        *,
        read_only: bool,
        page_size: int = PAGE_ROWS,
    ) -> None:
        from google.api_core.exceptions import NotFound

        self._client = client
        self._read_only = read_only
        self._page_size = page_size
        self.contacts = f"`{project}`.`{dataset}`.`{state_sql.CRM_CONTACTS}`"
        self.state = f"`{project}`.`{dataset}`.`{state_sql.STATE_TABLE}`"

        def exists(name: str) -> bool:
            try:
                client.get_table(f"{project}.{dataset}.{name}")
            except NotFound:
                return False
            return True

        if not exists(state_sql.CRM_CONTACTS):
            raise NothingBuilt(
                f"BigQuery has no {project}.{dataset}.{state_sql.CRM_CONTACTS} yet: "
                "run `oie run` (or the dbt Cloud job) first"
            )
        self._has_state = exists(state_sql.STATE_TABLE)
        if not self._has_state and not read_only:
            self._query(state_sql.create_state(D, self.state)).result()
            self._has_state = True

    def diff(self, destination: str) -> Generator[DiffRow, None, None]:
        from google.cloud import bigquery

        state = self.state if self._has_state else state_sql.empty_state(D)
        job = self._query(
            state_sql.diff(D, self.contacts, state),
            [bigquery.ScalarQueryParameter("destination", "STRING", destination)],
        )
        for row in job.result(page_size=self._page_size):
            yield DiffRow(row[0], row[1], row[2], row[3])

    def record(self, destination: str, pushed: Sequence[StateRow], pushed_at: float) -> None:
        from google.cloud import bigquery

        if self._read_only:
            raise RuntimeError("a dry run records nothing")
        if not pushed:  # google-cloud-bigquery cannot send an empty array of structs
            return
        row_type = bigquery.StructQueryParameterType(
            bigquery.ScalarQueryParameterType("STRING", name="key"),
            bigquery.ScalarQueryParameterType("STRING", name="hash"),
        )
        rows = [
            bigquery.StructQueryParameter(
                None,
                bigquery.ScalarQueryParameter("key", "STRING", r.key),
                bigquery.ScalarQueryParameter("hash", "STRING", r.hash),
            )
            for r in pushed
        ]
        self._query(
            state_sql.merge(D, self.state),
            [
                bigquery.ScalarQueryParameter("destination", "STRING", destination),
                bigquery.ScalarQueryParameter("pushed_at", "TIMESTAMP", utc(pushed_at)),
                bigquery.ArrayQueryParameter("rows", row_type, rows),
            ],
        ).result()

    def _query(self, sql: str, parameters: Sequence[Any] = ()) -> Any:
        from google.cloud import bigquery

        config = bigquery.QueryJobConfig(query_parameters=list(parameters))
        return self._client.query(sql, job_config=config)
