{{ config(materialized='view') }}

-- What the CRM sync pushes to HubSpot (docs/crm.md): one row per contact address, its
-- HubSpot properties as JSON text and their hash (the sync sends changes only), and
-- whether it may be sent. A person in several campaigns is one contact: the lead with the
-- highest score speaks for them. An address that bounced or unsubscribed in any campaign
-- is suppressed and never sent; a contact below oie_crm_min_level is sent only when it was
-- synced before, so a score that fell shows in HubSpot too (crm_sync/state_sql.py).

{%- set levels = ['cold', 'warm', 'hot', 'burning'] %}
{%- set min_level = var('oie_crm_min_level') %}
{%- if min_level not in levels %}
    {{ exceptions.raise_compiler_error(
        "oie_crm_min_level must be one of cold, warm, hot, burning, not '" ~ min_level ~ "'"
    ) }}
{%- endif %}

with

leads as (
    select
        email,
        intent_score,
        engagement_level,
        score_recency,
        score_frequency,
        score_engagement,
        score_high_intent,
        score_conversions,
        pages_seen,
        campaign_name,
        last_visit_at,
        max(case when is_suppressed then 1 else 0 end) over (partition by email) as suppressed,
        row_number() over (
            partition by email
            order by intent_score desc, last_visit_at desc nulls last, lead_id asc
        ) as speaker
    from {{ ref('lead_profiles') }}
    where email is not null and email != ''
),

contacts as (
    select
        email as key,
        {{ oie_json_object([
            ('oie_intent_score', 'cast(intent_score as ' ~ dbt.type_string() ~ ')'),
            ('oie_engagement_level', 'engagement_level'),
            ('oie_score_components', "'recency ' || cast(score_recency as " ~ dbt.type_string() ~ ")"
                ~ " || ', frequency ' || cast(score_frequency as " ~ dbt.type_string() ~ ")"
                ~ " || ', engagement ' || cast(score_engagement as " ~ dbt.type_string() ~ ")"
                ~ " || ', high intent ' || cast(score_high_intent as " ~ dbt.type_string() ~ ")"
                ~ " || ', conversions ' || cast(score_conversions as " ~ dbt.type_string() ~ ")"),
            ('oie_pages_seen', 'pages_seen'),
            ('oie_campaign', 'campaign_name'),
            ('oie_last_visit_at', oie_iso_ms('last_visit_at')),
        ]) }} as value,
        case
            when suppressed = 1 then 'suppressed'
            when engagement_level in (
                {%- for level in levels[levels.index(min_level):] %}
                '{{ level }}'{% if not loop.last %},{% endif %}
                {%- endfor %}
            ) then 'eligible'
            else 'below_level'
        end as crm_status
    from leads
    where speaker = 1
)

-- `hash` is a reserved word on BigQuery: quoted for the adapter at hand.
select
    key,
    value,
    {{ oie_hash('value') }} as {{ adapter.quote('hash') }},
    crm_status
from contacts
