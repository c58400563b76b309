{{
    config(
        materialized='incremental',
        post_hook="{{ oie_expire_rows('last_received_at') }}",
        unique_key='evidence_key',
        cluster_by=['identifier'],
    )
}}

-- What identity resolution reads from the events, one row per (identifier, visitor): each
-- email-link token a human visitor arrived with (valid or unchecked) and each email hash a
-- human visitor submitted in a form, with when it was first seen and, for tokens, the
-- lowest network it came from. Both are a min over events, so a run folds its new events
-- into the stored rows and never reads the history of events again; late events lower the
-- min exactly as a full build would.
--
-- Retention is the exception: once it has deleted a row's first sightings (received
-- before the cutoff) while later ones remain, the stored mins describe deleted events. The
-- run then counts that row's visitor again from the events left, as a full build would.
-- Only a run whose cutoff passed such a row does (the query that finds the watermarks says
-- whether); it names those visitors as constants, so BigQuery reads only their clustered
-- blocks of the events, and above oie_identity_refold_max_listed visitors (a shortened
-- retention) it reads the retained events' narrow columns by a subquery instead.

{#- a row retention cut into: its first sightings deleted, later ones kept (a table built
    before first_received_at is written whole once) -#}
{% set stored = oie_stored_cut('oie_collected_at', 'last_received_at', 'first_received_at', 'last_received_at', {
    'refold': ['min', 'first_received_at'],
}) %}
{% set cut_into = stored['cut'] %}
{% set loaded = stored['loaded'] %}
{% set received = stored['received'] %}
{% set refold = stored['refold'] %}
{% set cutoff = oie_retention_cutoff() %}

{% set refolded_sql -%}
    select distinct visitor_id
    from {{ this }}
    where {{ cut_into }}
{%- endset %}
{% set listed = oie_listed_visitors(refolded_sql, var('oie_identity_refold_max_listed')) if refold else none %}
{% set by_subquery = refold and not listed %}
{% set refolded_in = listed or '(select refolded.visitor_id from refolded_visitors as refolded)' %}

{% set human_columns = 'event_type, visitor_id, token, token_valid, hem_sha256, ip, event_at, received_at' %}
{% set is_human = "rejection_reason is null and event_type != 'email_click' and not is_bot"
    ~ " and visitor_id is not null" %}

with

{%- if by_subquery %}
refolded_visitors as (
    {{ refolded_sql }}
),
{% endif %}
human_events as (
    select {{ human_columns }}
    from {{ ref('int_events_deduped') }}
    where
        {{ is_human }}{% if loaded %}
        and oie_loaded_at > {{ oie_timestamp_literal(loaded.ts) }}{% endif %}{% if received %}
        and event_at >= {{ oie_event_floor(received.ts) }}{% endif %}{% if refold %}

    union all

    select {{ human_columns }}
    from {{ ref('int_events_deduped') }}
    where
        {{ is_human }}
        and visitor_id in {{ refolded_in }}
        -- what retention left was received after the cutoff: at most the refused age before it
        and event_at >= {{ oie_timestamp_add('day', -1 * var('oie_max_event_age_days'), cutoff) }}{% endif %}
),

observed as (
    select
        'token' as evidence_type,
        token as identifier,
        visitor_id,
        min(event_at) as first_seen_at,
        min(ip) as network,
        min(received_at) as first_received_at,
        max(received_at) as last_received_at
    from human_events
    where token is not null and coalesce(token_valid, true)
    group by token, visitor_id

    union all

    select
        'email_hash' as evidence_type,
        hem_sha256 as identifier,
        visitor_id,
        min(event_at) as first_seen_at,
        null as network,
        min(received_at) as first_received_at,
        max(received_at) as last_received_at
    from human_events
    where event_type = 'form_submit' and hem_sha256 is not null
    group by hem_sha256, visitor_id
),

keyed as (
    select
        evidence_type || ':' || identifier || '|' || visitor_id as evidence_key,
        evidence_type,
        identifier,
        visitor_id,
        first_seen_at,
        network,
        first_received_at,
        last_received_at
    from observed
){% if loaded %},

stored_rows as (
    -- a refolded visitor's rows were counted again from all its events: not folded in
    select *
    from {{ this }}{% if refold %}
    where visitor_id not in {{ refolded_in }}{% endif %}
),

folded as (
    -- the stored row and this run's, as one: the earlier first sight, the lower network
    select
        keyed.evidence_key,
        keyed.evidence_type,
        keyed.identifier,
        keyed.visitor_id,
        case
            when stored.first_seen_at < keyed.first_seen_at then stored.first_seen_at
            else keyed.first_seen_at
        end as first_seen_at,
        case
            when stored.network is null then keyed.network
            when keyed.network is null or stored.network < keyed.network then stored.network
            else keyed.network
        end as network,
        case
            when stored.first_received_at < keyed.first_received_at then stored.first_received_at
            else keyed.first_received_at
        end as first_received_at,
        case
            when stored.last_received_at > keyed.last_received_at then stored.last_received_at
            else keyed.last_received_at
        end as last_received_at
    from keyed
    left join stored_rows as stored on keyed.evidence_key = stored.evidence_key
){% endif %}

select
    *,
    {{ oie_run_timestamp() }} as oie_collected_at
from {{ 'folded' if loaded else 'keyed' }}
