{{ config(materialized='view') }}

-- Visitor -> linked lead, one row per stitched browser visitor (a visitor belongs to at
-- most one lead). Every model that attributes visitors, sessions or events to a lead takes
-- the link from here. Visitors recorded but not linked (later visitors of a forwarded
-- token, super-node overflow) are not in it.

select
    identifier as visitor_id,
    lead_id,
    match_type,
    confidence,
    is_forwarded,
    first_seen_at,
    oie_resolved_at
from {{ ref('int_identifiers_resolved') }}
where identifier_type = 'visitor' and is_linked
