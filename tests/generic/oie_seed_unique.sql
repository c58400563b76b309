{% test oie_seed_unique(model, column_name) %}
    -- Each value at most once. A repeat stops the build with the value in dbt's error summary:
    -- dbt's own unique test only reports a count, and an analyst editing a seed needs the row.
    -- error() raises on both engines (DuckDB, BigQuery) and only for rows that reach it. The
    -- message quotes with " because '' is no escape in BigQuery ('''...''' is a string there).
    with repeated as (
        select
            cast({{ column_name }} as {{ dbt.type_string() }}) as repeated_value,
            count(*) as copies
        from {{ model }}
        where {{ column_name }} is not null
        group by {{ column_name }}
        having count(*) > 1
    )

    select
        repeated_value,
        copies
    from repeated
    where
        error(concat(
            '{{ model.identifier }}: {{ column_name }} "', repeated_value, '" is on ',
            cast(copies as {{ dbt.type_string() }}), ' rows; keep one'
        )) is null
{% endtest %}
