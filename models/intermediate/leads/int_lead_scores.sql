-- The explainable intent score (docs/design.md): five capped components, each its own column,
-- summed and capped at 100, then a level. Every number is an `oie_score_*` var. The vars are
-- referenced here directly so dbt unit tests can override them. Every lead is scored on every
-- run (recency moves with the clock); int_lead_activity recounts only the leads whose
-- totals changed, so this is one narrow pass over one row per lead.

{% set tiers = var('oie_score_recency_tiers') %}
{% set as_of = oie_as_of(var('oie_as_of')) %}

with

activity as (
    select * from {{ ref('int_lead_activity') }}
),

components as (
    select
        lead_id,
        case
            when is_internal_lead or last_activity_at is null then 0
            {% for max_hours, points in tiers %}
            when {{ oie_millis_between('last_activity_at', as_of) }} <= {{ (max_hours * 3600000) | int }}
                then {{ points }}
            {% endfor %}
            else {{ var('oie_score_recency_older') }}
        end as score_recency,
        case when is_internal_lead then 0 else least(
            {{ var('oie_score_frequency_cap') }},
            total_sessions * {{ var('oie_score_frequency_per_session') }}
        ) end as score_frequency,
        case when is_internal_lead then 0 else least(
            {{ var('oie_score_engagement_cap') }},
            total_pageviews * {{ var('oie_score_engagement_per_pageview') }}
            + total_active_s / 60.0 * {{ var('oie_score_engagement_per_active_minute') }}
            + deep_pageviews * {{ var('oie_score_engagement_per_deep_pageview') }}
        ) end as score_engagement,
        case when is_internal_lead then 0 else least(
            {{ var('oie_score_high_intent_cap') }},
            pricing_page_visits * {{ var('oie_score_high_intent_per_pricing_view') }}
            + case_study_views * {{ var('oie_score_high_intent_per_case_study_view') }}
            + product_page_views * {{ var('oie_score_high_intent_per_product_view') }}
        ) end as score_high_intent,
        case when is_internal_lead then 0 else least(
            {{ var('oie_score_conversions_cap') }},
            form_submissions * {{ var('oie_score_conversions_per_form_submit') }}
            + videos_completed * {{ var('oie_score_conversions_per_video_complete') }}
        ) end as score_conversions
    from activity
),

summed as (
    select
        lead_id,
        cast(score_recency as {{ dbt.type_float() }}) as score_recency,
        cast(score_frequency as {{ dbt.type_float() }}) as score_frequency,
        round(cast(score_engagement as {{ dbt.type_float() }}), 2) as score_engagement,
        cast(score_high_intent as {{ dbt.type_float() }}) as score_high_intent,
        cast(score_conversions as {{ dbt.type_float() }}) as score_conversions,
        cast(least(
            {{ var('oie_score_total_cap') }},
            round(score_recency + score_frequency + score_engagement + score_high_intent + score_conversions)
        ) as {{ dbt.type_int() }}) as intent_score
    from components
)

select
    *,
    case
        when intent_score >= {{ var('oie_level_burning') }} then 'burning'
        when intent_score >= {{ var('oie_level_hot') }} then 'hot'
        when intent_score >= {{ var('oie_level_warm') }} then 'warm'
        else 'cold'
    end as engagement_level,
    {{ as_of }} as scored_as_of
from summed
