{#- Retention (docs/privacy.md): incremental models keep their rows only for
    oie_raw_retention_days before the scoring clock (oie_as_of, else now), like the raw
    data they come from; a post-hook of each such model deletes the rest. -#}

{% macro oie_retention_cutoff() -%}
  {{ oie_timestamp_add('day', -1 * var('oie_raw_retention_days') | int, oie_as_of(var('oie_as_of'))) }}
{%- endmacro %}

{% macro oie_expire_rows(column) -%}
  delete from {{ this }} where {{ column }} < {{ oie_retention_cutoff() }}
{%- endmacro %}

{% macro oie_listed_visitors(visitors_sql, most) -%}
  {#- The visitors `visitors_sql` selects (one column), as an SQL list of constants
      ('a', 'b'), so BigQuery reads only their clustered blocks; none when there are more
      than `most` (a shortened retention, say) or none at all: the caller then reads them by
      a subquery. Pixel ids are [0-9A-Za-z_-] (the ingest function checks them); a list
      with anything else is read by subquery too, never quoted into the SQL. In the offline
      compile check, a placeholder list. -#}
  {%- if var('oie_offline_compile', none) == 'incremental' -%}
    {{ return("('offline0placeholder')") }}
  {%- endif -%}
  {%- set listed = run_query(visitors_sql ~ ' limit ' ~ (most | int + 1)).columns[0].values() | list -%}
  {%- if listed and listed | length <= most | int
      and modules.re.fullmatch('[0-9A-Za-z_,-]+', listed | join(',')) -%}
    {{ return("('" ~ listed | join("', '") ~ "')") }}
  {%- endif -%}
  {{ return(none) }}
{%- endmacro %}

{% macro oie_stored_cut(loaded, received, first_received, kept_received, bounds) -%}
  {#- One query over this model's stored rows on an incremental run: its watermarks (max of
      `loaded`; max of `received` less oie_lookback_minutes) and, over the rows retention cut
      into (`first_received` before the cutoff, `kept_received` at or after it: the row
      outlived its first lines), the instants named in `bounds` ({name: [aggregate,
      column]}). Returns {'cut': that predicate, 'loaded', 'received', and each bound}; the
      bounds are none on a run without watermarks. A table built before `first_received`
      existed gives no watermarks, so the model writes it whole once.
      On DuckDB each bound is a subquery filtered by the cut: the rows are stored in load
      order, so zone maps skip every row group retention has not reached (0.05 s for the
      query at 30M events, against 0.13-0.9 s for an aggregate of a CASE over every row).
      BigQuery bills the columns either way, so there one scan takes the CASE. -#}
  {%- set cutoff = oie_retention_cutoff() -%}
  {%- set cut = first_received ~ ' < ' ~ cutoff ~ ' and ' ~ kept_received ~ ' >= ' ~ cutoff -%}
  {%- set instants = {
      'loaded': 'max(' ~ loaded ~ ')',
      'received': oie_timestamp_add('minute', -1 * var('oie_lookback_minutes'), 'max(' ~ received ~ ')'),
  } -%}
  {%- for name, spec in bounds.items() -%}
    {%- do instants.update({name: spec[0] ~ '(case when ' ~ cut ~ ' then ' ~ spec[1] ~ ' end)'
        if target.type == 'bigquery'
        else '(select ' ~ spec[0] ~ '(' ~ spec[1] ~ ') from ' ~ this ~ ' where ' ~ cut ~ ')'}) -%}
  {%- endfor -%}
  {%- set found = oie_query_instants(instants, 'from ' ~ this)
      if oie_stored_has_column(first_received) else {} -%}
  {%- set stored = {'cut': cut, 'loaded': found.get('loaded'), 'received': found.get('received')} -%}
  {%- for name in bounds -%}
    {%- do stored.update({name: found.get(name) if found.get('loaded') else none}) -%}
  {%- endfor -%}
  {{ return(stored) }}
{%- endmacro %}
