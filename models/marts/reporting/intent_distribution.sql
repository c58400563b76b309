-- Leads per engagement level per campaign, every level present (zero when empty), with
-- each level's share of the campaign's leads: the funnel a sales leader looks at.

with

profiles as (
    select
        campaign_id,
        campaign_name,
        engagement_level
    from {{ ref('lead_profiles') }}
),

campaigns as (
    select
        campaign_id,
        min(campaign_name) as campaign_name,
        count(*) as campaign_leads
    from profiles
    group by campaign_id
),

levels as (
    select
        'cold' as engagement_level,
        1 as level_order
    union all
    select
        'warm' as engagement_level,
        2 as level_order
    union all
    select
        'hot' as engagement_level,
        3 as level_order
    union all
    select
        'burning' as engagement_level,
        4 as level_order
),

counts as (
    select
        campaign_id,
        engagement_level,
        count(*) as leads
    from profiles
    group by campaign_id, engagement_level
)

select
    campaigns.campaign_id,
    campaigns.campaign_name,
    levels.engagement_level,
    levels.level_order,
    coalesce(counts.leads, 0) as leads,
    round(coalesce(counts.leads, 0) / (campaigns.campaign_leads * 1.0), 4) as share_of_leads
from campaigns
cross join levels
left join counts
    on campaigns.campaign_id = counts.campaign_id and levels.engagement_level = counts.engagement_level
