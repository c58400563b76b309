{{ config(materialized='view') }}

-- Every change that can alter a lead's keys in edge_profiles, stamped with the run that
-- made it: the lead's row of lead_profiles rewritten (rescored, re-imported), a visitor
-- linked to it or relinked (int_visitor_leads), a visitor moved away from it or unlinked
-- (int_visitor_link_changes). The KV sync compares only the keys of the leads changed
-- since its last complete sync (docs/kv.md). One row per change, not per lead: a reader
-- filters on changed_at first, which each table's stamp answers from its newest rows.

select
    lead_id,
    oie_updated_at as changed_at
from {{ ref('lead_profiles') }}

union all

select
    lead_id,
    oie_resolved_at as changed_at
from {{ ref('int_visitor_leads') }}

union all

select
    lead_id,
    oie_relinked_at as changed_at
from {{ ref('int_visitor_link_changes') }}
where lead_id is not null

union all

select
    previous_lead_id as lead_id,
    oie_relinked_at as changed_at
from {{ ref('int_visitor_link_changes') }}
where previous_lead_id is not null
