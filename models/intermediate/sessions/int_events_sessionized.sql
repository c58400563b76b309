{{
    config(
        materialized='incremental',
        post_hook="{{ oie_expire_rows('received_at') }}",
        unique_key='event_id',
        oie_delete_floor={'column': 'event_at', 'slack_minutes': 1440},
        partition_by=oie_partition_by('event_at'),
        cluster_by=['visitor_id', 'session_id'],
    )
}}

-- oie_delete_floor: a stored row of an event carries the event's own time, which never
-- changes (the first received copy wins in int_events_deduped); a day of slack all the
-- same. Bounds the delete+insert's delete on DuckDB (macros/incremental.sql).

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
-- so BigQuery prunes partitions. Retention can cut into a session (below): its visitor is
-- re-sessionized from that session on, read as a second, disjoint scope.

{#- Retention cut into a session when it deleted some of its lines and kept others: the
    session's start and id may describe a deleted event, so its visitor is re-sessionized
    from that session on, as a full build would see what is left. -#}
{#- one query for the watermarks and the cut sessions (a table built before
    session_first_received_at is written whole once) -#}
{% set stored = oie_stored_cut('oie_loaded_at', 'received_at', 'session_first_received_at', 'received_at', {
    'cut_low': ['min', 'session_started_at'],
    'cut_high': ['max', 'event_at'],
}) %}
{% set cut = stored['cut'] %}
{% set loaded = stored['loaded'] %}
{% set received = stored['received'] %}
{% set cut_low = stored['cut_low'] %}

{% if loaded %}
{#- the kept lines of the cut sessions: their event times lie between the bounds (a session
    starts at or before each of its events), so BigQuery reads only those partitions -#}
{%- set cut_rows = cut ~ ' and ' ~ oie_between_instants('event_at', cut_low, stored['cut_high']) -%}
{%- set cut_listed = oie_listed_visitors(
    'select distinct visitor_id from ' ~ this ~ ' where ' ~ cut_rows,
    var('oie_session_cut_max_listed')
) if cut_low else none -%}
{%- set cut_in = cut_listed or '(select cut_visitors.visitor_id from cut_visitors)' -%}
{%- set rebuild_points = oie_session_rebuild_points(loaded, received) -%}
{%- set rebuild_floor = oie_query_instant(
    'min(rebuild_from)',
    'from (' ~ rebuild_points ~ ' select rebuild_from from rebuild_points) as points'
) if execute else none -%}
{{ rebuild_points }},
{% if cut_low %}
{%- if not cut_listed %}

cut_visitors as (
    select distinct visitor_id
    from {{ this }}
    where {{ cut_rows }}
),
{%- endif %}

cut_points as (
    -- a cut visitor is re-sessionized from its cut session's stored start on
    select
        visitor_id,
        min(session_started_at) as rebuild_from
    from {{ this }}
    where
        {{ cut_rows }}
        and visitor_id in {{ cut_in }}
    group by visitor_id
),

all_points as (
    select
        visitor_id,
        min(rebuild_from) as rebuild_from
    from (
        select
            visitor_id,
            rebuild_from
        from rebuild_points
        union all
        select
            visitor_id,
            rebuild_from
        from cut_points
    ) as points
    group by visitor_id
),
{% endif %}
{% set points = 'all_points' if cut_low else 'rebuild_points' %}
{% set visitor_columns = ['event_id', 'visitor_id', 'event_at', 'event_type', 'received_at', 'oie_loaded_at'] %}

{% set scopes = oie_session_scopes('events.event_at', 'events.visitor_id', rebuild_floor, cut_low, cut_in) %}

visitor_events as (
    {%- for scope in scopes %}
    {%- if not loop.first %}

    union all
    {% endif %}
    select events.{{ visitor_columns | join(', events.') }}
    from {{ ref('int_events_deduped') }} as events
    inner join {{ points }} as points on events.visitor_id = points.visitor_id
    where
        events.rejection_reason is null
        and events.event_type != 'email_click'
        and events.event_at >= points.rebuild_from
        and {{ scope }}
    {%- endfor %}
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

-- The session's earliest receive time, on each of its rows: once retention has deleted
-- lines by receive time, a kept row with this before the cutoff marks a session it cut into.
-- DuckDB: a group and a join, a third of the cost of a window over each session; BigQuery
-- evaluates a CTE once per reference, so there a window.
{%- if target.type != 'bigquery' %}
session_receipts as (
    select
        session_id,
        min(received_at) as session_first_received_at
    from with_session
    group by session_id
),
{%- endif %}

sessioned as (
    select
        with_session.event_id,
        with_session.session_id,
        with_session.visitor_id,
        with_session.event_at,
        with_session.session_started_at,
        with_session.visitor_pageviews - with_session.pageviews_before_session as page_view_index,
        with_session.received_at,
        {%- if target.type == 'bigquery' %}
        min(with_session.received_at) over (partition by with_session.session_id) as session_first_received_at,
        {%- else %}
        session_receipts.session_first_received_at,
        {%- endif %}
        with_session.oie_loaded_at
    from with_session
    {% if target.type != 'bigquery' %}
    inner join session_receipts on with_session.session_id = session_receipts.session_id
    {% endif %}
)

select
    event_id,
    session_id,
    visitor_id,
    event_at,
    session_started_at,
    page_view_index,
    received_at,
    session_first_received_at,
    oie_loaded_at,
    {{ oie_run_timestamp() }} as oie_sessionized_at
from sessioned
