{#- Typed, empty stand-ins for landing streams that have no file yet (fresh clone). The
    columns are the landing types of macros/raw_schema.sql (generated from
    oie_core/raw_schema.py), plus the hive partition columns dt and hr. -#}

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

{% macro oie_empty_raw_rejected_events() -%}
  {{ oie_empty_relation('raw_rejected_events') }}
{%- endmacro %}
