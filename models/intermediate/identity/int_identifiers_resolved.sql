{{
    config(
        materialized='incremental',
        unique_key='identity_key',
        post_hook="{{ oie_delete_vanished_rows('identifier_type') }}",
    )
}}

-- depends_on: {{ ref('int_sessions') }}
{#- a table written before it carried its bookkeeping columns is written whole once -#}
{% set by_difference = oie_stored_has_column('evidence_received_at') %}
{% set identity_vars = local_md5(tojson([var('oie_identity_max_visitors_per_lead')])) %}
{% set last_run = oie_identity_last_run('oie_resolved_at', identity_vars) if by_difference else none %}
{% set retention_cutoff = oie_retention_cutoff() %}

-- Identity resolution: every identifier -> its lead, one row per identifier:
--  * token -> lead and email_sha256 -> lead (from the lead lists), confidence 1
--  * visitor -> lead: the best linkable candidate (email hash beats token; earliest wins),
--    at most oie_identity_max_visitors_per_lead visitors per lead (super-node guard).
-- Visitors only reachable through a forwarded token are recorded with is_linked = false.
-- The identity_map mart shows this table; int_visitor_leads is its linked visitors.
--
-- A scheduled run resolves again only what it touched (macros/identity.sql): visitors
-- whose candidates were written since, or can have vanished (the visitor's last session
-- crossed the expiry cutoff, its lead was written again, the evidence behind its link
-- reached the retention cutoff), every visitor of their old and new leads (the cap ranks a
-- lead's visitors), the tokens and addresses of leads the lead lists wrote since, and
-- tokens whose forwarded flag can have changed. It writes only the rows that changed,
-- stamped oie_resolved_at (macros/changed_rows.sql): int_lead_activity finds the leads
-- that gained a visitor by that stamp. A first build, a full refresh and a change of the
-- cap list every identifier.

with

-- tables several branches read: each reads the columns it needs, no copy is stored
leads as {{ oie_inlined_cte() }} (
    select * from {{ ref('stg_oie__leads') }}
),

all_candidates as {{ oie_inlined_cte() }} (
    select * from {{ ref('int_identity_candidates') }}
),
{% if last_run %}
{% set since = oie_timestamp_literal(last_run.since.ts) %}

loaded_leads as (
    {{ oie_identity_loaded_leads('leads', last_run) }}
),

stored as {{ oie_inlined_cte() }} (
    select
        identifier_type,
        identifier,
        lead_id,
        is_forwarded,
        evidence_received_at
    from {{ this }}
),

seed_visitors as (
    select visitor_id
    from all_candidates
    where oie_matched_at > {{ since }}

    union all

    -- a link that can have vanished from the candidates: its lead written again, its
    -- evidence past the retention cutoff
    select identifier as visitor_id
    from stored
    where
        identifier_type = 'visitor'
        and (
            lead_id in (select loaded_leads.lead_id from loaded_leads)
            or evidence_received_at < {{ retention_cutoff }}
        )

    union all

    {{ oie_identity_expiry_flips(ref('int_sessions'), last_run) }}
),

touched_leads as (
    select lead_id
    from all_candidates
    where visitor_id in (select seed.visitor_id from seed_visitors as seed)

    union all

    select lead_id
    from stored
    where
        identifier_type = 'visitor'
        and identifier in (select seed.visitor_id from seed_visitors as seed)
),

touched_visitors as (
    select visitor_id from seed_visitors
    union all
    select identifier as visitor_id
    from stored
    where
        identifier_type = 'visitor'
        and lead_id in (select touched.lead_id from touched_leads as touched)
),

touched_tokens as (
    select token from loaded_leads
    union all
    select matched_identifier as token
    from all_candidates
    where match_type != 'email_hash' and oie_matched_at > {{ since }}
    union all
    -- a lead written again with another token; a forwarded token whose forwarded
    -- candidates all vanished
    select identifier as token
    from stored
    where
        identifier_type = 'token'
        and (
            lead_id in (select loaded_leads.lead_id from loaded_leads)
            or (
                is_forwarded
                and identifier not in (
                    select forwarded.matched_identifier from all_candidates as forwarded
                    where forwarded.is_forwarded
                )
            )
        )
),

touched_addresses as (
    select email_sha256 from loaded_leads
    union all
    select identifier as email_sha256
    from stored
    where
        identifier_type = 'email_sha256'
        and lead_id in (select loaded_leads.lead_id from loaded_leads)
),

candidates as (
    select *
    from all_candidates
    where visitor_id in (select touched.visitor_id from touched_visitors as touched)
),

touched_keys as (
    -- one key list: a single semi-join picks the stored rows to compare (three typed
    -- filters joined by `or` read every column of every stored row: 0.66 -> 0.50 s at 30M)
    select 'visitor:' || visitor_id as identity_key from touched_visitors
    union all
    select 'token:' || token as identity_key from touched_tokens
    union all
    select 'email_sha256:' || email_sha256 as identity_key from touched_addresses
),
{% else %}

candidates as (
    select * from all_candidates
),
{% endif %}

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
        first_seen_at,
        evidence_received_at
    from guarded
),

forwarded_tokens as (
    select
        matched_identifier as token,
        max(case when is_forwarded then 1 else 0 end) = 1 as is_forwarded
    from all_candidates
    where
        match_type != 'email_hash'{% if last_run %}
        and matched_identifier in (select touched.token from touched_tokens as touched){% endif %}
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
        leads.created_at as first_seen_at,
        cast(null as {{ dbt.type_timestamp() }}) as evidence_received_at
    from leads
    left join forwarded_tokens on leads.token = forwarded_tokens.token
    where
        leads.token is not null{% if last_run %}
        and leads.token in (select touched.token from touched_tokens as touched){% endif %}
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
        created_at as first_seen_at,
        cast(null as {{ dbt.type_timestamp() }}) as evidence_received_at
    from (
        select
            *,
            row_number() over (partition by email_sha256 order by created_at desc, lead_id asc) as rn
        from leads
        where
            email_sha256 is not null{% if last_run %}
            and email_sha256 in (select touched.email_sha256 from touched_addresses as touched){% endif %}
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
        first_seen_at,
        evidence_received_at,
        '{{ identity_vars }}' as identity_vars
    from unioned
){% if by_difference %},

changed as (
    {#- evidence_received_at (when the evidence behind a visitor's link was last seen) only
        tells a later run to look again once the retention cutoff passes it: it is written
        with any change of the row, and on its own only when the stored one has fallen
        behind that cutoff, so new sightings of a token do not rewrite the visitor's row. -#}
    {{ oie_changed_rows('resolved', 'identity_key', [
        'identifier_type', 'identifier', 'lead_id', 'match_type', 'confidence', 'is_linked',
        'is_forwarded', 'first_seen_at', 'identity_vars',
    ], stored_filter=(
        'stored.identity_key in (select touched.identity_key from touched_keys as touched)'
        if last_run else none
    ), carried=['evidence_received_at'], also_changed=(
        'stored.evidence_received_at < ' ~ retention_cutoff
        ~ ' and resolved.evidence_received_at is distinct from stored.evidence_received_at'
    )) }}
){% endif %}

select
    *,
    {{ oie_identity_expiry_cutoff() }} as expiry_cutoff,
    {{ oie_run_timestamp() }} as oie_resolved_at
from {{ 'changed' if by_difference else 'resolved' }}
