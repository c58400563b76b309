{{
    config(
        materialized='incremental',
        unique_key='lead_id',
        cluster_by=['lead_id'],
    )
}}

-- One row per lead: who they are, what they did in the score window, and the intent score
-- with its five components so an SDR can see why. Incremental: a run rewrites the leads
-- int_lead_scores rescored (every change to a lead's activity, recency or score vars
-- rescores it first) and the leads a re-import changed (names, company, title: nothing the
-- score reads), looked for a lookback before the last run so an import sealed while that run
-- was reading the lead list is not missed.

{% set watermark = oie_watermark('oie_updated_at') %}
{% if watermark %}
    {% set reimported_since = oie_timestamp_add(
        'minute', -1 * var('oie_lookback_minutes'), oie_timestamp_literal(watermark.ts)
    ) %}
{% endif %}

with

leads as (
    select * from {{ ref('stg_oie__leads') }}
),

activity as (
    select * from {{ ref('int_lead_activity') }}
),

scores as (
    select * from {{ ref('int_lead_scores') }}{% if watermark %}
    where
        oie_scored_at > {{ oie_timestamp_literal(watermark.ts) }}
        or lead_id in (
            select reimported.lead_id from {{ ref('stg_oie__leads') }} as reimported
            where reimported.imported_at > {{ reimported_since }}
        ){% endif %}
)

select
    leads.lead_id,
    leads.email,
    leads.first_name,
    leads.last_name,
    leads.company,
    leads.title,
    leads.industry,
    leads.campaign_id,
    leads.campaign_name,
    activity.first_click_at,
    activity.first_visit_at,
    activity.last_visit_at,
    activity.total_sessions,
    activity.total_pageviews,
    activity.total_active_s,
    activity.pricing_page_visits,
    activity.case_study_views,
    activity.product_page_views,
    activity.form_submissions,
    activity.videos_completed,
    activity.visitors,
    scores.score_recency,
    scores.score_frequency,
    scores.score_engagement,
    scores.score_high_intent,
    scores.score_conversions,
    scores.intent_score,
    scores.engagement_level,
    activity.deep_pageviews,
    activity.email_clicks,
    activity.scanner_clicks,
    activity.last_activity_at,
    activity.pages_seen,
    activity.token_forwarded,
    activity.is_internal_lead,
    leads.token,
    leads.email_sha256,
    scores.scored_as_of,
    scores.network_company,
    scores.company_match,
    scores.colleague_sessions,
    scores.company_network_sessions,
    scores.email_replies,
    scores.email_bounced,
    scores.email_unsubscribed,
    scores.is_suppressed,
    {{ oie_run_timestamp() }} as oie_updated_at
from leads
inner join activity on leads.lead_id = activity.lead_id
inner join scores on leads.lead_id = scores.lead_id
