{#- Model and column descriptions are written to the warehouse on BigQuery, where analysts
    read them in the console. On DuckDB they stay in `dbt docs`: a COMMENT statement per
    column on every scheduled run cost about a second of each build and nobody reads
    them there. -#}
{% macro duckdb__persist_docs(relation, model, for_relation, for_columns) -%}
{%- endmacro %}
