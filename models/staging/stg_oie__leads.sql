{{
    config(
        materialized='incremental',
        unique_key='lead_id',
    )
}}

-- Leads from `oie campaign create`, less forgotten people (macros/tombstones.sql). A
-- re-import writes a changed lead again with the same created_at and token, so the latest
-- import (imported_at) per lead_id is the lead; rows
-- landed before imported_at existed fall back to created_at and lose to any later import.
-- A table, unlike the other staging models: five models read the lead list on every run,
-- and the latest-import pick is paid once here instead of once per reader.
--
-- Incremental: a run reads the imports that started after the newest one loaded, less
-- oie_lookback_minutes while that import is recent (one committed while the last run read
-- the lead list is read by the next: macros/incremental.sql, oie_leads_since), leaves out
-- the rows it already loaded, and ranks the rest together with the stored row of each lead
-- they touch; a lead no new import row touched keeps its row. Locally the landing
-- folder's dt (the import's day) skips older files; on BigQuery raw_leads is partitioned
-- by created_at, which a re-import keeps, so that read is not pruned (as before). Rows
-- written before imported_at existed are all read by the first build after the upgrade
-- (their table has no oie_loaded_at yet).

{% set since = oie_leads_since(var('oie_lookback_minutes')) %}
{% set has_files = oie_landing_has_files('leads') %}
{#- locally each row keeps its landing file; a run skips the sealed files it already holds
    rows of, unread (macros/incremental.sql, oie_leads_loaded_files) -#}
{% set with_files = has_files and target.type == 'duckdb' %}
{% set loaded_files = oie_leads_loaded_files(since) if since and with_files else [] %}

with

source as (
    {% if has_files %}
    select * from {{ oie_landing_source('raw_leads') }}
    {%- if since and target.type != 'bigquery' %}
    where dt >= cast('{{ since.date }}' as date)
    {%- if loaded_files %}
        and filename not in (
            {%- for file in loaded_files %}
            '{{ file | replace("'", "''") }}'{{ ',' if not loop.last }}
            {%- endfor %}
        )
    {%- endif %}
    {%- endif %}
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
        attributes,
        {{ 'filename' if with_files else 'cast(null as ' ~ dbt.type_string() ~ ')' }} as oie_source_file
    from source
    where
        lead_id is not null
        and {{ oie_not_forgotten([
            ('email', 'lower(trim(email))'), ('token', 'token'), ('lead', 'lead_id')
        ]) }}
),

imports as (
    select * from renamed
    {%- if since %}
    where
        coalesce(imported_at, created_at) > {{ oie_timestamp_literal(since.ts) }}
        -- a row already loaded (the lookback re-reads the newest import on every run for
        -- a while) ties with its stored self: it changes nothing, so it is not ranked or
        -- written again
        and not exists (
            select 1 from {{ this }} as loaded
            where
                loaded.lead_id = renamed.lead_id
                and coalesce(loaded.imported_at, loaded.created_at)
                = coalesce(renamed.imported_at, renamed.created_at)
                and loaded.created_at = renamed.created_at
                and loaded.token is not distinct from renamed.token
        )
    {%- endif %}
),

candidates as (
    select * from imports
    {%- if since %}
    union all
    select
        stored.lead_id,
        stored.email,
        stored.email_sha256,
        stored.first_name,
        stored.last_name,
        stored.company,
        stored.title,
        stored.industry,
        stored.campaign_id,
        stored.campaign_name,
        stored.token,
        stored.created_at,
        stored.imported_at,
        stored.attributes,
        {{ 'stored.oie_source_file' if oie_stored_has_column('oie_source_file')
           else 'cast(null as ' ~ dbt.type_string() ~ ')' }} as oie_source_file
    from {{ this }} as stored
    where stored.lead_id in (select imports.lead_id from imports)
    {%- endif %}
),

ranked as (
    select
        *,
        row_number() over (
            partition by lead_id
            order by coalesce(imported_at, created_at) desc, created_at desc, token desc
        ) as import_rank
    from candidates
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
    attributes,
    oie_source_file,
    {{ oie_run_timestamp() }} as oie_loaded_at
from ranked
where import_rank = 1
