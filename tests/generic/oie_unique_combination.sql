{% test oie_unique_combination(model, columns) %}
    -- a composite key: each combination of the columns appears once
    select {{ columns | join(', ') }}
    from {{ model }}
    group by {{ columns | join(', ') }}
    having count(*) > 1
{% endtest %}
