{#- What staging reads on the local target when a landing stream has no file yet (fresh
    clone): whether the stream has files, and typed, empty stand-ins whose columns are the
    landing types of macros/raw_schema.sql (generated from oie_core/raw_schema.py), plus the
    hive partition columns dt and hr. -#}

{% macro oie_landing_dir() -%}
  {{ return(env_var('OIE_LANDING_DIR', env_var('OIE_DATA_DIR', 'data') ~ '/landing')) }}
{%- endmacro %}

{% macro oie_landing_has_files(stream) -%}
  {#- A fresh clone has no landing files, and DuckDB's read_json fails on a glob that matches
      nothing; staging then selects from a typed empty relation instead. BigQuery always has
      its raw tables. -#}
  {%- if target.type != 'duckdb' or not execute -%}
    {{ return(true) }}
  {%- endif -%}
  {#- The first match is enough: DuckDB's glob stops there, where a count lists every landing
      file of the history (1 s at 30M events, 184,000 files). -#}
  {%- set pattern = oie_landing_dir() ~ '/' ~ stream ~ '/*/*/*.ndjson' -%}
  {%- set result = run_query(
      "select count(*) from (select 1 from glob('" ~ pattern | replace("'", "''") ~ "') limit 1) as first_file") -%}
  {{ return(result.columns[0].values()[0] > 0) }}
{%- endmacro %}

{% macro oie_empty_relation(table) -%}
  {%- set columns = [] -%}
  {%- for name, _bigquery_type, landing_type, _required in oie_raw_columns(table) -%}
    {%- do columns.append((name, landing_type)) -%}
  {%- endfor -%}
  {%- do columns.extend([('dt', 'date'), ('hr', 'integer')]) -%}
  select
  {% for name, type in columns %}
    cast(null as {{ type }}) as {{ name }}{% if not loop.last %},{% endif %}
  {% endfor %}
  where 1 = 0
{%- endmacro %}

{% macro oie_empty_raw_events() -%}
  {{ oie_empty_relation('raw_events') }}
{%- endmacro %}

{% macro oie_empty_raw_leads() -%}
  {{ oie_empty_relation('raw_leads') }}
{%- endmacro %}

{% macro oie_empty_raw_tombstones() -%}
  {{ oie_empty_relation('raw_tombstones') }}
{%- endmacro %}

{% macro oie_empty_raw_rejected_events() -%}
  {{ oie_empty_relation('raw_rejected_events') }}
{%- endmacro %}

{% macro oie_empty_raw_email_events() -%}
  {{ oie_empty_relation('raw_email_events') }}
{%- endmacro %}
