{#- Retention (docs/privacy.md): incremental models keep their rows only for
    oie_raw_retention_days before the scoring clock (oie_as_of, else now), like the raw
    data they come from; a post-hook of each such model deletes the rest. -#}

{% macro oie_retention_cutoff() -%}
  {{ oie_timestamp_add('day', -1 * var('oie_raw_retention_days') | int, oie_as_of(var('oie_as_of'))) }}
{%- endmacro %}

{% macro oie_expire_rows(column) -%}
  delete from {{ this }} where {{ column }} < {{ oie_retention_cutoff() }}
{%- endmacro %}
