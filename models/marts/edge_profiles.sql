{{ config(materialized='view') }}

-- What the KV sync pushes to the edge: one key per linked visitor, a JSON value with only
-- what a page may show (never an email, never the score), and a hash so the sync sends
-- changes only. Visitors linked through a forwarded token are not personalized.

with

linked as (
    select
        visitor_id,
        lead_id
    from {{ ref('int_visitor_leads') }}
    where match_type in ('token', 'email_hash')
),

profiles as (
    select
        'v:' || linked.visitor_id as key,
        {{ oie_json_object([
            ('first_name', 'p.first_name'),
            ('company', 'p.company'),
            ('engagement_level', 'p.engagement_level'),
            ('campaign_id', 'p.campaign_id'),
        ]) }} as value
    from linked
    inner join {{ ref('lead_profiles') }} as p on linked.lead_id = p.lead_id
    where not p.token_forwarded
)

select
    key,
    value,
    {{ oie_hash('value') }} as hash
from profiles
