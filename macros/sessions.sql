{% macro oie_session_rebuild_points(loaded, received) -%}
  {#- `with ... rebuild_points`: for every visitor with events loaded after `loaded` (this
      model's oie_loaded_at watermark), the event time int_events_sessionized re-sessionizes
      from. The model reads it as CTEs, and once before it runs for the earliest point, the
      constant that bounds its read of the visitors' events. Reads are bounded by the event
      floor of lines received after `received` (a table written before received_at was
      stored is written whole once: int_events_sessionized finds no watermarks in it). -#}
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
        and oie_loaded_at > {{ oie_timestamp_literal(loaded.ts) }}
        and event_at >= {{ oie_event_floor(received.ts) }}
),

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
                then earlier_events.session_started_at
            else touched_visitors.first_new_at
        end as rebuild_from
    from touched_visitors
    left join earlier_events
        on
            touched_visitors.visitor_id = earlier_events.visitor_id
            and earlier_events.recency_rank = 1
)
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

{% macro oie_session_scopes(event_at, visitor_id, floor, cut_low, cut_in) -%}
  {#- The reads of a run that re-sessionizes, as disjoint predicates to union: events at or
      after the run's floor (its new events' sessions), and, when retention cut into
      sessions, the cut visitors' events from the earliest cut session on below it. Each
      bound is a constant and the visitors are listed, so BigQuery prunes both reads. -#}
  {%- set recent = oie_at_or_after(event_at, floor) -%}
  {%- set scopes = [recent] -%}
  {%- if cut_low -%}
    {%- do scopes.append(visitor_id ~ ' in ' ~ cut_in ~ ' and ' ~ oie_at_or_after(event_at, cut_low)
        ~ ' and not (' ~ recent ~ ')') -%}
  {%- endif -%}
  {{ return(scopes) }}
{%- endmacro %}
