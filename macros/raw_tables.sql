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
  {%- set options -%}
    {%- if partition_expiration_days -%}options (partition_expiration_days = {{ partition_expiration_days }}){%- endif -%}
  {%- endset -%}
  {%- set statements = ["create schema if not exists `" ~ project ~ "`.`" ~ dataset ~ "`"] -%}
  {%- for table in ['raw_events', 'raw_rejected_events', 'raw_leads'] -%}
    {%- do statements.append(oie_raw_table_ddl(project, dataset, table, options)) -%}
  {%- endfor -%}
  {#- A table made before a column was declared gets it here (new columns are nullable:
      BigQuery adds no NOT NULL column to a table that has rows). -#}
  {%- for table in ['raw_events', 'raw_rejected_events', 'raw_leads'] -%}
    {%- set added = [] -%}
    {%- for name, bigquery_type, _landing_type, required in oie_raw_columns(table) if not required -%}
      {%- do added.append('add column if not exists ' ~ name ~ ' ' ~ bigquery_type) -%}
    {%- endfor -%}
    {%- do statements.append("alter table `" ~ project ~ "`.`" ~ dataset ~ "`.`" ~ table ~ "` " ~ added | join(', ')) -%}
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
  {{ log("oie_create_raw_tables: raw_events, raw_rejected_events, raw_leads ready in " ~ target.project ~ "." ~ dataset, info=true) }}
{% endmacro %}
