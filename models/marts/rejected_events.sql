-- Everything refused, with its reason: by the ingest function and sealing (raw stream) and
-- by the warehouse's own checks. Nothing is lost silently.

select
    received_at,
    stage,
    reason,
    event_id,
    event_type,
    event_json,
    raw_text,
    ip,
    user_agent
from {{ ref('stg_oie__rejected_events') }}

union all

select
    received_at,
    'warehouse' as stage,
    reason,
    event_id,
    event_type,
    event_json,
    cast(null as {{ dbt.type_string() }}) as raw_text,
    ip,
    user_agent
from {{ ref('int_events_invalid') }}
