{#- `dbt run-operation oie_create_raw_tables --target bigquery`: the partitioned, clustered raw
    tables the ingest function writes to (its RAW_EVENTS_SCHEMA / RAW_REJECTED_SCHEMA in
    ingest_function/bigquery_sink.py must match; a test checks) and `oie campaign create`
    loads into. Idempotent. On DuckDB the raw tables are the landing files: nothing to do. -#}

{% macro oie_raw_tables_ddl(project, dataset, partition_expiration_days=none) %}
  {%- set options -%}
    {%- if partition_expiration_days -%}options (partition_expiration_days = {{ partition_expiration_days }}){%- endif -%}
  {%- endset -%}
  {{ return([
    "create schema if not exists `" ~ project ~ "`.`" ~ dataset ~ "`",
    "create table if not exists `" ~ project ~ "`.`" ~ dataset ~ "`.`raw_events` (
      event_id STRING NOT NULL,
      type STRING NOT NULL,
      ts INT64,
      sent_at INT64,
      received_at TIMESTAMP NOT NULL,
      event_at TIMESTAMP,
      visitor_id STRING,
      client_visitor_id STRING,
      client_session_id STRING,
      token STRING,
      token_valid BOOL,
      url STRING,
      referrer STRING,
      data JSON,
      pixel_version STRING,
      ip STRING,
      user_agent STRING,
      device STRING,
      browser STRING,
      os STRING,
      is_bot BOOL,
      country STRING,
      region STRING,
      city STRING,
      asn STRING,
      as_org STRING
    )
    partition by date(received_at)
    cluster by type, visitor_id " ~ options,
    "create table if not exists `" ~ project ~ "`.`" ~ dataset ~ "`.`raw_rejected_events` (
      received_at TIMESTAMP NOT NULL,
      reason STRING NOT NULL,
      stage STRING,
      event_id STRING,
      type STRING,
      event JSON,
      raw STRING,
      ip STRING,
      user_agent STRING
    )
    partition by date(received_at)
    cluster by stage " ~ options,
    "create table if not exists `" ~ project ~ "`.`" ~ dataset ~ "`.`raw_leads` (
      lead_id STRING NOT NULL,
      email STRING,
      email_sha256 STRING,
      first_name STRING,
      last_name STRING,
      company STRING,
      title STRING,
      industry STRING,
      campaign_id STRING,
      campaign_name STRING,
      token STRING,
      created_at TIMESTAMP NOT NULL,
      attributes JSON
    )
    partition by date(created_at)
    cluster by campaign_id, lead_id"
  ]) }}
{% endmacro %}

{% macro oie_create_raw_tables(partition_expiration_days=none) %}
  {% if target.type != 'bigquery' %}
    {{ log("oie_create_raw_tables: the " ~ target.type ~ " target reads landing files; nothing to create", info=true) }}
    {{ return(none) }}
  {% endif %}
  {% set dataset = var('oie_raw_dataset') or target.schema %}
  {% for statement in oie_raw_tables_ddl(target.project, dataset, partition_expiration_days) %}
    {% do run_query(statement) %}
  {% endfor %}
  {{ log("oie_create_raw_tables: raw_events, raw_rejected_events, raw_leads ready in " ~ target.project ~ "." ~ dataset, info=true) }}
{% endmacro %}
