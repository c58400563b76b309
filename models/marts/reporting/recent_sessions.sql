{{ config(materialized='view') }}

-- Human sessions of the last oie_recent_days days (before oie_as_of), with who the visitor
-- is when known: the "who was on the site this week" list. Bot, internal and quarantined
-- sessions are left out (the sessions mart keeps them, flagged).

{% set as_of = oie_as_of(var('oie_as_of')) %}

with

profiles as (
    select * from {{ ref('lead_profiles') }}
)

select
    sessions.session_id,
    sessions.visitor_id,
    sessions.lead_id,
    profiles.first_name,
    profiles.last_name,
    profiles.company,
    profiles.campaign_id,
    profiles.campaign_name,
    profiles.engagement_level,
    sessions.started_at,
    sessions.ended_at,
    sessions.duration_s,
    sessions.active_s,
    sessions.pageviews,
    sessions.entry_page,
    sessions.exit_page,
    sessions.pages_seen,
    sessions.viewed_pricing,
    sessions.forms_submitted,
    sessions.engagement_score,
    sessions.device,
    sessions.country
from {{ ref('sessions') }} as sessions
left join profiles on sessions.lead_id = profiles.lead_id
where
    not sessions.is_bot
    and not sessions.is_internal
    and not sessions.is_quarantined
    and sessions.started_at >= {{ oie_timestamp_add('day', -1 * var('oie_recent_days'), as_of) }}
    and sessions.started_at <= {{ as_of }}
