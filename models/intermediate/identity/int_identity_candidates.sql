{{
    config(
        materialized='incremental',
        unique_key='candidate_key',
        post_hook="{{ oie_delete_vanished_rows('visitor_id') }}",
    )
}}

{#- a table written before it carried the stamp is written whole once, so every row has one -#}
{% set by_difference = oie_stored_has_column('oie_matched_at') %}

-- Every way a browser visitor could belong to a lead, before choosing one:
--  * email_hash: a form on the site submitted an address whose sha256 is a lead's
--  * token: the visitor arrived with the lead's email-link token
-- A token seen on many visitors or networks was most likely forwarded: only its first
-- visitor stays linked (lower confidence); the others are recorded, not merged.
-- A visitor idle for oie_identity_ttl_days (its last session ended that long before the
-- scoring clock) is no one's any more: its link expires (docs/privacy.md).
-- Every run lists every candidate again (a token's forwarded flag and arrival order depend
-- on all its visitors) and writes only the rows that changed, stamped oie_matched_at
-- (macros/changed_rows.sql).

with

leads as (
    select * from {{ ref('stg_oie__leads') }}
),

evidence as (
    select * from {{ ref('int_identity_evidence') }}
),

lead_by_email as (
    -- the same address in several campaigns: the most recent campaign's lead wins. Only
    -- the addresses a visitor submitted are ranked, not every lead's.
    select
        email_sha256,
        lead_id
    from (
        select
            email_sha256,
            lead_id,
            row_number() over (partition by email_sha256 order by created_at desc, lead_id asc) as rn
        from leads
        where email_sha256 in (
            select submitted.identifier from evidence as submitted
            where submitted.evidence_type = 'email_hash'
        )
    ) as ranked
    where rn = 1
),

expired_visitors as (
    select visitor_id
    from {{ ref('int_sessions') }}
    where visitor_id is not null and visitor_id in (select evidence.visitor_id from evidence)
    group by visitor_id
    having max(ended_at) < {{ oie_timestamp_add(
        'day', -1 * var('oie_identity_ttl_days') | int, oie_as_of(var('oie_as_of'))
    ) }}
),

token_visitors as (
    select
        identifier as token,
        visitor_id,
        first_seen_at,
        network
    from evidence
    where evidence_type = 'token'
),

token_stats as (
    select
        token,
        count(distinct visitor_id) as token_visitors,
        count(distinct network) as token_networks
    from token_visitors
    group by token
),

token_candidates as (
    select
        token_visitors.visitor_id,
        leads.lead_id,
        token_visitors.token as matched_identifier,
        token_visitors.first_seen_at,
        token_stats.token_visitors >= {{ var('oie_forwarded_token_min_visitors') }}
        or token_stats.token_networks >= {{ var('oie_forwarded_token_min_networks') }} as is_forwarded,
        row_number() over (
            partition by token_visitors.token
            order by token_visitors.first_seen_at, token_visitors.visitor_id
        ) as arrival_rank
    from token_visitors
    inner join token_stats on token_visitors.token = token_stats.token
    inner join leads on token_visitors.token = leads.token
),

email_candidates as (
    select
        evidence.visitor_id,
        lead_by_email.lead_id,
        evidence.identifier as matched_identifier,
        evidence.first_seen_at
    from evidence
    inner join lead_by_email on evidence.identifier = lead_by_email.email_sha256
    where evidence.evidence_type = 'email_hash'
),

candidates as (
    select
        visitor_id,
        lead_id,
        'email_hash' as match_type,
        matched_identifier,
        first_seen_at,
        false as is_forwarded,
        true as is_linkable,
        {{ var('oie_confidence_email_hash') }} as confidence
    from email_candidates
    where visitor_id not in (select expired.visitor_id from expired_visitors as expired)

    union all

    select
        visitor_id,
        lead_id,
        case
            when not is_forwarded then 'token'
            when arrival_rank = 1 then 'token_forwarded_first'
            else 'token_forwarded'
        end as match_type,
        matched_identifier,
        first_seen_at,
        is_forwarded,
        not is_forwarded or arrival_rank = 1 as is_linkable,
        case
            when not is_forwarded then {{ var('oie_confidence_token') }}
            when arrival_rank = 1 then {{ var('oie_confidence_token_forwarded_first') }}
            else 0.0
        end as confidence
    from token_candidates
    -- after the arrival ranks: an expired first arrival does not promote a forwarded copy
    where visitor_id not in (select expired.visitor_id from expired_visitors as expired)
),

keyed as (
    select
        visitor_id || '|' || lead_id || '|' || match_type as candidate_key,
        *
    from candidates
){% if by_difference %},

changed as (
    {{ oie_changed_rows('keyed', 'candidate_key', [
        'visitor_id', 'lead_id', 'match_type', 'matched_identifier', 'first_seen_at',
        'is_forwarded', 'is_linkable', 'confidence',
    ]) }}
){% endif %}

select
    *,
    {{ oie_run_timestamp() }} as oie_matched_at
from {{ 'changed' if by_difference else 'keyed' }}
