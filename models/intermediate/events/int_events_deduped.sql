{{
    config(
        materialized='incremental',
        unique_key='event_id',
        incremental_strategy=oie_incremental_strategy(),
        on_schema_change='append_new_columns',
        partition_by=oie_partition_by('event_at'),
        cluster_by=['visitor_id', 'event_type'],
    )
}}

-- Valid events, one row per event_id, typed and unpacked per event type. Incremental on the
-- load time (received_at) minus an overlap window, never on event time: late, out-of-order
-- and concurrently committed events are all still picked up.

{% set watermark = oie_watermark('received_at', var('oie_lookback_minutes')) %}

with

staged as (
    select * from {{ ref('stg_oie__events') }}
    {{ oie_since_watermark(watermark) }}
),

valid as (
    select *
    from staged
    where
        event_id is not null
        and event_at is not null
        and received_at is not null
        and event_type in {{ oie_known_event_types_sql() }}
        and {{ oie_json_is_object('event_data') }}
        and (visitor_id is not null or event_type = 'email_click')
),

ranked as (
    select
        *,
        row_number() over (
            partition by event_id
            order by received_at, event_at, client_sent_at_ms
        ) as copy_rank
    from valid
),

first_copies as (
    select * from ranked
    where
        copy_rank = 1
        {% if oie_is_incremental() %}
        and not exists (
            select 1 from {{ this }} as existing
            where existing.event_id = ranked.event_id
        )
        {% endif %}
),

unpacked as (
    select
        event_id,
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
        {{ oie_url_path('url') }} as url_path,
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
        is_bot_by_collector or {{ oie_like_any('user_agent', var('oie_bot_user_agent_patterns')) }}
            as is_bot,
        {{ oie_starts_with_any('ip', var('oie_internal_ip_prefixes')) }} as is_internal,
        {{ oie_like_any(oie_url_path('url'), var('oie_pricing_url_patterns')) }} as is_pricing_page,
        {{ oie_like_any(oie_url_path('url'), var('oie_case_study_url_patterns')) }}
            as is_case_study_page,
        {{ oie_like_any(oie_url_path('url'), var('oie_product_url_patterns')) }} as is_product_page,
        -- pageview
        case when event_type = 'pageview' then {{ oie_json_str('event_data', 'title') }} end
            as page_title,
        -- scroll_depth and page_exit
        case
            when event_type = 'scroll_depth'
                then {{ oie_safe_int(oie_json_str('event_data', 'depth')) }}
            when event_type = 'page_exit'
                then {{ oie_safe_int(oie_json_str('event_data', 'max_depth')) }}
        end as scroll_depth,
        case when event_type = 'page_exit' then {{ oie_safe_int(oie_json_str('event_data', 'active_ms')) }} end
            as active_ms,
        -- click
        case when event_type = 'click' then {{ oie_json_str('event_data', 'role') }} end as click_role,
        case when event_type = 'click' then {{ oie_json_str('event_data', 'text') }} end as click_text,
        case when event_type = 'click' then {{ oie_json_str('event_data', 'href') }} end as click_href,
        -- forms
        case
            when event_type in ('form_start', 'form_submit')
                then {{ oie_json_str('event_data', 'form_id') }}
        end as form_id,
        case when event_type = 'form_submit' then lower({{ oie_json_str('event_data', 'hems.sha256') }}) end
            as hem_sha256,
        -- video
        case when event_type = 'video' then {{ oie_json_str('event_data', 'action') }} end as video_action,
        case when event_type = 'video' then {{ oie_json_str('event_data', 'src') }} end as video_src,
        case when event_type = 'video' then {{ oie_safe_int(oie_json_str('event_data', 'percent')) }} end
            as video_percent,
        -- email_click (made by /go)
        case
            when event_type = 'email_click'
                then coalesce({{ oie_safe_bool(oie_json_str('event_data', 'scanner')) }}, false)
        end as is_scanner_flagged,
        case when event_type = 'email_click' then {{ oie_json_str('event_data', 'to') }} end as click_to,
        {{ oie_json_to_text('event_data') }} as event_data_json,
        {{ oie_run_timestamp() }} as oie_loaded_at
    from first_copies
)

select * from unpacked
