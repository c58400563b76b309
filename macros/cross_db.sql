{#- Cross-database helpers. DuckDB (local) and BigQuery (production) differ in JSON access,
    timestamp arithmetic, aggregates and regexes; every difference lives here, dispatched. -#}

{% macro oie_json_str(column, key) -%}
  {{ return(adapter.dispatch('oie_json_str', 'oie')(column, key)) }}
{%- endmacro %}
{% macro default__oie_json_str(column, key) -%}
  json_extract_string({{ column }}, '$.{{ key }}')
{%- endmacro %}
{% macro bigquery__oie_json_str(column, key) -%}
  json_value({{ column }}, '$.{{ key }}')
{%- endmacro %}

{% macro oie_json_text(column, key) -%}
  {#- A nested value (array or object) as JSON text. -#}
  {{ return(adapter.dispatch('oie_json_text', 'oie')(column, key)) }}
{%- endmacro %}
{% macro default__oie_json_text(column, key) -%}
  cast(json_extract({{ column }}, '$.{{ key }}') as varchar)
{%- endmacro %}
{% macro bigquery__oie_json_text(column, key) -%}
  to_json_string(json_query({{ column }}, '$.{{ key }}'))
{%- endmacro %}

{% macro oie_json_is_object(column) -%}
  {{ return(adapter.dispatch('oie_json_is_object', 'oie')(column)) }}
{%- endmacro %}
{% macro default__oie_json_is_object(column) -%}
  coalesce(json_type({{ column }}) = 'OBJECT', false)
{%- endmacro %}
{% macro bigquery__oie_json_is_object(column) -%}
  coalesce(json_type({{ column }}) = 'object', false)
{%- endmacro %}

{% macro oie_json_to_text(column) -%}
  {{ return(adapter.dispatch('oie_json_to_text', 'oie')(column)) }}
{%- endmacro %}
{% macro default__oie_json_to_text(column) -%}
  cast({{ column }} as varchar)
{%- endmacro %}
{% macro bigquery__oie_json_to_text(column) -%}
  to_json_string({{ column }})
{%- endmacro %}

{% macro oie_safe_int(expr) -%}
  {{ return(adapter.dispatch('oie_safe_int', 'oie')(expr)) }}
{%- endmacro %}
{% macro default__oie_safe_int(expr) -%}
  try_cast(try_cast({{ expr }} as double) as bigint)
{%- endmacro %}
{% macro bigquery__oie_safe_int(expr) -%}
  cast(safe_cast({{ expr }} as float64) as int64)
{%- endmacro %}

{% macro oie_safe_float(expr) -%}
  {#- A number (text or JSON scalar) as a double; null when it is not one. -#}
  {{ return(adapter.dispatch('oie_safe_float', 'oie')(expr)) }}
{%- endmacro %}
{% macro default__oie_safe_float(expr) -%}
  try_cast({{ expr }} as double)
{%- endmacro %}
{% macro bigquery__oie_safe_float(expr) -%}
  safe_cast({{ expr }} as float64)
{%- endmacro %}

{% macro oie_safe_bool(expr) -%}
  {{ return(adapter.dispatch('oie_safe_bool', 'oie')(expr)) }}
{%- endmacro %}
{% macro default__oie_safe_bool(expr) -%}
  try_cast({{ expr }} as boolean)
{%- endmacro %}
{% macro bigquery__oie_safe_bool(expr) -%}
  safe_cast({{ expr }} as bool)
{%- endmacro %}

{% macro oie_to_timestamp(expr) -%}
  {{ return(adapter.dispatch('oie_to_timestamp', 'oie')(expr)) }}
{%- endmacro %}
{% macro default__oie_to_timestamp(expr) -%}
  {#- ISO-8601 with Z/offset parses to a naive UTC TIMESTAMP (the session runs in UTC). -#}
  try_cast({{ expr }} as timestamp)
{%- endmacro %}
{% macro bigquery__oie_to_timestamp(expr) -%}
  safe_cast({{ expr }} as timestamp)
{%- endmacro %}

{% macro oie_timestamp_literal(iso) -%}
  {{ return(adapter.dispatch('oie_timestamp_literal', 'oie')(iso)) }}
{%- endmacro %}
{% macro default__oie_timestamp_literal(iso) -%}
  cast('{{ iso }}' as timestamp)
{%- endmacro %}
{% macro bigquery__oie_timestamp_literal(iso) -%}
  {#- integer microseconds (a watermark, see oie_watermark; negative before 1970) or an ISO
      timestamp -#}
  {%- if iso is string and iso.lstrip('-').isdigit() -%}
  timestamp_micros({{ iso }})
  {%- else -%}
  cast('{{ iso }}' as timestamp)
  {%- endif -%}
{%- endmacro %}

{% macro oie_timestamp_add(unit, amount, ts) -%}
  {#- Stays a TIMESTAMP on BigQuery: dbt.dateadd would give a DATETIME there. -#}
  {{ return(adapter.dispatch('oie_timestamp_add', 'oie')(unit, amount, ts)) }}
{%- endmacro %}
{% macro default__oie_timestamp_add(unit, amount, ts) -%}
  ({{ ts }} + cast({{ amount }} as bigint) * interval 1 {{ unit }})
{%- endmacro %}
{% macro bigquery__oie_timestamp_add(unit, amount, ts) -%}
  timestamp_add({{ ts }}, interval cast({{ amount }} as int64) {{ unit }})
{%- endmacro %}

{% macro oie_millis_between(start_ts, end_ts) -%}
  {{ return(adapter.dispatch('oie_millis_between', 'oie')(start_ts, end_ts)) }}
{%- endmacro %}
{% macro default__oie_millis_between(start_ts, end_ts) -%}
  (epoch_ms({{ end_ts }}) - epoch_ms({{ start_ts }}))
{%- endmacro %}
{% macro bigquery__oie_millis_between(start_ts, end_ts) -%}
  timestamp_diff({{ end_ts }}, {{ start_ts }}, millisecond)
{%- endmacro %}

{% macro oie_now() -%}
  {{ return(adapter.dispatch('oie_now', 'oie')()) }}
{%- endmacro %}
{% macro default__oie_now() -%}
  cast(current_timestamp at time zone 'UTC' as timestamp)
{%- endmacro %}
{% macro bigquery__oie_now() -%}
  current_timestamp()
{%- endmacro %}

{% macro oie_as_of(as_of_var) -%}
  {#- The scoring clock: a fixed instant when set (reproducible), else now. -#}
  {%- if as_of_var -%}{{ oie_timestamp_literal(as_of_var) }}{%- else -%}{{ oie_now() }}{%- endif -%}
{%- endmacro %}

{% macro oie_url_path(url) -%}
  {#- Lowercased path of an absolute URL ('/' when empty). -#}
  {{ return(adapter.dispatch('oie_url_path', 'oie')(url)) }}
{%- endmacro %}
{% macro default__oie_url_path(url) -%}
  coalesce(nullif(lower(regexp_extract({{ url }}, '^[A-Za-z][A-Za-z0-9+.-]*://[^/?#]*([^?#]*)', 1)), ''), '/')
{%- endmacro %}
{% macro bigquery__oie_url_path(url) -%}
  coalesce(nullif(lower(regexp_extract({{ url }}, r'^[A-Za-z][A-Za-z0-9+.-]*://[^/?#]*([^?#]*)')), ''), '/')
{%- endmacro %}

{% macro oie_bool_or(expr) -%}
  {{ return(adapter.dispatch('oie_bool_or', 'oie')(expr)) }}
{%- endmacro %}
{% macro default__oie_bool_or(expr) -%}
  coalesce(bool_or({{ expr }}), false)
{%- endmacro %}
{% macro bigquery__oie_bool_or(expr) -%}
  coalesce(logical_or({{ expr }}), false)
{%- endmacro %}

{% macro oie_bool_and(expr) -%}
  {{ return(adapter.dispatch('oie_bool_and', 'oie')(expr)) }}
{%- endmacro %}
{% macro default__oie_bool_and(expr) -%}
  coalesce(bool_and({{ expr }}), true)
{%- endmacro %}
{% macro bigquery__oie_bool_and(expr) -%}
  coalesce(logical_and({{ expr }}), true)
{%- endmacro %}

{% macro oie_arg_min(value, order_by) -%}
  {#- The value on the row with the smallest order_by (ties: any). -#}
  {{ return(adapter.dispatch('oie_arg_min', 'oie')(value, order_by)) }}
{%- endmacro %}
{% macro default__oie_arg_min(value, order_by) -%}
  arg_min({{ value }}, {{ order_by }})
{%- endmacro %}
{% macro bigquery__oie_arg_min(value, order_by) -%}
  any_value({{ value }} having min {{ order_by }})
{%- endmacro %}

{% macro oie_arg_max(value, order_by) -%}
  {{ return(adapter.dispatch('oie_arg_max', 'oie')(value, order_by)) }}
{%- endmacro %}
{% macro default__oie_arg_max(value, order_by) -%}
  arg_max({{ value }}, {{ order_by }})
{%- endmacro %}
{% macro bigquery__oie_arg_max(value, order_by) -%}
  any_value({{ value }} having max {{ order_by }})
{%- endmacro %}

{% macro oie_median(expr) -%}
  {#- The exact median of the group's non-null values as a float (the mean of the two middle
      ones for an even count), null when there is none. BigQuery has no median aggregate:
      the group's values are collected into an array and percentile_cont runs over it. -#}
  {{ return(adapter.dispatch('oie_median', 'oie')(expr)) }}
{%- endmacro %}
{% macro default__oie_median(expr) -%}
  cast(median({{ expr }}) as double)
{%- endmacro %}
{% macro bigquery__oie_median(expr) -%}
  (select percentile_cont(median_value, 0.5) over () from unnest(array_agg({{ expr }} ignore nulls)) as median_value limit 1)
{%- endmacro %}

{% macro oie_string_agg_distinct(expr, order_limit=20) -%}
  {#- Up to order_limit distinct values, sorted, comma-separated. -#}
  {{ return(adapter.dispatch('oie_string_agg_distinct', 'oie')(expr, order_limit)) }}
{%- endmacro %}
{% macro default__oie_string_agg_distinct(expr, order_limit) -%}
  array_to_string(list_slice(list_sort(list_distinct(list({{ expr }}))), 1, {{ order_limit }}), ', ')
{%- endmacro %}
{% macro bigquery__oie_string_agg_distinct(expr, order_limit) -%}
  string_agg(distinct {{ expr }}, ', ' order by {{ expr }} limit {{ order_limit }})
{%- endmacro %}

{% macro oie_json_object(pairs) -%}
  {#- pairs: list of (key, sql expression); builds a JSON object as text. -#}
  {{ return(adapter.dispatch('oie_json_object', 'oie')(pairs)) }}
{%- endmacro %}
{% macro default__oie_json_object(pairs) -%}
  cast(json_object({% for key, expr in pairs %}'{{ key }}', {{ expr }}{% if not loop.last %}, {% endif %}{% endfor %}) as varchar)
{%- endmacro %}
{% macro bigquery__oie_json_object(pairs) -%}
  to_json_string(struct({% for key, expr in pairs %}{{ expr }} as {{ key }}{% if not loop.last %}, {% endif %}{% endfor %}))
{%- endmacro %}

{% macro oie_hash(expr) -%}
  {#- Lowercase hex md5: deterministic ids that match across engines. -#}
  {{ dbt.hash(expr) }}
{%- endmacro %}

{% macro oie_like_any(expr, patterns) -%}
  {#- True when expr matches any LIKE pattern (case-insensitive); false for an empty list. -#}
  {%- if patterns | length == 0 -%}
    false
  {%- else -%}
    ({% for p in patterns %}lower({{ expr }}) like '{{ p | lower | replace("'", "''") }}'{% if not loop.last %} or {% endif %}{% endfor %})
  {%- endif -%}
{%- endmacro %}

{% macro oie_starts_with_any(expr, prefixes) -%}
  {%- if prefixes | length == 0 -%}
    false
  {%- else -%}
    ({% for p in prefixes %}starts_with({{ expr }}, '{{ p | replace("'", "''") }}'){% if not loop.last %} or {% endif %}{% endfor %})
  {%- endif -%}
{%- endmacro %}

{% macro oie_recency_points(tiers, older_points, as_of) -%}
  {#- Recency points of a lead at `as_of` (docs/design.md): the first tier [max hours, points]
      its last activity falls in, else older_points; 0 for internal leads and leads never
      active. The model passes its own var() values so unit tests can override them. -#}
  case when is_internal_lead or last_activity_at is null then 0
  {%- for max_hours, points in tiers %} when {{ oie_millis_between('last_activity_at', as_of) }} <= {{ (max_hours * 3600000) | int }} then {{ points }}{% endfor %} else {{ older_points }} end
{%- endmacro %}

{% macro oie_unnest_list(list_text, relation, column) -%}
  {#- A comma-separated list (oie_string_agg_distinct) as rows: `relation.column`, one per
      item, for a CROSS JOIN. A null list gives no rows. -#}
  {{ return(adapter.dispatch('oie_unnest_list', 'oie')(list_text, relation, column)) }}
{%- endmacro %}
{% macro default__oie_unnest_list(list_text, relation, column) -%}
  unnest(string_split({{ list_text }}, ', ')) as {{ relation }} ({{ column }})
{%- endmacro %}
{% macro bigquery__oie_unnest_list(list_text, relation, column) -%}
  unnest(split({{ list_text }}, ', ')) as {{ column }}
{%- endmacro %}
{% macro oie_unnested(relation, column) -%}
  {#- How to name an item of oie_unnest_list: BigQuery's UNNEST alias is the value itself. -#}
  {{- column if target.type == 'bigquery' else relation ~ '.' ~ column -}}
{%- endmacro %}

{% macro oie_materialized_cte() -%}
  {#- `as materialized (...)` on DuckDB: a CTE that several branches read is computed once
      (its expressions too), where DuckDB would otherwise materialize an earlier, narrower
      step and recompute the rest per reader. BigQuery has no such hint. -#}
  {{ return(adapter.dispatch('oie_materialized_cte', 'oie')()) }}
{%- endmacro %}
{% macro default__oie_materialized_cte() -%}{%- endmacro %}
{% macro duckdb__oie_materialized_cte() -%}materialized{%- endmacro %}

{% macro oie_inlined_cte() -%}
  {#- `as not materialized (...)` on DuckDB: a CTE that several branches read is recomputed
      by each of them rather than stored once, for a wide CTE whose readers are cheap to
      repeat. BigQuery has no such hint (it inlines CTEs). -#}
  {{ return(adapter.dispatch('oie_inlined_cte', 'oie')()) }}
{%- endmacro %}
{% macro default__oie_inlined_cte() -%}{%- endmacro %}
{% macro duckdb__oie_inlined_cte() -%}not materialized{%- endmacro %}

{% macro oie_fingerprint(expr) -%}
  {#- A 64-bit integer hash, for grouping and joining on long strings within one query (never
      stored, never an id: two values may share one). -#}
  {{ return(adapter.dispatch('oie_fingerprint', 'oie')(expr)) }}
{%- endmacro %}
{% macro default__oie_fingerprint(expr) -%}
  hash({{ expr }})
{%- endmacro %}
{% macro bigquery__oie_fingerprint(expr) -%}
  farm_fingerprint({{ expr }})
{%- endmacro %}

{% macro oie_iso_ms(ts) -%}
  {#- A UTC timestamp as `2026-11-30T10:00:00.000Z`, the contracts' text form. -#}
  {{ return(adapter.dispatch('oie_iso_ms', 'oie')(ts)) }}
{%- endmacro %}
{% macro default__oie_iso_ms(ts) -%}
  strftime({{ ts }}, '%Y-%m-%dT%H:%M:%S.%gZ')
{%- endmacro %}
{% macro bigquery__oie_iso_ms(ts) -%}
  format_timestamp('%Y-%m-%dT%H:%M:%E3SZ', {{ ts }}, 'UTC')
{%- endmacro %}
