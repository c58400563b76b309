-- One row per landed email-tool webhook event (Smartlead, Instantly; docs/ingest.md "Email
-- webhooks"), typed. A vendor's retry lands the same event_id again: deduped downstream
-- (int_email_events_attributed). The address is only ever its sha256.
with

source as (
    {% if oie_landing_has_files('email_events') %}
        select * from {{ oie_landing_source('raw_email_events') }}
    {% else %}
    {{ oie_empty_raw_email_events() }}
    {% endif %}
),

renamed as (
    select
        event_id,
        source as email_source,
        event as email_event,
        vendor_event,
        status as lead_status,
        {{ oie_to_timestamp('received_at') }} as received_at,
        coalesce(
            {{ oie_to_timestamp('occurred_at') }}, {{ oie_to_timestamp('received_at') }}
        ) as occurred_at,
        campaign_id as vendor_campaign_id,
        campaign_name as vendor_campaign_name,
        step,
        lower(email_sha256) as email_sha256,
        link
    from source
    where event_id is not null and email_sha256 is not null
)

select * from renamed
