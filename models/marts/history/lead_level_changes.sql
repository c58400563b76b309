{{ config(materialized='view') }}

-- When each lead moved between levels: one row per change of engagement_level seen by a
-- build, from the score history (lead_profiles_snapshot). Every lead starts cold, so a lead
-- first scored hot has a cold -> hot row; versions that change the score but not the level
-- are not changes. Alerts and `oie leads` read this.

with

versions as (
    select
        lead_id,
        campaign_id,
        engagement_level,
        intent_score,
        scored_as_of,
        dbt_valid_from,
        lag(engagement_level) over (partition by lead_id order by dbt_valid_from) as previous_level
    from {{ ref('lead_profiles_snapshot') }}
)

select
    {{ oie_hash("lead_id || '|' || cast(dbt_valid_from as " ~ dbt.type_string() ~ ")") }} as change_id,
    lead_id,
    campaign_id,
    coalesce(previous_level, 'cold') as from_level,
    engagement_level as to_level,
    intent_score,
    scored_as_of as changed_at,
    dbt_valid_from as recorded_at
from versions
where engagement_level != coalesce(previous_level, 'cold')
