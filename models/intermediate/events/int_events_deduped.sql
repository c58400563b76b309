{{
    config(
        materialized='incremental',
        unique_key='event_key',
        incremental_strategy=oie_incremental_strategy(),
        on_schema_change='append_new_columns',
        partition_by=oie_partition_by('event_at'),
        cluster_by=['visitor_id', 'event_type'],
    )
}}

-- Every landed line once: valid events one row per event_id (the earliest-received copy),
-- typed and unpacked per event type; lines the warehouse refuses (unknown type, malformed
-- data, missing ids) one row each with their rejection_reason, so the landing files are
-- parsed once per run. Incremental on the load time (received_at) minus an overlap window,
-- never on event time: late, out-of-order and concurrently committed events are all still
-- picked up.

{% set watermark = oie_watermark('received_at', var('oie_lookback_minutes')) %}

with

staged as (
    select * from {{ ref('stg_oie__events') }}
    {{ oie_since_watermark(watermark) }}
),

checked as (
    select
        *,
        case
            when event_id is null then 'missing_event_id'
            when received_at is null then 'missing_received_at'
            when event_at is null then 'missing_event_at'
            when event_type is null or event_type not in {{ oie_known_event_types_sql() }}
                then 'unknown_event_type'
            when not {{ oie_json_is_object('event_data') }} then 'malformed_data'
            when visitor_id is null and event_type != 'email_click' then 'missing_visitor_id'
        end as rejection_reason
    from staged
),

{% set received_text = "cast(received_at as " ~ dbt.type_string() ~ ")" %}
{% set line_identity = "coalesce(event_id, '') || '|' || coalesce(" ~ received_text ~ ", '')" %}
{% set line_identity = line_identity ~ " || '|' || coalesce(" ~ oie_json_to_text('event_data') ~ ", '')" %}

keyed as (
    select
        *,
        case
            when rejection_reason is null then event_id
            else 'refused:' || {{ oie_hash(line_identity) }}
        end as event_key
    from checked
),

ranked as (
    select
        *,
        row_number() over (
            partition by event_key
            order by received_at, event_at, client_sent_at_ms
        ) as copy_rank
    from keyed
),

first_copies as (
    select * from ranked
    where
        copy_rank = 1{% if oie_is_incremental() %}
        and not exists (
            select 1 from {{ this }} as existing
            where existing.event_key = ranked.event_key
        ){% endif %}
),

unpacked as (
    select
        event_key,
        rejection_reason,
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
        -- a missing user agent or ip is not evidence of a bot or an office visit
        is_bot_by_collector
        or coalesce({{ oie_like_any('user_agent', var('oie_bot_user_agent_patterns')) }}, false)
            as is_bot,
        coalesce({{ oie_starts_with_any('ip', var('oie_internal_ip_prefixes')) }}, false) as is_internal,
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
