{{
    config(
        materialized='incremental',
        unique_key='identity_key',
        post_hook="{{ oie_delete_vanished_rows('identifier_type') }}",
    )
}}

{#- a table written before it carried the stamp is written whole once, so every row has one -#}
{% set by_difference = oie_stored_has_column('oie_resolved_at') %}

-- Identity resolution: every identifier -> its lead, one row per identifier:
--  * token -> lead and email_sha256 -> lead (from the lead lists), confidence 1
--  * visitor -> lead: the best linkable candidate (email hash beats token; earliest wins),
--    at most oie_identity_max_visitors_per_lead visitors per lead (super-node guard).
-- Visitors only reachable through a forwarded token are recorded with is_linked = false.
-- The identity_map mart shows this table; int_visitor_leads is its linked visitors.
--
-- Every run resolves every identifier again (a visitor's best lead and a lead's visitor cap
-- depend on all of them) but writes only the rows that changed, stamped oie_resolved_at
-- (macros/changed_rows.sql): int_lead_activity finds the leads that gained a visitor by
-- that stamp.

with

leads as (
    select * from {{ ref('stg_oie__leads') }}
),

candidates as (
    select * from {{ ref('int_identity_candidates') }}
),

best_per_visitor as (
    select *
    from (
        select
            *,
            row_number() over (
                partition by visitor_id
                order by
                    case when is_linkable then 0 else 1 end,
                    confidence desc,
                    first_seen_at asc,
                    lead_id asc
            ) as visitor_rank
        from candidates
    ) as ranked
    where visitor_rank = 1
),

guarded as (
    select
        *,
        case
            when is_linkable
                then row_number() over (
                    partition by lead_id, is_linkable
                    order by confidence desc, first_seen_at asc, visitor_id asc
                )
        end as lead_visitor_rank
    from best_per_visitor
),

visitor_rows as (
    select
        'visitor' as identifier_type,
        visitor_id as identifier,
        lead_id,
        case
            when is_linkable and lead_visitor_rank > {{ var('oie_identity_max_visitors_per_lead') }}
                then 'super_node_overflow'
            else match_type
        end as match_type,
        confidence,
        is_linkable and lead_visitor_rank <= {{ var('oie_identity_max_visitors_per_lead') }}
            as is_linked,
        is_forwarded,
        first_seen_at
    from guarded
),

forwarded_tokens as (
    select
        matched_identifier as token,
        max(case when is_forwarded then 1 else 0 end) = 1 as is_forwarded
    from candidates
    where match_type != 'email_hash'
    group by matched_identifier
),

token_rows as (
    select
        'token' as identifier_type,
        leads.token as identifier,
        leads.lead_id,
        'lead_token' as match_type,
        1.0 as confidence,
        true as is_linked,
        coalesce(forwarded_tokens.is_forwarded, false) as is_forwarded,
        leads.created_at as first_seen_at
    from leads
    left join forwarded_tokens on leads.token = forwarded_tokens.token
    where leads.token is not null
),

email_rows as (
    select
        'email_sha256' as identifier_type,
        email_sha256 as identifier,
        lead_id,
        'lead_email' as match_type,
        1.0 as confidence,
        true as is_linked,
        false as is_forwarded,
        created_at as first_seen_at
    from (
        select
            *,
            row_number() over (partition by email_sha256 order by created_at desc, lead_id asc) as rn
        from leads
        where email_sha256 is not null
    ) as ranked
    where rn = 1
),

unioned as (
    select * from visitor_rows
    union all
    select * from token_rows
    union all
    select * from email_rows
),

resolved as (
    select
        identifier_type || ':' || identifier as identity_key,
        identifier_type,
        identifier,
        lead_id,
        match_type,
        cast(confidence as {{ dbt.type_float() }}) as confidence,
        is_linked,
        is_forwarded,
        first_seen_at
    from unioned
){% if by_difference %},

changed as (
    {{ oie_changed_rows('resolved', 'identity_key', [
        'identifier_type', 'identifier', 'lead_id', 'match_type', 'confidence', 'is_linked',
        'is_forwarded', 'first_seen_at',
    ]) }}
){% endif %}

select
    *,
    {{ oie_run_timestamp() }} as oie_resolved_at
from {{ 'changed' if by_difference else 'resolved' }}
