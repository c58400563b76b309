"""Hot-lead alerts (docs/alerts.md): a lead that reaches OIE_ALERT_LEVEL is announced once
per episode to Slack and/or a signed webhook, through an outbox in the warehouse.

One job per module: `sql` (the outbox's and the alert points' SQL, per dialect), `outbox`
(the protocol over the table `oie_alert_log` and its rows), `duckdb_outbox` and
`bigquery_outbox` (where that SQL runs), `messages` (the webhook payload, the Slack
message, the Standard Webhooks signature), `deliver` (one HTTP attempt and what its answer
means: delivered, retry later with backoff, or failed) and `runner` (all of it from the
settings). The episodes themselves are computed by the dbt view `lead_level_episodes`.
"""
