{#- `dbt run-operation oie_create_raw_tables --target bigquery`: the partitioned, clustered raw
    tables the ingest function writes to and `oie campaign create` loads into. Columns come
    from macros/raw_schema.sql, generated from oie_core/raw_schema.py (the one declaration the
    sink's write schema also uses). Idempotent. On DuckDB the raw tables are the landing
    files: nothing to do. -#}

{% macro oie_raw_table_ddl(project, dataset, table, options) -%}
  {%- set partition_column, cluster_columns = oie_raw_table_layout(table) -%}
  {%- set columns = [] -%}
  {%- for name, bigquery_type, _landing_type, required in oie_raw_columns(table) -%}
    {%- do columns.append(name ~ ' ' ~ bigquery_type ~ (' NOT NULL' if required else '')) -%}
  {%- endfor -%}
  create table if not exists `{{ project }}`.`{{ dataset }}`.`{{ table }}` (
      {{ columns | join(',\n      ') }}
    )
    partition by date({{ partition_column }})
    cluster by {{ cluster_columns | join(', ') }} {{ options }}
{%- endmacro %}

{% macro oie_raw_tables_ddl(project, dataset, partition_expiration_days=none) %}
  {#- Partitions of the behavioural tables (raw_events, raw_rejected_events) expire after
      `partition_expiration_days`, by default oie_raw_retention_days (docs/privacy.md);
      lead lists and tombstones never expire. -#}
  {%- set days = partition_expiration_days or var('oie_raw_retention_days') -%}
  {%- set statements = ["create schema if not exists `" ~ project ~ "`.`" ~ dataset ~ "`"] -%}
  {%- for table in oie_raw_table_names() -%}
    {%- set options -%}
      {%- if table in oie_raw_expiring_tables() -%}options (partition_expiration_days = {{ days }}){%- endif -%}
    {%- endset -%}
    {%- do statements.append(oie_raw_table_ddl(project, dataset, table, options)) -%}
  {%- endfor -%}
  {{ return(statements) }}
{% endmacro %}

{% macro oie_raw_retention_ddl(project, dataset, partition_expiration_days=none) %}
  {#- A table made earlier (or with another period) takes the current one. -#}
  {%- set days = partition_expiration_days or var('oie_raw_retention_days') -%}
  {%- set statements = [] -%}
  {%- for table in oie_raw_expiring_tables() -%}
    {%- do statements.append("alter table `" ~ project ~ "`.`" ~ dataset ~ "`.`" ~ table ~ "` set options (partition_expiration_days = " ~ days ~ ")") -%}
  {%- endfor -%}
  {{ return(statements) }}
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
  {% for statement in oie_raw_retention_ddl(target.project, dataset, partition_expiration_days) %}
    {% do run_query(statement) %}
  {% endfor %}
  {#- `create table if not exists` leaves a table made by an earlier version as it was: the
      nullable columns declared since reach it here, one statement each (usually none). -#}
  {% for table in oie_raw_table_names() %}
    {% set relation = api.Relation.create(database=target.project, schema=dataset, identifier=table) %}
    {% set existing = adapter.get_columns_in_relation(relation) | map(attribute='name') | list %}
    {% for statement in oie_raw_column_additions(target.project, dataset, table, existing) %}
      {% do run_query(statement) %}
      {{ log("oie_create_raw_tables: " ~ statement, info=true) }}
    {% endfor %}
  {% endfor %}
  {{ log("oie_create_raw_tables: " ~ oie_raw_table_names() | join(', ') ~ " ready in " ~ target.project ~ "." ~ dataset, info=true) }}
{% endmacro %}

{% macro oie_raw_column_additions(project, dataset, table, existing_columns) -%}
  {#- One `alter table … add column` per declared column missing from `existing_columns`
      (nullable ones only: BigQuery adds no NOT NULL column to a table; the required columns
      are as old as the tables). -#}
  {%- set have = existing_columns | map('lower') | list -%}
  {%- set statements = [] -%}
  {%- for name, bigquery_type, _landing_type, required in oie_raw_columns(table) -%}
    {%- if not required and name | lower not in have -%}
      {%- do statements.append("alter table `" ~ project ~ "`.`" ~ dataset ~ "`.`" ~ table ~ "` add column if not exists " ~ name ~ " " ~ bigquery_type) -%}
    {%- endif -%}
  {%- endfor -%}
  {{ return(statements) }}
{%- endmacro %}
