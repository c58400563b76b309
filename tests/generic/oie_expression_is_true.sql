{% test oie_expression_is_true(model, expression, column_name=none) %}
    -- rows where the expression is false fail; rows where it is null pass (like not_null,
    -- a missing value is another test's business). At column level the expression is
    -- appended to the column: `expression: ">= 0"`.
    select *
    from {{ model }}
    where not ({% if column_name %}{{ column_name }} {% endif %}{{ expression }})
{% endtest %}
