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

{% set loaded = oie_watermark('oie_collected_at') %}
{% set received = oie_watermark('last_received_at', var('oie_lookback_minutes')) %}

with

human_events as (
    select
        event_type,
        visitor_id,
        token,
        token_valid,
        hem_sha256,
        ip,
        event_at,
        received_at
    from {{ ref('int_events_deduped') }}
    where
        rejection_reason is null
        and event_type != 'email_click'
        and not is_bot
        and visitor_id is not null{% if loaded %}
        and oie_loaded_at > {{ oie_timestamp_literal(loaded.ts) }}{% endif %}{% if received %}
        and event_at >= {{ oie_event_floor(received.ts) }}{% endif %}
),

observed as (
    select
        'token' as evidence_type,
        token as identifier,
        visitor_id,
        min(event_at) as first_seen_at,
        min(ip) as network,
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
        last_received_at
    from observed
){% if loaded %},

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
            when stored.last_received_at > keyed.last_received_at then stored.last_received_at
            else keyed.last_received_at
        end as last_received_at
    from keyed
    left join {{ this }} as stored on keyed.evidence_key = stored.evidence_key
){% endif %}

select
    *,
    {{ oie_run_timestamp() }} as oie_collected_at
from {{ 'folded' if loaded else 'keyed' }}
