{{ config(materialized='view') }}

-- Every click on an email link (/go), with the lead it belongs to and the scanner verdict.
-- The classification itself is int_email_clicks_classified.

select
    event_id,
    clicked_at,
    received_at,
    token,
    token_valid,
    lead_id,
    campaign_id,
    click_to,
    user_agent,
    ip,
    is_scanner_flagged,
    scanner_vendor,
    has_pixel_followup,
    is_scanner,
    oie_classified_at as oie_updated_at
from {{ ref('int_email_clicks_classified') }}
