{{ config(materialized='table') }}

-- Leads from `oie campaign create`. A re-import writes a changed lead again with the same
-- created_at and token, so the latest import (imported_at) per lead_id is the lead; rows
-- landed before imported_at existed fall back to created_at and lose to any later import.
-- A table, unlike the other staging models: five models read the lead list on every run,
-- and the latest-import pick is a window over every lead, paid once per run here instead of
-- once per reader.
with

source as (
    {% if oie_landing_has_files('leads') %}
    select * from {{ source('oie', 'raw_leads') }}
    {% else %}
    {{ oie_empty_raw_leads() }}
    {% endif %}
),

renamed as (
    select
        lead_id,
        lower(trim(email)) as email,
        lower(email_sha256) as email_sha256,
        first_name,
        last_name,
        company,
        title,
        industry,
        campaign_id,
        campaign_name,
        token,
        {{ oie_to_timestamp('created_at') }} as created_at,
        {{ oie_to_timestamp('imported_at') }} as imported_at,
        attributes
    from source
    where lead_id is not null
),

ranked as (
    select
        *,
        row_number() over (
            partition by lead_id
            order by coalesce(imported_at, created_at) desc, created_at desc, token desc
        ) as import_rank
    from renamed
)

select
    lead_id,
    email,
    email_sha256,
    first_name,
    last_name,
    company,
    title,
    industry,
    campaign_id,
    campaign_name,
    token,
    created_at,
    imported_at,
    attributes
from ranked
where import_rank = 1
