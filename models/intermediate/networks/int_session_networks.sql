-- One row per named-network session in the score window (oie_score_window_days before
-- oie_as_of), human and external only, with its network's class: what the colleague
-- counts of int_lead_networks and the company_activity mart read. A session's own
-- user_type or connection_type wins over its network's class (docs/warehouse.md
-- "Companies from networks"). Rebuilt whole each run; the window bounds its size.

{% set as_of = oie_as_of(var('oie_as_of')) %}
{% set window_start = oie_timestamp_add('day', -1 * var('oie_score_window_days'), as_of) %}

select
    sessions.session_id,
    sessions.visitor_id,
    visitor_leads.lead_id,
    sessions.started_at,
    sessions.ended_at,
    networks.network_org,
    networks.ip_domain,
    {{ oie_session_network_class('sessions', 'networks.network_class') }} as network_class,
    sessions.pricing_views,
    sessions.case_study_views,
    sessions.product_views
from {{ ref('int_sessions') }} as sessions
inner join {{ ref('int_networks') }} as networks
    on coalesce(sessions.ip_org, sessions.as_org) = networks.network_org
left join {{ ref('int_visitor_leads') }} as visitor_leads on sessions.visitor_id = visitor_leads.visitor_id
where
    not sessions.is_bot
    and not sessions.is_internal
    and not sessions.is_quarantined
    and sessions.started_at >= {{ window_start }}
    and sessions.started_at <= {{ as_of }}
