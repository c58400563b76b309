-- One row per campaign per UTC day, from the campaign's first recorded day to its last,
-- days without activity included (zeros): the series a dashboard charts. Clicks by
-- clicked_at, sessions by started_at (human, external, non-quarantined sessions of the
-- campaign's leads: int_campaign_day_visits), level-ups by the build that saw them
-- (lead_level_changes.changed_at).

with

clicks as (
    select
        campaign_id,
        cast(clicked_at as date) as activity_day,
        sum(case when not is_scanner then 1 else 0 end) as clicks,
        sum(case when is_scanner then 1 else 0 end) as scanner_clicks
    from {{ ref('email_clicks') }}
    where campaign_id is not null
    group by campaign_id, cast(clicked_at as date)
),

visits as (
    -- counted per day by the scheduled run, for the days its new data touched
    select
        campaign_id,
        activity_day,
        visits,
        sessions,
        form_submissions
    from {{ ref('int_campaign_day_visits') }}
),

level_ups as (
    select
        campaign_id,
        cast(changed_at as date) as activity_day,
        count(distinct lead_id) as leads_reached_hot
    from {{ ref('lead_level_changes') }}
    where to_level in ('hot', 'burning') and from_level in ('cold', 'warm')
    group by campaign_id, cast(changed_at as date)
),

active_days as (
    select
        campaign_id,
        activity_day
    from clicks
    union all
    select
        campaign_id,
        activity_day
    from visits
    union all
    select
        campaign_id,
        activity_day
    from level_ups
),

bounds as (
    select
        campaign_id,
        min(activity_day) as first_day,
        max(activity_day) as last_day
    from active_days
    group by campaign_id
),

days as (
    select
        bounds.campaign_id,
        -- spine_day is the spine's own column (a bare value of the UNNEST on BigQuery)
        cast(spine_day as date) as activity_day  -- noqa: RF03
    from bounds
    {{ oie_day_spine('bounds.first_day', 'bounds.last_day') }}
)

select
    days.campaign_id,
    days.activity_day as day,
    coalesce(clicks.clicks, 0) as clicks,
    coalesce(clicks.scanner_clicks, 0) as scanner_clicks,
    coalesce(visits.visits, 0) as visits,
    coalesce(visits.sessions, 0) as sessions,
    coalesce(visits.form_submissions, 0) as form_submissions,
    coalesce(level_ups.leads_reached_hot, 0) as leads_reached_hot
from days
left join clicks on days.campaign_id = clicks.campaign_id and days.activity_day = clicks.activity_day
left join visits on days.campaign_id = visits.campaign_id and days.activity_day = visits.activity_day
left join level_ups
    on days.campaign_id = level_ups.campaign_id and days.activity_day = level_ups.activity_day
