{% macro oie_day_spine(first_day, last_day) -%}
  {#- A join clause adding one row per calendar day from first_day to last_day (DATEs,
      inclusive) as column spine_day: a daily series without gaps. -#}
  {{ return(adapter.dispatch('oie_day_spine', 'oie')(first_day, last_day)) }}
{%- endmacro %}
{% macro default__oie_day_spine(first_day, last_day) -%}
  cross join generate_series(cast({{ first_day }} as timestamp), cast({{ last_day }} as timestamp), interval 1 day) as spine (spine_day)
{%- endmacro %}
{% macro bigquery__oie_day_spine(first_day, last_day) -%}
  cross join unnest(generate_date_array({{ first_day }}, {{ last_day }})) as spine_day
{%- endmacro %}
