{{
    config(
        materialized='incremental',
        unique_key='invalid_key',
        incremental_strategy=oie_incremental_strategy(),
        partition_by=oie_partition_by('received_at'),
    )
}}

-- Landed lines the warehouse refuses (unknown event type, `data` that is not a JSON
-- object, missing ids or times). Listed in the rejected_events mart, never silently lost.
-- Incremental on the same received_at watermark as int_events_deduped, so a run reads only
-- recent landing partitions.

{% set watermark = oie_watermark('received_at', var('oie_lookback_minutes')) %}

with

staged as (
    select * from {{ ref('stg_oie__events') }}
    {{ oie_since_watermark(watermark) }}
),

checked as (
    select
        received_at,
        event_id,
        event_type,
        ip,
        user_agent,
        {{ oie_json_to_text('event_data') }} as event_json,
        case
            when event_id is null then 'missing_event_id'
            when received_at is null then 'missing_received_at'
            when event_at is null then 'missing_event_at'
            when
                event_type is null
                or event_type not in {{ oie_known_event_types_sql() }}
                then 'unknown_event_type'
            when not {{ oie_json_is_object('event_data') }} then 'malformed_data'
            when visitor_id is null and event_type != 'email_click' then 'missing_visitor_id'
        end as reason
    from staged
)

{% set received_text = "cast(received_at as " ~ dbt.type_string() ~ ")" %}
{% set line_identity = "coalesce(event_id, '') || '|' || coalesce(" ~ received_text ~ ", '')" %}
{% set line_identity = line_identity ~ " || '|' || coalesce(event_json, '')" %}

select
    {{ oie_hash(line_identity) }} as invalid_key,
    *
from checked
where reason is not null
