"""Warehouse -> KV store: the change-only sync of `edge_profiles` (docs/kv.md), and the
hot-lead alerts that follow it (the `alerts` package, docs/alerts.md).

One job per module: `store` (the KVStore protocol and Workers KV's limits), `local` and
`cloudflare` (the two stores), `pacing` (requests per window), `clock`, `errors`, `state`
(the protocol over the warehouse table `kv_sync_state`), `state_sql` (its SQL, per
dialect), `duckdb_state` and `bigquery_state` (where that SQL runs; `duckdb_warehouse`
opens the embedded file for both the state and the alerts), `batches`, `sync` (the
diff pushed and recorded), `ahead` (the next request read while one is on the wire),
`reconcile` (state rebuilt from the store) and `runner` (all of it from the settings).
"""
