{{ config(materialized='view') }}

-- One row per event, deduplicated on event_id, with the canonical session and the lead the
-- visitor is stitched to (identity is re-resolved on every build, so a form submitted
-- today attributes the visitor's earlier events too). Email clicks have no session.

with

identity as (
    select
        identifier as visitor_id,
        lead_id
    from {{ ref('identity_map') }}
    where identifier_type = 'visitor' and is_linked
),

token_leads as (
    select
        identifier as token,
        lead_id
    from {{ ref('identity_map') }}
    where identifier_type = 'token'
),

browser_events as (
    select
        event_id,
        event_type,
        event_at,
        received_at,
        session_id,
        visitor_id,
        client_session_id,
        token,
        token_valid,
        url,
        url_path,
        referrer,
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
        cast(null as {{ dbt.type_boolean() }}) as is_scanner_flagged,
        device,
        browser,
        os,
        country,
        region,
        city,
        is_bot,
        is_internal,
        event_data_json
    from {{ ref('int_events_sessionized') }}
),

click_events as (
    select
        event_id,
        event_type,
        event_at,
        received_at,
        cast(null as {{ dbt.type_string() }}) as session_id,
        visitor_id,
        client_session_id,
        token,
        token_valid,
        url,
        url_path,
        referrer,
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
        is_scanner_flagged,
        device,
        browser,
        os,
        country,
        region,
        city,
        is_bot,
        is_internal,
        event_data_json
    from {{ ref('int_events_deduped') }}
    where event_type = 'email_click'
),

all_events as (
    select * from browser_events
    union all
    select * from click_events
)

select
    all_events.event_id,
    all_events.event_type,
    all_events.event_at,
    all_events.received_at,
    all_events.session_id,
    all_events.visitor_id,
    coalesce(identity.lead_id, case when all_events.event_type = 'email_click' then token_leads.lead_id end)
        as lead_id,
    all_events.client_session_id,
    all_events.token,
    all_events.token_valid,
    all_events.url,
    all_events.url_path,
    all_events.referrer,
    all_events.page_title,
    all_events.scroll_depth,
    all_events.active_ms,
    all_events.click_role,
    all_events.click_text,
    all_events.click_href,
    all_events.form_id,
    all_events.hem_sha256,
    all_events.video_action,
    all_events.video_src,
    all_events.video_percent,
    all_events.is_scanner_flagged,
    all_events.device,
    all_events.browser,
    all_events.os,
    all_events.country,
    all_events.region,
    all_events.city,
    all_events.is_bot,
    all_events.is_internal,
    all_events.event_data_json
from all_events
left join identity on all_events.visitor_id = identity.visitor_id
left join token_leads on all_events.token = token_leads.token
