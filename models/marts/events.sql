{{ config(materialized='view') }}

-- One row per event, deduplicated on event_id, with the canonical session and the lead the
-- visitor is stitched to (identity is re-resolved on every build, so a form submitted
-- today attributes the visitor's earlier events too). Email clicks have no session.

{% set shared_columns = oie_event_mart_columns() %}
{% set leading_columns = ['event_id', 'event_type', 'event_at', 'received_at', 'visitor_id'] %}

with

visitor_leads as (
    select
        visitor_id,
        lead_id
    from {{ ref('int_visitor_leads') }}
),

token_leads as (
    select
        identifier as token,
        lead_id
    from {{ ref('int_identifiers_resolved') }}
    where identifier_type = 'token'
),

browser_events as (
    select
        {% for column in shared_columns %}events.{{ column }},
        {% endfor %}sessions.session_id,
        cast(null as {{ dbt.type_boolean() }}) as is_scanner_flagged,
        -- every newly loaded event is sessionized in the same run, so this is never older
        sessions.oie_sessionized_at as oie_updated_at
    from {{ ref('int_events_sessionized') }} as sessions
    -- A refused line can carry the id of a valid event (a copy retried too late). The event
    -- time is the event's own on both sides: joining on it too lets DuckDB skip the row
    -- groups of older events when a reader wants recent or new rows only (a scheduled run's
    -- tests read this run's: 0.26 s -> 0.07 s at 10M events).
    inner join {{ ref('int_events_deduped') }} as events
        on
            sessions.event_id = events.event_id
            and sessions.event_at = events.event_at
            and events.rejection_reason is null
),

click_events as (
    select
        {% for column in shared_columns %}{{ column }},
        {% endfor %}cast(null as {{ dbt.type_string() }}) as session_id,
        is_scanner_flagged,
        oie_loaded_at as oie_updated_at
    from {{ ref('int_events_deduped') }}
    where rejection_reason is null and event_type = 'email_click'
),

all_events as (
    select * from browser_events
    union all
    select * from click_events
)

select
    all_events.event_id,
    all_events.event_type,
    all_events.event_at,
    all_events.received_at,
    all_events.session_id,
    all_events.visitor_id,
    coalesce(
        visitor_leads.lead_id,
        case when all_events.event_type = 'email_click' then token_leads.lead_id end
    ) as lead_id,
    {% for column in shared_columns if column not in leading_columns %}
    all_events.{{ column }},
    {% endfor %}
    all_events.is_scanner_flagged,
    all_events.oie_updated_at
from all_events
left join visitor_leads on all_events.visitor_id = visitor_leads.visitor_id
left join token_leads on all_events.token = token_leads.token
