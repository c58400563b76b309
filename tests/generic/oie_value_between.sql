{% test oie_value_between(model, column_name, min_value, max_value) %}
    -- rows outside [min_value, max_value] fail
    select {{ column_name }}
    from {{ model }}
    where {{ column_name }} < {{ min_value }} or {{ column_name }} > {{ max_value }}
{% endtest %}
