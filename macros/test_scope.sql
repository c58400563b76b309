{#- Where data tests look: every row (CI, the nightly full check, any plain `dbt build`) or
    only the rows this run wrote (the scheduled run, docs/warehouse.md "Scheduled runs and
    the full check").

    The switch is the environment variable DBT_OIE_TEST_SCOPE (`new` or `all`, default
    `all`), read at run time only: a dbt var would change the parse checksum and force a full
    re-parse on every switch, and an env_var read at parse time would do the same. A model
    or snapshot opts in by naming the column its runs stamp in
    `meta: {oie_new_rows: <column>}`; in scope `new` its tests read only rows whose stamp is
    this invocation's oie_run_timestamp(). Models without it (small, rebuilt whole) are
    tested whole. The other side of a relationships test is never filtered. -#}

{% macro default__get_where_subquery(relation) -%}
  {%- set where = config.get('where', '') -%}
  {#- Nothing but dbt's builtins before `execute`: a partial parse re-renders tests in a
      namespace that may not hold this project's newly added macros yet. -#}
  {%- set stamp = oie_new_rows_column(relation) if execute else none -%}
  {%- if stamp -%}
    {%- set new_rows = stamp ~ ' >= ' ~ oie_run_timestamp() -%}
    {%- set where = '(' ~ where ~ ') and ' ~ new_rows if where else new_rows -%}
  {%- endif -%}
  {%- if where -%}
    {%- set filtered -%}
      (select * from {{ relation }} where {{ where }}) dbt_subquery
    {%- endset -%}
    {{ return(filtered) }}
  {%- endif -%}
  {{ return(relation) }}
{%- endmacro %}

{% macro oie_test_scope() -%}
  {#- 'new' or 'all'; anything else stops the run rather than silently testing less. -#}
  {%- if not execute -%}
    {{ return('all') }}
  {%- endif -%}
  {%- set scope = env_var('DBT_OIE_TEST_SCOPE', 'all') | trim | lower -%}
  {%- if scope not in ('new', 'all') -%}
    {{ exceptions.raise_compiler_error("DBT_OIE_TEST_SCOPE must be 'new' or 'all', not '" ~ scope ~ "'") }}
  {%- endif -%}
  {{ return(scope) }}
{%- endmacro %}

{% macro oie_new_rows_column(relation) -%}
  {#- The stamp column of the model behind `relation` when tests are scoped to new rows. -#}
  {%- if oie_test_scope() != 'new' or relation.identifier is not defined -%}
    {{ return(none) }}
  {%- endif -%}
  {#- this project's models and snapshots are named as their relations (no aliases) -#}
  {%- set node = graph.nodes.get('model.' ~ project_name ~ '.' ~ relation.identifier)
      or graph.nodes.get('snapshot.' ~ project_name ~ '.' ~ relation.identifier) -%}
  {%- if node is none or node.schema != relation.schema -%}
    {{ return(none) }}
  {%- endif -%}
  {{ return(node.config.meta.get('oie_new_rows')) }}
{%- endmacro %}
