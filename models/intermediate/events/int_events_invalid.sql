{{ config(materialized='view') }}

-- Landed lines the warehouse refuses (unknown event type, `data` that is not a JSON
-- object, missing ids or times), each once. Listed in the rejected_events mart, never
-- silently lost.

select
    event_key as invalid_key,
    received_at,
    event_id,
    event_type,
    ip,
    user_agent,
    event_data_json as event_json,
    rejection_reason as reason
from {{ ref('int_events_deduped') }}
where rejection_reason is not null
