{{
    config(
        materialized='incremental',
        unique_key='candidate_key',
        post_hook="{{ oie_delete_vanished_rows('visitor_id') }}",
    )
}}

{#- a table written before it carried its bookkeeping columns is written whole once -#}
{% set by_difference = oie_stored_has_column('evidence_received_at') %}
{% set identity_vars = local_md5(tojson([
    var('oie_confidence_email_hash'),
    var('oie_confidence_token'),
    var('oie_confidence_token_forwarded_first'),
    var('oie_forwarded_token_min_visitors'),
    var('oie_forwarded_token_min_networks'),
])) %}
{% set last_run = oie_identity_last_run('oie_matched_at', identity_vars) if by_difference else none %}

-- Every way a browser visitor could belong to a lead, before choosing one:
--  * email_hash: a form on the site submitted an address whose sha256 is a lead's
--  * token: the visitor arrived with the lead's email-link token
-- A token seen on many visitors or networks was most likely forwarded: only its first
-- visitor stays linked (lower confidence); the others are recorded, not merged.
-- A visitor idle for oie_identity_ttl_days (its last session ended that long before the
-- scoring clock) is no one's any more: its link expires (docs/privacy.md).
--
-- A scheduled run lists again only the candidates of the visitors it touched
-- (macros/identity.sql): visitors with new evidence or rewritten sessions, visitors of a
-- lead or of an address or token the lead lists wrote since, visitors whose last session
-- crossed the expiry cutoff, visitors whose evidence reached the retention cutoff, and
-- every visitor of a token any of them holds (a token's forwarded flag and arrival order
-- depend on all its visitors). It writes only the rows that changed, stamped
-- oie_matched_at (macros/changed_rows.sql). A first build, a full refresh and a change of
-- the vars above list every candidate.

with

-- tables several branches read: each reads the columns it needs, no copy is stored
leads as {{ oie_inlined_cte() }} (
    select * from {{ ref('stg_oie__leads') }}
),

all_evidence as {{ oie_inlined_cte() }} (
    select * from {{ ref('int_identity_evidence') }}
),
{% if last_run %}
{% set since = oie_timestamp_literal(last_run.since.ts) %}

loaded_leads as (
    {{ oie_identity_loaded_leads('leads', last_run) }}
),

stored as {{ oie_inlined_cte() }} (
    select
        visitor_id,
        lead_id,
        match_type,
        matched_identifier,
        evidence_received_at
    from {{ this }}
),

seed_visitors as (
    select visitor_id
    from all_evidence
    where
        oie_collected_at > {{ since }}
        or (evidence_type = 'token' and identifier in (select loaded_leads.token from loaded_leads))
        or (
            evidence_type = 'email_hash'
            and identifier in (select loaded_leads.email_sha256 from loaded_leads)
        )

    union all

    -- a lead written again (another token or address) and evidence the retention removed
    select visitor_id
    from stored
    where
        lead_id in (select loaded_leads.lead_id from loaded_leads)
        or evidence_received_at < {{ oie_retention_cutoff() }}

    union all

    select visitor_id
    from {{ ref('int_sessions') }}
    where visitor_id is not null and oie_sessionized_at > {{ since }}

    union all

    {{ oie_identity_expiry_flips(ref('int_sessions'), last_run) }}
),

touched_tokens as (
    select identifier as token
    from all_evidence
    where evidence_type = 'token' and visitor_id in (select seed.visitor_id from seed_visitors as seed)

    union all

    select matched_identifier as token
    from stored
    where match_type != 'email_hash' and visitor_id in (select seed.visitor_id from seed_visitors as seed)
),

touched_visitors as (
    select visitor_id from seed_visitors
    union all
    select visitor_id
    from all_evidence
    where evidence_type = 'token' and identifier in (select touched.token from touched_tokens as touched)
),

evidence as (
    select *
    from all_evidence
    where visitor_id in (select touched.visitor_id from touched_visitors as touched)
),

{% else %}

evidence as {{ oie_inlined_cte() }} (
    select * from all_evidence
),
{% endif %}

token_visitors as (
    -- every visitor of the tokens the listed visitors hold, for the token's stats and
    -- arrival order
    select
        identifier as token,
        visitor_id,
        first_seen_at,
        network,
        last_received_at
    from all_evidence
    where
        evidence_type = 'token'{% if last_run %}
        and identifier in (
            select scoped.identifier from evidence as scoped
            where scoped.evidence_type = 'token'
        ){% endif %}
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
    having max(ended_at) < {{ oie_identity_expiry_cutoff() }}
),

token_stats as (
    select
        token,
        count(distinct visitor_id) as token_visitors,
        count(distinct network) as token_networks,
        -- the retention cutoff passing it deletes evidence the token's stats counted
        min(last_received_at) as oldest_received_at
    from token_visitors
    group by token
),

token_candidates as (
    select
        token_visitors.visitor_id,
        leads.lead_id,
        token_visitors.token as matched_identifier,
        token_visitors.first_seen_at,
        token_stats.oldest_received_at,
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
        evidence.first_seen_at,
        evidence.last_received_at
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
        {{ var('oie_confidence_email_hash') }} as confidence,
        last_received_at as evidence_received_at
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
        end as confidence,
        oldest_received_at as evidence_received_at
    from token_candidates
    -- after the arrival ranks: an expired first arrival does not promote a forwarded copy
    where
        visitor_id not in (select expired.visitor_id from expired_visitors as expired){% if last_run %}
        and visitor_id in (select touched.visitor_id from touched_visitors as touched){% endif %}
),

keyed as (
    select
        visitor_id || '|' || lead_id || '|' || match_type as candidate_key,
        *,
        '{{ identity_vars }}' as identity_vars
    from candidates
){% if by_difference %},

changed as (
    {{ oie_changed_rows('keyed', 'candidate_key', [
        'visitor_id', 'lead_id', 'match_type', 'matched_identifier', 'first_seen_at',
        'is_forwarded', 'is_linkable', 'confidence', 'evidence_received_at', 'identity_vars',
    ], stored_filter=(
        'stored.visitor_id in (select touched.visitor_id from touched_visitors as touched)'
        if last_run else none
    )) }}
){% endif %}

select
    *,
    {{ oie_identity_expiry_cutoff() }} as expiry_cutoff,
    {{ oie_run_timestamp() }} as oie_matched_at
from {{ 'changed' if by_difference else 'keyed' }}
