{{ config(materialized='view') }}

-- The SDR's call list: hot and burning leads, hottest first, with why. A suppressed lead
-- (bounced or unsubscribed in the email tool) stays on the list, marked: its activity is
-- real, but nobody should contact it.

select
    lead_id,
    email,
    first_name,
    last_name,
    company,
    title,
    campaign_id,
    campaign_name,
    intent_score,
    engagement_level,
    score_recency,
    score_frequency,
    score_engagement,
    score_high_intent,
    score_conversions,
    last_visit_at,
    last_activity_at,
    total_sessions,
    pricing_page_visits,
    form_submissions,
    pages_seen,
    is_suppressed,
    email_replies,
    row_number() over (order by intent_score desc, last_activity_at desc, lead_id asc) as priority_rank
from {{ ref('lead_profiles') }}
where engagement_level in ('hot', 'burning')
