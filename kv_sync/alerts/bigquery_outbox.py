"""The alerts outbox on BigQuery: `oie_alert_log` beside `lead_level_episodes` in the dbt
dataset. The alert points are one query job; the decided alerts go in with one MERGE (typed
array parameters, never SQL text built from values) that inserts only what is not there;
each delivery attempt is one UPDATE of its row. A dry run only reads. Needs the `bigquery`
extra (google-cloud-bigquery).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from kv_sync.alerts import sql
from kv_sync.alerts.outbox import AlertPoint, Count, LogRow, Rearm, epoch, utc
from kv_sync.errors import NothingBuilt
from kv_sync.state_sql import BIGQUERY as D


class BigQueryOutbox:
    def __init__(self, client: Any, project: str, dataset: str, *, read_only: bool) -> None:
        from google.api_core.exceptions import NotFound

        self._client = client
        self._read_only = read_only
        ids = {name: f"{project}.{dataset}.{name}" for name in _TABLES}
        self.episodes, self.profiles, self.log = (
            f"`{project}`.`{dataset}`.`{name}`" for name in _TABLES
        )

        def exists(name: str) -> bool:
            try:
                client.get_table(ids[name])
            except NotFound:
                return False
            return True

        if not exists(sql.EPISODES):
            raise NothingBuilt(
                f"BigQuery has no {ids[sql.EPISODES]} yet: "
                "run `oie run` (or the dbt Cloud job) first"
            )
        self._has_log = exists(sql.LOG_TABLE)
        if not self._has_log and not read_only:
            self._query(sql.create_log(D, self.log)).result()
            self._has_log = True

    def rearm(self) -> Rearm | None:
        for row in self._query(sql.rearm(D, self.episodes)).result():
            return Rearm(row[0], int(row[1]))
        return None

    def points(self, channel: str, alert_rank: int) -> list[AlertPoint]:
        from google.cloud import bigquery

        log = self.log if self._has_log else sql.empty_log(D)
        job = self._query(
            sql.points(D, self.episodes, self.profiles, log),
            [
                bigquery.ScalarQueryParameter("alert_rank", "INT64", alert_rank),
                bigquery.ScalarQueryParameter("channel", "STRING", channel),
            ],
        )
        return [AlertPoint.from_row(tuple(row.values())) for row in job.result()]

    def decide(self, rows: Sequence[LogRow], now: float) -> None:
        from google.cloud import bigquery

        self._writable()
        if not rows:
            return
        field_types = (
            ("alert_id", "STRING"),
            ("channel", "STRING"),
            ("lead_id", "STRING"),
            ("level", "STRING"),
            ("episode", "INT64"),
            ("status", "STRING"),
            ("next_attempt_at", "TIMESTAMP"),
            ("payload", "STRING"),
        )
        row_type = bigquery.StructQueryParameterType(
            *(bigquery.ScalarQueryParameterType(kind, name=name) for name, kind in field_types)
        )

        def value(row: LogRow, name: str) -> Any:
            return utc(row.next_attempt_at) if name == "next_attempt_at" else getattr(row, name)

        structs = [
            bigquery.StructQueryParameter(
                None,
                *(
                    bigquery.ScalarQueryParameter(name, kind, value(r, name))
                    for name, kind in field_types
                ),
            )
            for r in rows
        ]
        self._query(
            sql.decide(D, self.log),
            [
                bigquery.ArrayQueryParameter("rows", row_type, structs),
                bigquery.ScalarQueryParameter("now", "TIMESTAMP", utc(now)),
            ],
        ).result()

    def due(self, channel: str, now: float) -> list[LogRow]:
        from google.cloud import bigquery

        if not self._has_log:
            return []
        job = self._query(
            sql.due(D, self.log),
            [
                bigquery.ScalarQueryParameter("channel", "STRING", channel),
                bigquery.ScalarQueryParameter("now", "TIMESTAMP", utc(now)),
            ],
        )
        return [LogRow.from_row(tuple(row.values())) for row in job.result()]

    def record(self, row: LogRow) -> None:
        from google.cloud import bigquery

        self._writable()
        self._query(
            sql.record(D, self.log),
            [
                bigquery.ScalarQueryParameter("status", "STRING", row.status),
                bigquery.ScalarQueryParameter("attempts", "INT64", row.attempts),
                bigquery.ScalarQueryParameter(
                    "next_attempt_at", "TIMESTAMP", utc(row.next_attempt_at)
                ),
                bigquery.ScalarQueryParameter("last_error", "STRING", row.last_error),
                bigquery.ScalarQueryParameter("delivered_at", "TIMESTAMP", utc(row.delivered_at)),
                bigquery.ScalarQueryParameter("alert_id", "STRING", row.alert_id),
                bigquery.ScalarQueryParameter("channel", "STRING", row.channel),
            ],
        ).result()

    def counts(self) -> list[Count]:
        if not self._has_log:
            return []
        rows = self._query(sql.counts(D, self.log)).result()
        return [Count(r[0], r[1], int(r[2]), epoch(r[3])) for r in rows]

    def _writable(self) -> None:
        if self._read_only:
            raise RuntimeError("a dry run records nothing")

    def _query(self, text: str, parameters: Sequence[Any] = ()) -> Any:
        from google.cloud import bigquery

        config = bigquery.QueryJobConfig(query_parameters=list(parameters))
        return self._client.query(text, job_config=config)


_TABLES = (sql.EPISODES, sql.LEAD_PROFILES, sql.LOG_TABLE)
