-- One row per campaign: reach (clicks, visitors, sessions), heat and conversion.

with

profiles as (
    select * from {{ ref('lead_profiles') }}
),

clicks as (
    select
        campaign_id,
        sum(case when not is_scanner then 1 else 0 end) as email_clicks,
        sum(case when is_scanner then 1 else 0 end) as scanner_clicks
    from {{ ref('email_clicks') }}
    where campaign_id is not null
    group by campaign_id
),

per_campaign as (
    select
        campaign_id,
        min(campaign_name) as campaign_name,
        count(*) as leads,
        sum(case when first_click_at is not null then 1 else 0 end) as leads_clicked,
        sum(case when first_visit_at is not null then 1 else 0 end) as leads_visited,
        sum(visitors) as visitors,
        sum(total_sessions) as sessions,
        sum(case when engagement_level in ('hot', 'burning') then 1 else 0 end) as hot_leads,
        sum(case when engagement_level = 'burning' then 1 else 0 end) as burning_leads,
        sum(case when form_submissions > 0 then 1 else 0 end) as leads_submitted_form,
        sum(case when token_forwarded then 1 else 0 end) as forwarded_tokens,
        avg(intent_score) as avg_intent_score
    from profiles
    group by campaign_id
)

select
    per_campaign.campaign_id,
    per_campaign.campaign_name,
    per_campaign.leads,
    coalesce(clicks.email_clicks, 0) as email_clicks,
    coalesce(clicks.scanner_clicks, 0) as scanner_clicks,
    per_campaign.leads_clicked,
    per_campaign.leads_visited,
    per_campaign.visitors,
    per_campaign.sessions,
    per_campaign.hot_leads,
    per_campaign.burning_leads,
    per_campaign.leads_submitted_form,
    per_campaign.forwarded_tokens,
    round(per_campaign.avg_intent_score, 1) as avg_intent_score,
    round(per_campaign.leads_clicked / nullif(per_campaign.leads * 1.0, 0), 4) as click_rate,
    round(per_campaign.leads_submitted_form / nullif(per_campaign.leads_visited * 1.0, 0), 4)
        as form_conversion_rate
from per_campaign
left join clicks on per_campaign.campaign_id = clicks.campaign_id
