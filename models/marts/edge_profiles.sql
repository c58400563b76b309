{{ config(materialized='view') }}

-- What the KV sync pushes to the edge (docs/kv.md): one `v:` key per linked visitor and one
-- `t:` key per lead token, so a lead's first visit from an email link is personalized
-- before any run has seen that browser (the pixel sends the token along with the visitor
-- id). The value holds only what a page may show (never an email, never the score); the
-- hash lets the sync send changes only; lead_id lets it compare only the keys of the leads
-- changed since its last sync (edge_profile_changes). Leads whose token was forwarded are not
-- personalized at all, and leads below oie_edge_min_level are left out, so their keys
-- leave the store on the next sync.

{%- set levels = ['cold', 'warm', 'hot', 'burning'] %}
{%- set min_level = var('oie_edge_min_level') %}
{%- if min_level not in levels %}
    {{ exceptions.raise_compiler_error(
        "oie_edge_min_level must be one of cold, warm, hot, burning, not '" ~ min_level ~ "'"
    ) }}
{%- endif %}

with

leads as (
    select
        lead_id,
        token,
        first_name,
        company,
        engagement_level,
        campaign_id
    from {{ ref('lead_profiles') }}
    where
        not token_forwarded
        and engagement_level in (
            {%- for level in levels[levels.index(min_level):] %}
            '{{ level }}'{% if not loop.last %},{% endif %}
            {%- endfor %}
        )
),

keyed as (
    select
        'v:' || linked.visitor_id as key,
        leads.lead_id,
        leads.first_name,
        leads.company,
        leads.engagement_level,
        leads.campaign_id
    from {{ ref('int_visitor_leads') }} as linked
    inner join leads on linked.lead_id = leads.lead_id
    where linked.match_type in ('token', 'email_hash')

    union all

    select
        't:' || leads.token as key,
        leads.lead_id,
        leads.first_name,
        leads.company,
        leads.engagement_level,
        leads.campaign_id
    from leads
    where leads.token is not null
),

profiles as (
    select
        key,
        lead_id,
        {{ oie_json_object([
            ('first_name', 'first_name'),
            ('company', 'company'),
            ('engagement_level', 'engagement_level'),
            ('campaign_id', 'campaign_id'),
        ]) }} as value
    from keyed
)

-- `hash` is a reserved word on BigQuery: quoted for the adapter at hand.
select
    key,
    value,
    {{ oie_hash('value') }} as {{ adapter.quote('hash') }},
    lead_id
from profiles
