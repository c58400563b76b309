{{
    config(
        materialized='incremental',
        unique_key='event_id',
        incremental_strategy=oie_incremental_strategy(),
        on_schema_change='append_new_columns',
        partition_by=oie_partition_by('event_at'),
        cluster_by=['visitor_id', 'session_id'],
    )
}}

-- Browser events with the warehouse's canonical session: a new session starts after a gap
-- of more than oie_session_timeout_minutes (exactly 30:00 stays in the session). Each run
-- re-sessionizes every event of the visitors touched by newly loaded events, so a late
-- event that bridges two sessions merges them and one in a gap forms its own; sessions are
-- never built from half their events. The session id is a hash of the visitor and the
-- session's first event, so it is stable run after run.

{% set watermark = oie_watermark('oie_loaded_at') %}

with

touched_visitors as (
    select distinct visitor_id
    from {{ ref('int_events_deduped') }}
    where
        rejection_reason is null
        and event_type != 'email_click'
        and visitor_id is not null
        {% if watermark %}
        and oie_loaded_at > {{ oie_timestamp_literal(watermark.ts) }}
        {% endif %}
),

visitor_events as (
    select events.*
    from {{ ref('int_events_deduped') }} as events
    inner join touched_visitors
        on events.visitor_id = touched_visitors.visitor_id
    where events.rejection_reason is null and events.event_type != 'email_click'
),

with_gaps as (
    select
        *,
        lag(event_at) over (
            partition by visitor_id order by event_at, event_id
        ) as previous_event_at
    from visitor_events
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

numbered as (
    select
        *,
        sum(is_session_start) over (
            partition by visitor_id order by event_at, event_id
            rows between unbounded preceding and current row
        ) as visitor_session_index
    from session_starts
),

with_session as (
    select
        *,
        first_value(event_id) over (
            partition by visitor_id, visitor_session_index order by event_at, event_id
            rows between unbounded preceding and unbounded following
        ) as session_first_event_id
    from numbered
),

with_page_views as (
    select
        *,
        {{ oie_hash("visitor_id || '|' || session_first_event_id") }} as session_id,
        sum(case when event_type = 'pageview' then 1 else 0 end) over (
            partition by visitor_id, visitor_session_index order by event_at, event_id
            rows between unbounded preceding and current row
        ) as page_view_index
    from with_session
)

select
    event_id,
    session_id,
    visitor_session_index,
    page_view_index,
    event_type,
    event_at,
    received_at,
    client_ts_ms,
    client_sent_at_ms,
    visitor_id,
    client_visitor_id,
    client_session_id,
    token,
    token_valid,
    url,
    url_path,
    referrer,
    pixel_version,
    ip,
    user_agent,
    device,
    browser,
    os,
    country,
    region,
    city,
    asn,
    as_org,
    is_bot,
    is_internal,
    is_pricing_page,
    is_case_study_page,
    is_product_page,
    page_title,
    scroll_depth,
    active_ms,
    click_role,
    click_text,
    click_href,
    form_id,
    hem_sha256,
    video_action,
    video_src,
    video_percent,
    event_data_json,
    oie_loaded_at,
    {{ oie_run_timestamp() }} as oie_sessionized_at
from with_page_views
