{{
    config(
        materialized='incremental',
        post_hook="{{ oie_expire_rows('received_at') }}",
        unique_key='event_id',
        partition_by=oie_partition_by('event_at'),
        cluster_by=['visitor_id', 'session_id'],
    )
}}

-- The warehouse's canonical session of every browser event (a narrow table: event_id ->
-- session; the event itself stays in int_events_deduped). A new session starts after a gap
-- of more than oie_session_timeout_minutes (exactly 30:00 stays in the session). The session
-- id is a hash of the visitor and the session's first event, so it is stable run after run.
-- Incremental: for each visitor with newly loaded events, the run re-sessionizes from the
-- start of the session its first new event can join (the session of its last earlier event,
-- when that is within the timeout) or else from the new event itself. Nothing earlier can
-- change, so a late event that bridges two sessions merges them, one in a gap forms its own,
-- and sessions are never built from half their events. Every read is bounded by a constant
-- event time (oie_event_floor, and the earliest rebuild point read before the model runs),
-- so BigQuery prunes partitions.

{% set loaded = oie_watermark('oie_loaded_at') %}
{% set received = oie_watermark('received_at', var('oie_lookback_minutes')) %}

{% if loaded %}
{%- set rebuild_points = oie_session_rebuild_points(loaded, received) -%}
{%- set rebuild_floor = oie_query_instant(
    'min(rebuild_from)',
    'from (' ~ rebuild_points ~ ' select rebuild_from from rebuild_points) as points'
) if execute else none -%}
{{ rebuild_points }},

visitor_events as (
    select
        events.event_id,
        events.visitor_id,
        events.event_at,
        events.event_type,
        events.received_at,
        events.oie_loaded_at
    from {{ ref('int_events_deduped') }} as events
    inner join rebuild_points on events.visitor_id = rebuild_points.visitor_id
    where
        events.rejection_reason is null
        and events.event_type != 'email_click'
        and events.event_at >= rebuild_points.rebuild_from
        and {{ oie_at_or_after('events.event_at', rebuild_floor) }}
),
{% else %}
with

visitor_events as (
    select
        event_id,
        visitor_id,
        event_at,
        event_type,
        received_at,
        oie_loaded_at
    from {{ ref('int_events_deduped') }}
    where rejection_reason is null and event_type != 'email_click'
),
{% endif %}

-- The windows sort only ids and times: the wide event rows stay in int_events_deduped.
timeline as (
    select
        event_id,
        visitor_id,
        event_at,
        received_at,
        oie_loaded_at,
        case when event_type = 'pageview' then 1 else 0 end as is_pageview
    from visitor_events
),

-- Two window passes over the narrow rows, sharing one sort each: the gap to the previous
-- event with the visitor's running page-view count, then the session's id, start and
-- page-view offset carried forward from its first row (hashed there only, once a session).
with_gaps as (
    select
        *,
        lag(event_at) over (
            partition by visitor_id order by event_at, event_id
        ) as previous_event_at,
        sum(is_pageview) over (
            partition by visitor_id order by event_at, event_id
            rows between unbounded preceding and current row
        ) as visitor_pageviews
    from timeline
),

session_starts as (
    select
        *,
        case
            when previous_event_at is null then 1
            when
                {{ oie_millis_between('previous_event_at', 'event_at') }}
                > {{ var('oie_session_timeout_minutes') }} * 60000
                then 1
            else 0
        end as is_session_start
    from with_gaps
),

session_heads as (
    select
        *,
        case
            when is_session_start = 1 then {{ oie_hash("visitor_id || '|' || event_id") }}
        end as head_session_id,
        case when is_session_start = 1 then event_at end as head_started_at,
        case when is_session_start = 1 then visitor_pageviews - is_pageview end as head_pageviews_before
    from session_starts
),

with_session as (
    select
        *,
        last_value(head_session_id ignore nulls) over (
            partition by visitor_id order by event_at, event_id
            rows between unbounded preceding and current row
        ) as session_id,
        last_value(head_started_at ignore nulls) over (
            partition by visitor_id order by event_at, event_id
            rows between unbounded preceding and current row
        ) as session_started_at,
        last_value(head_pageviews_before ignore nulls) over (
            partition by visitor_id order by event_at, event_id
            rows between unbounded preceding and current row
        ) as pageviews_before_session
    from session_heads
),

sessioned as (
    select
        event_id,
        session_id,
        visitor_id,
        event_at,
        session_started_at,
        visitor_pageviews - pageviews_before_session as page_view_index,
        received_at,
        oie_loaded_at
    from with_session
)

select
    event_id,
    session_id,
    visitor_id,
    event_at,
    session_started_at,
    page_view_index,
    received_at,
    oie_loaded_at,
    {{ oie_run_timestamp() }} as oie_sessionized_at
from sessioned
