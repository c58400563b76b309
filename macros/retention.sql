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
