{{
    config(
        materialized='incremental',
        unique_key='lead_id',
        cluster_by=['lead_id'],
    )
}}

-- The explainable intent score (docs/design.md): five capped components, each its own column,
-- summed and capped at 100, then a level. Every number is an `oie_score_*` var. The vars are
-- referenced here directly so dbt unit tests can override them.
--
-- Incremental by lead: a run rescores the leads int_lead_activity recounted, the leads whose
-- recency points moved since they were scored (the clock crossed one of their tiers), and
-- every lead when a score var changed (score_vars holds a fingerprint of them all). Any
-- other lead's stored score is what a rescore would give now, so a scheduled run writes
-- only the rows that change; finding them reads one narrow row per lead. Leads whose company
-- network (int_lead_networks) or its colleague count changed are rescored too: colleague
-- sessions add to high intent when oie_score_high_intent_per_colleague_session is set.
-- Leads whose email-tool engagement (int_lead_email_engagement) changed are rescored too:
-- replies add to conversions (oie_score_conversions_per_email_reply), opens to engagement
-- (oie_score_engagement_per_email_open, 0 by default: Apple Mail prefetches every image);
-- the sequencer's own clicks are not scored (the /go click already is).

{% set tiers = var('oie_score_recency_tiers') %}
{% set as_of = oie_as_of(var('oie_as_of')) %}
{% set score_vars = local_md5(tojson([
    tiers,
    var('oie_score_recency_older'),
    var('oie_score_frequency_per_session'),
    var('oie_score_frequency_cap'),
    var('oie_score_engagement_per_pageview'),
    var('oie_score_engagement_per_active_minute'),
    var('oie_score_engagement_per_deep_pageview'),
    var('oie_score_engagement_per_email_open'),
    var('oie_score_engagement_per_jitter_degree'),
    var('oie_score_engagement_jitter_threshold_degrees'),
    var('oie_score_engagement_per_100_reading_wpm'),
    var('oie_score_engagement_cap'),
    var('oie_score_high_intent_per_pricing_view'),
    var('oie_score_high_intent_per_case_study_view'),
    var('oie_score_high_intent_per_product_view'),
    var('oie_score_high_intent_per_colleague_session'),
    var('oie_score_high_intent_cap'),
    var('oie_score_conversions_per_form_submit'),
    var('oie_score_conversions_per_video_complete'),
    var('oie_score_conversions_per_email_reply'),
    var('oie_score_conversions_cap'),
    var('oie_score_total_cap'),
    var('oie_level_burning'),
    var('oie_level_hot'),
    var('oie_level_warm'),
])) %}
{% set recency_points = oie_recency_points(tiers, var('oie_score_recency_older'), as_of) %}
{#- A table built before the email columns existed is rescored whole once (no watermark). -#}
{% set watermark = oie_stored_instant('max(oie_scored_at)', 'is_suppressed') %}

with

{% if watermark %}
rescored as (
    select lead_id
    from {{ ref('int_lead_activity') }}
    where oie_counted_at > {{ oie_timestamp_literal(watermark.ts) }}
    union all
    select lead_id
    from {{ this }}
    where
        score_vars != '{{ score_vars }}'
        or {{ recency_points }} != score_recency
    union all
    -- int_lead_networks holds matched leads only: a lead that lost its match has no row
    select stored.lead_id
    from {{ this }} as stored
    left join {{ ref('int_lead_networks') }} as networks on stored.lead_id = networks.lead_id
    where
        coalesce(networks.network_company, '') != coalesce(stored.network_company, '')
        or coalesce(networks.company_match, '') != coalesce(stored.company_match, '')
        or coalesce(networks.colleague_sessions, 0) != stored.colleague_sessions
        or coalesce(networks.company_network_sessions, 0) != stored.company_network_sessions
    union all
    select stored.lead_id
    from {{ this }} as stored
    left join {{ ref('int_lead_email_engagement') }} as email on stored.lead_id = email.lead_id
    where
        coalesce(email.replies, 0) != stored.email_replies
        or coalesce(email.replies_in_window, 0) != stored.email_replies_in_window
        or coalesce(email.opens_in_window, 0) != stored.email_opens_in_window
        or coalesce(email.is_bounced, false) != stored.email_bounced
        or coalesce(email.is_unsubscribed, false) != stored.email_unsubscribed
),
{% endif %}

activity as (
    select
        activity.*,
        networks.network_company,
        networks.company_match,
        coalesce(networks.colleague_sessions, 0) as colleague_sessions,
        coalesce(networks.company_network_sessions, 0) as company_network_sessions,
        coalesce(email.replies, 0) as email_replies,
        coalesce(email.replies_in_window, 0) as email_replies_in_window,
        coalesce(email.opens_in_window, 0) as email_opens_in_window,
        coalesce(email.is_bounced, false) as email_bounced,
        coalesce(email.is_unsubscribed, false) as email_unsubscribed
    from {{ ref('int_lead_activity') }} as activity
    left join {{ ref('int_lead_networks') }} as networks on activity.lead_id = networks.lead_id
    left join {{ ref('int_lead_email_engagement') }} as email on activity.lead_id = email.lead_id{% if watermark %}
    where activity.lead_id in (select rescored.lead_id from rescored){% endif %}
),

components as (
    select
        lead_id,
        is_internal_lead,
        last_activity_at,
        network_company,
        company_match,
        colleague_sessions,
        company_network_sessions,
        email_replies,
        email_replies_in_window,
        email_opens_in_window,
        email_bounced,
        email_unsubscribed,
        {{ recency_points }} as score_recency,
        case when is_internal_lead then 0 else least(
            {{ var('oie_score_frequency_cap') }},
            total_sessions * {{ var('oie_score_frequency_per_session') }}
        ) end as score_frequency,
        -- never below 0: the cursor and reading weights may be set negative (a penalty)
        case when is_internal_lead then 0 else greatest(0, least(
            {{ var('oie_score_engagement_cap') }},
            total_pageviews * {{ var('oie_score_engagement_per_pageview') }}
            + total_active_s / 60.0 * {{ var('oie_score_engagement_per_active_minute') }}
            + deep_pageviews * {{ var('oie_score_engagement_per_deep_pageview') }}
            + email_opens_in_window * {{ var('oie_score_engagement_per_email_open') }}
            -- 0 by default: the degrees of the lead's mean cursor jitter above the threshold,
            -- and its median reading speed in hundreds of words a minute (none measured: 0)
            + coalesce(
                greatest(mean_cursor_jitter - {{ var('oie_score_engagement_jitter_threshold_degrees') }}, 0), 0
            ) * {{ var('oie_score_engagement_per_jitter_degree') }}
            + coalesce(median_reading_wpm, 0) / 100.0 * {{ var('oie_score_engagement_per_100_reading_wpm') }}
        )) end as score_engagement,
        case when is_internal_lead then 0 else least(
            {{ var('oie_score_high_intent_cap') }},
            pricing_page_visits * {{ var('oie_score_high_intent_per_pricing_view') }}
            + case_study_views * {{ var('oie_score_high_intent_per_case_study_view') }}
            + product_page_views * {{ var('oie_score_high_intent_per_product_view') }}
            + colleague_sessions * {{ var('oie_score_high_intent_per_colleague_session') }}
        ) end as score_high_intent,
        case when is_internal_lead then 0 else least(
            {{ var('oie_score_conversions_cap') }},
            form_submissions * {{ var('oie_score_conversions_per_form_submit') }}
            + videos_completed * {{ var('oie_score_conversions_per_video_complete') }}
            + email_replies_in_window * {{ var('oie_score_conversions_per_email_reply') }}
        ) end as score_conversions
    from activity
),

summed as (
    select
        lead_id,
        is_internal_lead,
        last_activity_at,
        network_company,
        company_match,
        colleague_sessions,
        company_network_sessions,
        email_replies,
        email_replies_in_window,
        email_opens_in_window,
        email_bounced,
        email_unsubscribed,
        email_bounced or email_unsubscribed as is_suppressed,
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
    {{ as_of }} as scored_as_of,
    '{{ score_vars }}' as score_vars,
    {{ oie_run_timestamp() }} as oie_scored_at
from summed
