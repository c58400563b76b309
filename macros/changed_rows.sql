{#- Writing by difference: an incremental model whose result depends on every stored row
    (a ranking over all of a lead's visitors, a token seen on many visitors) is recomputed
    whole on every run, but only what changed is written. Writing a table of a million rows
    costs more than computing it (1.5-2.3 s against 0.5 s at 10M events on DuckDB), and on
    BigQuery a merge of the few changed rows replaces a rewrite of the table.

    The model selects `oie_changed_rows(...)` on an incremental run and carries the post-hook
    `oie_delete_vanished_rows(...)`: a row whose key the fresh result no longer has (an
    expired visitor, a forgotten lead) comes out as a marker - its key, every other column
    null - which the unique-key write puts in place of the stored row and the post-hook then
    deletes. The result after the post-hook is the fresh result, row for row. -#}

{% macro oie_changed_rows(fresh, key, columns, stored_filter=none, carried=[], also_changed=none) -%}
  {#- The rows of the CTE `fresh` that are new or differ (null-safe) from this model's stored
      row of the same `key`, and a marker for each stored key `fresh` lacks. `columns` are
      the compared columns besides the key; the first one must never be null in `fresh`
      (the marker's null in it is what oie_delete_vanished_rows looks for).
      `stored_filter` (a condition on the stored row, aliased `stored`) narrows the stored
      rows to those `fresh` was computed for: a model that recomputes only the keys a run
      touched compares only those, so an untouched row does not read as vanished.
      `carried` columns are written with the row but do not make it change on their own;
      `also_changed` is an extra condition (on `fresh` and `stored`) that does. -#}
    select
        coalesce({{ fresh }}.{{ key }}, stored.{{ key }}) as {{ key }},
        {%- for column in columns + carried %}
        {{ fresh }}.{{ column }}{{ ',' if not loop.last }}
        {%- endfor %}
    from {{ fresh }}
    full outer join {% if stored_filter %}(
        select * from {{ this }} as stored
        where {{ stored_filter }}
    ){% else %}{{ this }}{% endif %} as stored on {{ fresh }}.{{ key }} = stored.{{ key }}
    where
        {{ fresh }}.{{ key }} is null
        or stored.{{ key }} is null
        {%- for column in columns %}
        or {{ fresh }}.{{ column }} is distinct from stored.{{ column }}
        {%- endfor %}
        {%- if also_changed %}
        or ({{ also_changed }})
        {%- endif %}
{%- endmacro %}

{% macro oie_delete_vanished_rows(marker_column) -%}
  {#- The post-hook that removes the markers oie_changed_rows wrote (nothing on a full
      build, which writes no markers). -#}
  delete from {{ this }} where {{ marker_column }} is null
{%- endmacro %}
