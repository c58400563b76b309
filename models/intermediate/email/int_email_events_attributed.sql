-- One row per email-tool event (a vendor's retries collapse on event_id), with the lead it
-- belongs to: the leads whose address hash is the event's, preferring the lead of the
-- campaign the vendor names (campaign names compared trimmed and lowercased), then the
-- newest lead. lead_id is null for an address no lead list holds (or a forgotten person).
-- Small next to the behaviour events (a few per email sent): rebuilt whole each run.

with

events as (
    select
        *,
        row_number() over (
            partition by event_id order by received_at, vendor_event
        ) as delivery
    from {{ ref('stg_oie__email_events') }}
),

deduped as (
    select * from events
    where delivery = 1
),

leads as (
    select
        lead_id,
        email_sha256,
        campaign_name,
        created_at
    from {{ ref('stg_oie__leads') }}
    where email_sha256 is not null
),

candidates as (
    select
        deduped.event_id,
        leads.lead_id,
        row_number() over (
            partition by deduped.event_id
            order by
                case
                    when lower(trim(leads.campaign_name)) = lower(trim(deduped.vendor_campaign_name))
                        then 0
                    else 1
                end asc,
                leads.created_at desc,
                leads.lead_id asc
        ) as preference
    from deduped
    inner join leads on deduped.email_sha256 = leads.email_sha256
)

select
    deduped.event_id,
    candidates.lead_id,
    deduped.email_source,
    deduped.email_event,
    deduped.vendor_event,
    deduped.lead_status,
    deduped.occurred_at,
    deduped.received_at,
    deduped.vendor_campaign_id,
    deduped.vendor_campaign_name,
    deduped.step,
    deduped.email_sha256,
    deduped.link
from deduped
left join candidates
    on deduped.event_id = candidates.event_id and candidates.preference = 1
