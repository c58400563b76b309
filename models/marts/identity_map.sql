{{ config(materialized='view') }}

-- Identifier -> lead, one row per identifier, with match_type and confidence. The
-- resolution itself is int_identifiers_resolved.

select
    identity_key,
    identifier_type,
    identifier,
    lead_id,
    match_type,
    confidence,
    is_linked,
    is_forwarded,
    first_seen_at,
    oie_resolved_at as oie_updated_at
from {{ ref('int_identifiers_resolved') }}
