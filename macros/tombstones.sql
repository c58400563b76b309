{#- Tombstones (docs/privacy.md): staging drops every row of a forgotten identifier, so
    neither an incremental run nor a full refresh brings a forgotten person back, even
    while their raw rows still exist (an erasure pending on BigQuery, a landing file that
    was open when they were forgotten). The list holds keyed hashes only
    (oie_core/tombstones.py): each candidate value is hashed here with HMAC-SHA256 written
    out in SQL, H(outer_pad || H(inner_pad || value)), from the key's two pads, read at run
    time from where the key lives, never written into the SQL that dbt keeps. -#}

{% macro oie_tombstones_active() -%}
  {#- Whether any tombstone exists, at run time: with none (the usual case) staging costs
      nothing extra. The offline BigQuery compile (tests) renders the anti-join, so its SQL
      is checked too. -#}
  {%- if var('oie_offline_compile', none) -%}
    {{ return(true) }}
  {%- endif -%}
  {%- if not execute -%}
    {{ return(false) }}
  {%- endif -%}
  {%- if target.type == 'duckdb' -%}
    {{ return(oie_landing_has_files('tombstones')) }}
  {%- endif -%}
  {#- BigQuery: once `oie forget` has written the key table into oie_private_dataset (and
      so raw_tombstones exists): relation lookups only, no query. Before that a build
      neither reads raw_tombstones (a dataset made before it existed has none) nor
      filters. -#}
  {%- set key_table = adapter.get_relation(
      database=target.project, schema=var('oie_private_dataset'), identifier='tombstone_key') -%}
  {%- set stones = source('oie', 'raw_tombstones') -%}
  {%- set stones_table = adapter.get_relation(
      database=stones.database, schema=stones.schema, identifier=stones.identifier) -%}
  {{ return(key_table is not none and stones_table is not none) }}
{%- endmacro %}

{% macro oie_tombstone_key_pads() -%}
  {{ return(adapter.dispatch('oie_tombstone_key_pads', 'oie')()) }}
{%- endmacro %}

{% macro default__oie_tombstone_key_pads() -%}
  {#- Written by oie (oie_core/tombstones.py, write_warehouse_key) beside the secret. -#}
  {%- set path = oie_data_dir() ~ '/tombstone_key.csv' -%}
  select unhex(inner_pad) as inner_pad, unhex(outer_pad) as outer_pad
  from read_csv('{{ path | replace("'", "''") }}', header = true, all_varchar = true)
{%- endmacro %}

{% macro bigquery__oie_tombstone_key_pads() -%}
  {#- A one-row table in a dataset only the pipeline's service account reads. -#}
  select from_hex(inner_pad) as inner_pad, from_hex(outer_pad) as outer_pad
  from `{{ target.project }}`.`{{ var('oie_private_dataset') }}`.`tombstone_key`
{%- endmacro %}

{% macro oie_keyed_hash(expr) -%}
  {{ return(adapter.dispatch('oie_keyed_hash', 'oie')(expr)) }}
{%- endmacro %}

{% macro default__oie_keyed_hash(expr) -%}
  sha256(
    (select k.outer_pad from ({{ oie_tombstone_key_pads() }}) as k)
    || unhex(sha256((select k.inner_pad from ({{ oie_tombstone_key_pads() }}) as k) || encode({{ expr }})))
  )
{%- endmacro %}

{% macro bigquery__oie_keyed_hash(expr) -%}
  to_hex(sha256(concat(
    (select k.outer_pad from ({{ oie_tombstone_key_pads() }}) as k),
    sha256(concat((select k.inner_pad from ({{ oie_tombstone_key_pads() }}) as k), cast({{ expr }} as bytes)))
  )))
{%- endmacro %}

{% macro oie_not_forgotten(checks) -%}
  {#- A where-condition: true unless one of `checks`, (kind, expression) pairs, names a
      tombstoned identifier. Only when tombstones exist; else `true`. Reads the source
      itself (staging reads sources only); the source call outside the branch records the
      dependency when dbt parses the model. -#}
  {%- set tombstones = oie_landing_source('raw_tombstones') -%}
  {%- if oie_tombstones_active() -%}
    not (
    {%- for kind, expr in checks %}
      coalesce({{ expr }} is not null and {{ oie_keyed_hash(expr) }} in (
        select lower(forgotten.key_hash) from {{ tombstones }} as forgotten
        where forgotten.kind = '{{ kind }}'
      ), false){% if not loop.last %} or{% endif %}
    {%- endfor %}
    )
  {%- else -%}
    true
  {%- endif -%}
{%- endmacro %}

{% macro oie_forgotten_since(instant) -%}
  {#- Whether anyone was forgotten after `instant` (a {'ts': ...} from oie_watermark): an
      erasure deletes rows wherever they are and leaves no stamp, so a model that follows
      stamps compares everything after one. False with no tombstones, and in the offline
      compile check (which renders the stamped path). The caller refs
      stg_oie__tombstones in a depends_on comment. -#}
  {%- if var('oie_offline_compile', none) is not none or not oie_tombstones_active() -%}
    {{ return(false) }}
  {%- endif -%}
  {{ return(oie_query_instant(
      'max(created_at)', 'from ' ~ ref('stg_oie__tombstones')
      ~ ' where created_at > ' ~ oie_timestamp_literal(instant.ts)
  ) is not none) }}
{%- endmacro %}
