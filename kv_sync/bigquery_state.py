"""The sync state on BigQuery: `kv_sync_state` beside `edge_profiles` in the dbt dataset.

The same diff as on DuckDB runs as a query job whose result is read page by page; each
confirmed batch is one MERGE with the batch as typed array parameters (never SQL text built
from keys). A dry run only reads. Needs the `bigquery` extra (google-cloud-bigquery).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from kv_sync import scope, state_sql
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
        self.marks = f"`{project}`.`{dataset}`.`{state_sql.MARKS_TABLE}`"
        self.changes = f"`{project}`.`{dataset}`.`{state_sql.CHANGES}`"

        def table(name: str) -> Any:
            try:
                return client.get_table(self._ids[name])
            except NotFound:
                return None

        edge = table(state_sql.EDGE_PROFILES)
        if edge is None:
            raise NothingBuilt(
                f"BigQuery has no {self._ids[state_sql.EDGE_PROFILES]} yet: "
                "run `oie run` (or the dbt Cloud job) first"
            )
        self._owned = "lead_id" in {field.name.lower() for field in edge.schema}
        self._profiles_sql = getattr(edge, "view_query", None) or self._ids[state_sql.EDGE_PROFILES]
        self._has_changes = table(state_sql.CHANGES) is not None
        state = table(state_sql.STATE_TABLE)
        self._has_state = state is not None
        self._state_owned = state is not None and "lead_id" in {f.name for f in state.schema}
        self._has_marks = table(state_sql.MARKS_TABLE) is not None
        if not read_only:
            if not self._has_state:
                self._query(state_sql.create_state(D, self.state)).result()
            elif not self._state_owned:
                self._query(state_sql.add_lead_id(D, self.state)).result()
            if not self._has_marks:
                self._query(state_sql.create_marks(D, self.marks)).result()
            self._has_state = self._state_owned = self._has_marks = True

    def plan(self, store: str, refresh_before: float) -> scope.Scope:
        from google.cloud import bigquery

        if not (self._owned and self._has_changes):
            return scope.Scope(None, None)  # built by an older version: every key
        newest = list(self._query(state_sql.newest_change(self.changes)).result())
        current = scope.Mark(
            newest[0][0] if newest else None, scope.fingerprint(self._profiles_sql)
        )
        store_param = bigquery.ScalarQueryParameter("store", "STRING", store)
        stored = None
        if self._has_marks and self._state_owned:
            found = list(self._query(state_sql.read_mark(D, self.marks), [store_param]).result())
            stored = scope.Mark(found[0][0], found[0][1]) if found else None

        def unowned() -> int:
            rows = list(self._query(state_sql.unowned_keys(D, self.state), [store_param]).result())
            return int(rows[0][0]) if rows else 0

        def changed(since: Any) -> list[str]:
            parameters = [
                store_param,
                bigquery.ScalarQueryParameter("since", "TIMESTAMP", since),
                bigquery.ScalarQueryParameter("refresh_before", "TIMESTAMP", utc(refresh_before)),
            ]
            sql = state_sql.changed_leads(D, self.changes, self.state)
            return [row[0] for row in self._query(sql, parameters).result()]

        return scope.choose(
            stored=stored, current=current, unowned_keys=unowned, changed_leads=changed
        )

    def diff(self, store: str, refresh_before: float, within: scope.Scope) -> Iterator[DiffRow]:
        from google.cloud import bigquery

        if within.leads == ():
            return  # nothing changed and nothing expires
        state = self.state if self._has_state else state_sql.empty_state(D)
        parameters: list[Any] = [
            bigquery.ScalarQueryParameter("store", "STRING", store),
            bigquery.ScalarQueryParameter("refresh_before", "TIMESTAMP", utc(refresh_before)),
        ]
        if within.leads is not None:
            parameters.append(bigquery.ArrayQueryParameter("leads", "STRING", list(within.leads)))
        sql = state_sql.diff(
            D,
            self.edge_profiles,
            state,
            leads=None if within.leads is None else "unnest(@leads)",
            owned=self._owned,
        )
        for row in self._query(sql, parameters).result(page_size=self._page_size):
            yield DiffRow(row[0], row[1], row[2], row[3], row[4])

    def advance(self, store: str, done: scope.Scope) -> None:
        from google.cloud import bigquery

        if self._read_only:
            raise RuntimeError("a dry run records nothing")
        if done.next_mark is None:
            return
        store_param = bigquery.ScalarQueryParameter("store", "STRING", store)
        if done.every_key:
            sql = state_sql.fill_lead_ids(D, self.edge_profiles, self.state)
            self._query(sql, [store_param]).result()
        self._query(
            state_sql.write_mark(D, self.marks),
            [
                store_param,
                bigquery.ScalarQueryParameter(
                    "synced_through", "TIMESTAMP", done.next_mark.synced_through
                ),
                bigquery.ScalarQueryParameter(
                    "profiles_sql", "STRING", done.next_mark.profiles_sql
                ),
            ],
        ).result()

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
            bigquery.ScalarQueryParameterType("STRING", name="lead_id"),
        )
        rows = [
            bigquery.StructQueryParameter(
                None,
                bigquery.ScalarQueryParameter("key", "STRING", r.key),
                bigquery.ScalarQueryParameter("hash", "STRING", r.hash),
                bigquery.ScalarQueryParameter("expires_at", "TIMESTAMP", utc(r.expires_at)),
                bigquery.ScalarQueryParameter("pushed_at", "TIMESTAMP", utc(r.pushed_at)),
                bigquery.ScalarQueryParameter("lead_id", "STRING", r.lead_id),
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
        store_param = bigquery.ScalarQueryParameter("store", "STRING", store)
        self._query(state_sql.clear_store(D, self.state), [store_param]).result()
        self._query(state_sql.clear_mark(D, self.marks), [store_param]).result()

    def _query(self, sql: str, parameters: Sequence[Any] = ()) -> Any:
        from google.cloud import bigquery

        config = bigquery.QueryJobConfig(query_parameters=list(parameters))
        return self._client.query(sql, job_config=config)


_TABLES = (
    state_sql.EDGE_PROFILES,
    state_sql.STATE_TABLE,
    state_sql.MARKS_TABLE,
    state_sql.CHANGES,
)


def client_for(project: str, endpoint: str | None) -> Any:
    """A BigQuery client for the dbt project's dataset (oie_core.bigquery_client)."""
    return bigquery_client(project, endpoint)
