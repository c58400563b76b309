{% test oie_seed_accepted_values(model, column_name, values, row_name) %}
    -- Every value one of `values`. An unknown one stops the build naming the value and its row
    -- (row_name: the column that identifies a row, e.g. a seed's pattern); dbt's own
    -- accepted_values test only reports a count. error() raises on DuckDB and BigQuery; the
    -- message quotes with " because '' is no escape in BigQuery.
    with unknown as (
        select
            cast({{ column_name }} as {{ dbt.type_string() }}) as unknown_value,
            cast({{ row_name }} as {{ dbt.type_string() }}) as row_value
        from {{ model }}
        where {{ column_name }} not in ('{{ values | join("', '") }}')
    )

    select
        unknown_value,
        row_value
    from unknown
    where
        error(concat(
            '{{ model.identifier }}: {{ column_name }} "', unknown_value, '" (row {{ row_name }} "',
            coalesce(row_value, 'null'), '") is not one of: {{ values | join(", ") }}'
        )) is null
{% endtest %}
