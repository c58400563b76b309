-- Events and bodies refused by the ingest function or by sealing, with their reason; a
-- refused event of a forgotten visitor or token is dropped (macros/tombstones.sql).
with

source as (
    {% if oie_landing_has_files('rejected') %}
        select * from {{ oie_landing_source('raw_rejected_events') }}
    {% else %}
    {{ oie_empty_raw_rejected_events() }}
    {% endif %}
),

renamed as (
    select
        {{ oie_to_timestamp('received_at') }} as received_at,
        reason,
        stage,
        event_id,
        type as event_type,
        {{ oie_json_to_text('event') }} as event_json,
        raw as raw_text,
        ip,
        user_agent
    from source
    where {{ oie_not_forgotten([
        ('visitor', oie_json_str('event', 'visitor_id')), ('token', oie_json_str('event', 'token'))
    ]) }}
)

select * from renamed
