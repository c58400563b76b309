-- Every click on an email link (/go), with the lead it belongs to and whether it was a link
-- scanner: flagged by the collector (scanner user agents and networks, HEAD requests), from a
-- user agent or network listed in seeds/oie_link_scanners.csv (whatever follows), from a bot,
-- or never followed by a pixel event for its token within oie_scanner_followup_minutes.
-- Scanner clicks never count as visits, recency or clicks in scoring. The email_clicks
-- mart shows this table.

with

clicks as (
    select *
    from {{ ref('int_events_deduped') }}
    where rejection_reason is null and event_type = 'email_click'
),

token_leads as (
    select
        token,
        lead_id,
        campaign_id
    from {{ ref('stg_oie__leads') }}
    where token is not null
),

pixel_token_events as (
    select
        token,
        event_at
    from {{ ref('int_events_deduped') }}
    where
        rejection_reason is null
        and event_type != 'email_click'
        and token is not null
        and not is_bot
),

followed as (
    select
        clicks.event_id,
        count(pixel_token_events.token) > 0 as has_pixel_followup
    from clicks
    left join pixel_token_events
        on
            clicks.token = pixel_token_events.token
            and pixel_token_events.event_at >= {{ oie_timestamp_add('minute', -1, 'clicks.event_at') }}
            and pixel_token_events.event_at
            <= {{ oie_timestamp_add('minute', var('oie_scanner_followup_minutes'), 'clicks.event_at') }}
    group by clicks.event_id
),

listed_scanners as (
    -- the first vendor (alphabetically) among the seed rows the click matches
    select
        clicks.event_id,
        min(scanners.vendor) as scanner_vendor
    from clicks
    inner join {{ ref('oie_link_scanners') }} as scanners
        on
            (scanners.kind = 'user_agent' and lower(clicks.user_agent) like lower(scanners.pattern))
            or (scanners.kind = 'ip_prefix' and starts_with(clicks.ip, scanners.pattern))
    group by clicks.event_id
)

select
    clicks.event_id,
    clicks.event_at as clicked_at,
    clicks.received_at,
    clicks.token,
    coalesce(clicks.token_valid, false) as token_valid,
    token_leads.lead_id,
    token_leads.campaign_id,
    clicks.click_to,
    clicks.user_agent,
    clicks.ip,
    clicks.is_scanner_flagged,
    followed.has_pixel_followup,
    listed_scanners.scanner_vendor,
    clicks.is_scanner_flagged
    or listed_scanners.scanner_vendor is not null
    or not followed.has_pixel_followup
    or clicks.is_bot as is_scanner
from clicks
inner join followed on clicks.event_id = followed.event_id
left join listed_scanners on clicks.event_id = listed_scanners.event_id
left join token_leads on clicks.token = token_leads.token
