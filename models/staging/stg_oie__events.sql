-- One row per landed event line: renamed and typed, nothing else. Duplicates (at-least-once
-- landing) and invalid rows are handled downstream. A forgotten visitor or token is dropped
-- here (macros/tombstones.sql).
with

source as (
    {% if oie_landing_has_files('events') %}
    select * from {{ oie_landing_source('raw_events') }}
    {% else %}
    {{ oie_empty_raw_events() }}
    {% endif %}
),

renamed as (
    select
        event_id,
        type as event_type,
        ts as client_ts_ms,
        sent_at as client_sent_at_ms,
        {{ oie_to_timestamp('received_at') }} as received_at,
        {{ oie_to_timestamp('event_at') }} as event_at,
        {{ oie_landing_date_column() }} as landing_date,
        {{ oie_landing_hour_column() }} as landing_hour,
        visitor_id,
        client_visitor_id,
        client_session_id,
        token,
        token_valid,
        url,
        referrer,
        data as event_data,
        pixel_version,
        ip,
        user_agent,
        device,
        browser,
        os,
        coalesce(is_bot, false) as is_bot_by_collector,
        country,
        region,
        city,
        asn,
        as_org,
        ip_org,
        ip_domain,
        ip_connection_type,
        ip_user_type
    from source
    where {{ oie_not_forgotten([
        ('visitor', 'visitor_id'), ('visitor', 'client_visitor_id'), ('token', 'token')
    ]) }}
)

select * from renamed
