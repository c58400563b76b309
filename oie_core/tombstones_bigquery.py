"""The tombstones of a production installation: the `raw_tombstones` table in BigQuery,
where `POST /optout` and `oie forget` write them (OIE_SINK=bigquery).

Each ingest process asks at most once a minute (TombstoneCache). The question that runs
every time is the table's metadata (free: row count, last change, streaming buffer);
the list itself is queried only when that changed, and every ten minutes in any case
(BigQuery's streaming-buffer estimate may lag behind a write). A query bills at least
10 MB, so asking every minute would cost each warm instance about 14 GB a day.
"""

from __future__ import annotations

import os
import time
from typing import Any

from oie_core.bigquery_client import bigquery_client
from oie_core.settings import Settings
from oie_core.tombstones import KINDS, Tombstones

FORCED_RELOAD_S = 600.0


class BigQueryTombstones:
    def __init__(
        self,
        project: str,
        dataset: str,
        endpoint: str | None = None,
        *,
        table: str = "raw_tombstones",
        timeout_s: float = 10.0,
    ) -> None:
        self.table_id = f"{project}.{dataset}.{table}"
        self.project, self.endpoint, self.timeout_s = project, endpoint, timeout_s
        self._client: Any = None
        self._pid = 0

    @classmethod
    def for_settings(cls, settings: Settings) -> BigQueryTombstones | None:
        """The list of an installation whose sink is BigQuery; None for any other."""
        if settings.sink != "bigquery" or not (settings.bq_project and settings.bq_dataset):
            return None
        return cls(settings.bq_project, settings.bq_dataset, settings.bq_endpoint)

    def _get_client(self) -> Any:
        # A client holds connections, which must not cross a fork: one per process.
        if self._client is None or self._pid != os.getpid():
            self._client = bigquery_client(self.project, self.endpoint)
            self._pid = os.getpid()
        return self._client

    def signature(self) -> object:
        from google.api_core.exceptions import NotFound

        try:
            # No retries: a request thread waits for this; the next one a minute on asks again.
            table = self._get_client().get_table(self.table_id, retry=None, timeout=self.timeout_s)
        except NotFound:
            return ("missing",)  # nobody forgotten yet on a dataset made before the table
        buffer = table.streaming_buffer
        return (
            table.num_rows,
            table.modified,
            buffer.estimated_rows if buffer else None,
            int(time.time() // FORCED_RELOAD_S),
        )

    def load(self) -> Tombstones:
        from google.api_core.exceptions import NotFound

        by_kind: dict[str, set[str]] = {kind: set() for kind in KINDS}
        sql = f"select kind, lower(key_hash) as key_hash from `{self.table_id}`"
        try:
            job = self._get_client().query(sql, retry=None, job_retry=None, timeout=self.timeout_s)
            rows = job.result(timeout=self.timeout_s)
        except NotFound:
            rows = []
        for row in rows:
            if row["kind"] in by_kind and isinstance(row["key_hash"], str):
                by_kind[row["kind"]].add(row["key_hash"])
        return Tombstones({kind: frozenset(v) for kind, v in by_kind.items()})
