{{
    config(
        materialized='incremental',
        unique_key='visitor_id',
    )
}}

-- Every visitor ever linked to a lead, with the lead it is linked to now (null once the link
-- is gone) and the lead it had before its last change, stamped by the run that saw the
-- change. int_identifiers_resolved deletes a row whose identifier no longer resolves (an
-- expired visitor, a link whose evidence was deleted) and rewrites a row that moved to
-- another lead: neither leaves a trace of the lead that lost the visitor. This model keeps
-- that trace, so a reader that counts a lead's visitors or sessions follows the changes
-- by stamp (oie_relinked_at) instead of comparing every lead on every run.
--
-- A run compares this table with int_visitor_leads: the links written since its last
-- change (by int_identifiers_resolved's stamp), and the stored links that are gone
-- (one anti-join of the two visitor lists, narrow columns only). A row whose link is gone
-- stays, with lead_id null, so the next link of that visitor is again a change.

{% set since = oie_watermark('oie_relinked_at') %}

with

links as (
    select
        visitor_id,
        lead_id,
        oie_resolved_at
    from {{ ref('int_visitor_leads') }}
){% if since %},

stored as (
    select
        visitor_id,
        lead_id
    from {{ this }}
),

recent_links as (
    -- links int_identifiers_resolved wrote since this table last changed
    select
        visitor_id,
        lead_id
    from links
    where oie_resolved_at > {{ oie_timestamp_literal(since.ts) }}
),

stored_of_recent as (
    -- the stored rows of those visitors only: the join below is built on the few
    select
        visitor_id,
        lead_id
    from stored
    where visitor_id in (select recent_links.visitor_id from recent_links)
),

written as (
    -- the recent links that are new or moved
    select
        recent_links.visitor_id,
        recent_links.lead_id,
        stored_of_recent.lead_id as previous_lead_id
    from recent_links
    left join stored_of_recent on recent_links.visitor_id = stored_of_recent.visitor_id
    where recent_links.lead_id is distinct from stored_of_recent.lead_id
),

gone as (
    -- stored links the visitor no longer has: its row deleted, or no longer linked
    select
        stored.visitor_id,
        cast(null as {{ dbt.type_string() }}) as lead_id,
        stored.lead_id as previous_lead_id
    from stored
    where
        stored.lead_id is not null
        and not exists (
            select 1 from links
            where links.visitor_id = stored.visitor_id
        )
),

changed as (
    select * from written
    union all
    select * from gone
)

select
    visitor_id,
    lead_id,
    previous_lead_id,
    {{ oie_run_timestamp() }} as oie_relinked_at
from changed
{% else %}

select
    visitor_id,
    lead_id,
    cast(null as {{ dbt.type_string() }}) as previous_lead_id,
    {{ oie_run_timestamp() }} as oie_relinked_at
from links
{% endif %}
