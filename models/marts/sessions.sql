{{ config(materialized='view') }}

-- One row per session (docs/design.md columns first), with the lead the visitor is stitched
-- to. Bot, internal and quarantined (over-long) sessions stay visible here, flagged; scoring
-- ignores them. A view, like events: identity is re-resolved on every build, so a form
-- submitted today attributes the visitor's earlier sessions too, and a scheduled run
-- writes only the sessions its new events touch (int_sessions). Network fields are those
-- of the session's first event; network_class comes from int_networks (docs/warehouse.md
-- "Companies from networks").

with

classified as (
    select
        s.session_id,
        s.visitor_id,
        visitor_leads.lead_id,
        s.started_at,
        s.ended_at,
        s.duration_s,
        s.active_s,
        s.entry_page,
        s.exit_page,
        s.pageviews,
        s.clicks,
        s.max_scroll_depth,
        s.forms_started,
        s.forms_submitted,
        s.videos_played,
        s.viewed_pricing,
        s.viewed_case_study,
        s.viewed_product,
        s.device,
        s.browser,
        s.os,
        s.country,
        s.engagement_score,
        s.videos_completed,
        s.pricing_views,
        s.case_study_views,
        s.product_views,
        s.careers_views,
        s.deep_pageviews,
        s.pages_seen,
        s.mean_cursor_jitter,
        s.median_reading_wpm,
        s.events,
        s.client_sessions,
        s.first_token,
        s.is_bot,
        s.is_internal,
        s.is_quarantined,
        s.asn,
        s.as_org,
        s.ip_org,
        s.ip_domain,
        s.ip_connection_type,
        s.ip_user_type,
        networks.network_org,
        -- the session's own user_type / connection_type first, then its network's class
        {{ oie_session_network_class('s', 'networks.network_class') }} as network_class,
        s.oie_sessionized_at as oie_updated_at
    from {{ ref('int_sessions') }} as s
    left join {{ ref('int_visitor_leads') }} as visitor_leads on s.visitor_id = visitor_leads.visitor_id
    left join {{ ref('int_networks') }} as networks on coalesce(s.ip_org, s.as_org) = networks.network_org
)

select
    *,
    -- a cloud or CDN address: a script, a crawler or a VPN, rarely a reader
    network_class = 'hosting' as is_bot_suspect
from classified
