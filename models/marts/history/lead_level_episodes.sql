{{ config(materialized='view') }}

-- Alert episodes (docs/alerts.md): every version of a lead's score history
-- (lead_profiles_snapshot) with the episode it belongs to. An episode ends when the lead
-- falls to oie_alert_rearm_level or below, so the episode number is a running count of the
-- lead's versions at or below that level: no recursion. Hot-lead alerts pick, per lead and
-- episode, the first version at or above OIE_ALERT_LEVEL: the one whose level reaches it
-- while every earlier version of its episode stayed below (previous_peak_rank).

{%- set levels = ['cold', 'warm', 'hot', 'burning'] %}
{%- set rearm_level = var('oie_alert_rearm_level') %}
{%- if rearm_level not in levels %}
    {{ exceptions.raise_compiler_error(
        "oie_alert_rearm_level must be one of cold, warm, hot, burning, not '" ~ rearm_level ~ "'"
    ) }}
{%- endif %}
{%- set rearm_rank = levels.index(rearm_level) %}

with

versions as (
    select
        dbt_scd_id as version_id,
        lead_id,
        campaign_id,
        engagement_level as level,
        case engagement_level
            {%- for level in levels %}
            when '{{ level }}' then {{ loop.index0 }}
            {%- endfor %}
        end as level_rank,
        lag(engagement_level) over (
            partition by lead_id order by dbt_valid_from, dbt_scd_id
        ) as previous_level,
        intent_score,
        score_recency,
        score_frequency,
        score_engagement,
        score_high_intent,
        score_conversions,
        last_visit_at,
        pages_seen,
        scored_as_of,
        dbt_valid_from as recorded_at
    from {{ ref('lead_profiles_snapshot') }}
),

numbered as (
    select
        *,
        cast(sum(case when level_rank <= {{ rearm_rank }} then 1 else 0 end) over (
            partition by lead_id order by recorded_at, version_id
            rows between unbounded preceding and current row
        ) as {{ dbt.type_int() }}) as episode
    from versions
),

peaked as (
    select
        *,
        max(level_rank) over (
            partition by lead_id, episode order by recorded_at, version_id
            rows between unbounded preceding and 1 preceding
        ) as previous_peak_rank
    from numbered
)

select
    version_id,
    lead_id,
    campaign_id,
    episode,
    coalesce(previous_level, 'cold') as from_level,
    level,
    level_rank,
    previous_peak_rank,
    '{{ rearm_level }}' as rearm_level,
    {{ rearm_rank }} as rearm_rank,
    intent_score,
    score_recency,
    score_frequency,
    score_engagement,
    score_high_intent,
    score_conversions,
    last_visit_at,
    pages_seen,
    scored_as_of,
    recorded_at
from peaked
