{% macro oie_session_rebuild_points(loaded, received) -%}
  {#- `with ... rebuild_points`: for every visitor with events loaded after `loaded` (this
      model's oie_loaded_at watermark), the event time int_events_sessionized re-sessionizes
      from. The model reads it as CTEs, and once before it runs for the earliest point, the
      constant that bounds its read of the visitors' events. Reads are bounded by the event
      floor of lines received after `received`. With no `received` (a table written before
      received_at and session_started_at were stored) touched visitors are rebuilt whole,
      once. -#}
  {%- set timeout_ms = var('oie_session_timeout_minutes') * 60000 -%}
with

new_events as (
    select
        visitor_id,
        event_at
    from {{ ref('int_events_deduped') }}
    where
        rejection_reason is null
        and event_type != 'email_click'
        and visitor_id is not null
        and oie_loaded_at > {{ oie_timestamp_literal(loaded.ts) }}{% if received %}
        and event_at >= {{ oie_event_floor(received.ts) }}{% endif %}
),
{% if not received %}
rebuild_points as (
    select distinct
        visitor_id,
        {{ oie_timestamp_literal('1970-01-01 00:00:00') }} as rebuild_from
    from new_events
)
{%- else %}

touched_visitors as (
    select
        visitor_id,
        min(event_at) as first_new_at
    from new_events
    group by visitor_id
),

earlier_events as (
    -- each touched visitor's last sessionized event before its first new one
    select
        sessioned.visitor_id,
        sessioned.event_at,
        sessioned.session_started_at,
        row_number() over (
            partition by sessioned.visitor_id
            order by sessioned.event_at desc, sessioned.event_id desc
        ) as recency_rank
    from {{ this }} as sessioned
    inner join touched_visitors on sessioned.visitor_id = touched_visitors.visitor_id
    where
        sessioned.event_at < touched_visitors.first_new_at
        -- older ones are more than a timeout before any new event: they cannot be joined
        and sessioned.event_at >= {{ oie_event_floor(received.ts, var('oie_session_timeout_minutes')) }}
),

rebuild_points as (
    select
        touched_visitors.visitor_id,
        case
            when
                earlier_events.event_at is not null
                and {{ oie_millis_between('earlier_events.event_at', 'touched_visitors.first_new_at') }}
                <= {{ timeout_ms }}
                -- a row written before session_started_at was stored: the visitor whole, once
                then coalesce(earlier_events.session_started_at, {{ oie_timestamp_literal('1970-01-01 00:00:00') }})
            else touched_visitors.first_new_at
        end as rebuild_from
    from touched_visitors
    left join earlier_events
        on
            touched_visitors.visitor_id = earlier_events.visitor_id
            and earlier_events.recency_rank = 1
)
{%- endif %}
{%- endmacro %}

{% macro oie_resessionized_floor(loaded, received) -%}
  {#- The earliest start of a session int_events_sessionized wrote after `loaded`, read before
      int_sessions runs: the constant that bounds its reads. Every re-sessionized session
      has an event within a session timeout of a new event, so the lookup itself stays
      above the event floor of lines received after `received`. -#}
  {%- set restamped -%}
    from {{ ref('int_events_sessionized') }}
    where oie_sessionized_at > {{ oie_timestamp_literal(loaded.ts) }}
    {%- if received %}
        and event_at >= {{ oie_event_floor(received.ts, var('oie_session_timeout_minutes')) }}
    {%- endif %}
  {%- endset -%}
  {{ return(oie_query_instant('min(session_started_at)', restamped)) }}
{%- endmacro %}
