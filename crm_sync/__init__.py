"""Warehouse -> CRM: the change-only sync of `crm_contacts` to HubSpot contact properties
(docs/crm.md), beside the KV sync (`kv_sync`, whose dialects, warehouse connection, clock
and error classes it reuses; kv_sync never imports this package).

One job per module: `errors`, `properties` (the property group and the six properties
`oie crm setup` makes), `hubspot` (HubSpot's own client: retries, batch upserts and what a
multi-status answer confirmed), `setup` (the properties, made once), `state` (the protocol
over the warehouse table `crm_sync_state`), `state_sql` (its SQL, one text for DuckDB and
BigQuery), `duckdb_state` and `bigquery_state` (where that SQL runs), `sync` (the diff
pushed in batches and only what HubSpot confirmed recorded) and `runner` (all of it from
the settings).
"""
