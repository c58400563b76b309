-- Which companies are reading the site: one row per business network with sessions in the
-- score window (oie_score_window_days before oie_as_of), the account-level signal ("someone
-- on Acme's network read pricing twice today"). Human, external sessions only; ISPs, mobile
-- carriers, clouds, schools and government networks never appear (int_networks). Company
-- level only: an address never names a person (docs/warehouse.md "Companies from networks").

with

sessions as (
    select * from {{ ref('int_session_networks') }}
    where network_class = 'business'
),

activity as (
    select
        network_org,
        max(ip_domain) as ip_domain,
        count(distinct lead_id) as known_leads_seen,
        count(distinct case when lead_id is null then visitor_id end) as anonymous_visitors,
        count(*) as sessions,
        sum(case when lead_id is null then 1 else 0 end) as anonymous_sessions,
        sum(pricing_views) as pricing_views,
        sum(case_study_views) as case_study_views,
        sum(product_views) as product_views,
        max(ended_at) as last_seen_at
    from sessions
    group by network_org
),

matched as (
    select
        lead_networks.network_company as network_org,
        {{ oie_string_agg_distinct('leads.company') }} as matched_companies,
        {{ oie_string_agg_distinct('leads.campaign_id') }} as campaign_ids,
        count(*) as matched_leads
    from {{ ref('int_lead_networks') }} as lead_networks
    inner join {{ ref('stg_oie__leads') }} as leads on lead_networks.lead_id = leads.lead_id
    where lead_networks.network_company is not null
    group by lead_networks.network_company
)

select
    activity.network_org as org,
    activity.ip_domain as domain,
    matched.matched_companies,
    matched.campaign_ids,
    coalesce(matched.matched_leads, 0) as matched_leads,
    activity.known_leads_seen,
    activity.anonymous_visitors,
    activity.sessions,
    activity.anonymous_sessions,
    activity.pricing_views,
    activity.case_study_views,
    activity.product_views,
    activity.last_seen_at,
    {{ oie_as_of(var('oie_as_of')) }} as as_of
from activity
left join matched on activity.network_org = matched.network_org
