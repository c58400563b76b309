-- One row per lead the email tool reported on (Smartlead, Instantly webhooks): sends,
-- opens, the tool's own clicks, replies, bounce, unsubscribe and the latest category
-- (docs/warehouse.md "Email engagement"). Replies count in the intent score; a bounce or
-- an unsubscribe suppresses the lead (no alert, no CRM push).

select
    email.lead_id,
    leads.campaign_id,
    leads.campaign_name,
    email.emails_sent,
    email.opens,
    email.esp_clicks,
    email.replies,
    email.auto_replies,
    email.first_reply_at,
    email.bounced_at,
    email.unsubscribed_at,
    email.last_status,
    email.last_status_at,
    email.last_email_event_at,
    email.is_suppressed
from {{ ref('int_lead_email_engagement') }} as email
inner join {{ ref('stg_oie__leads') }} as leads on email.lead_id = leads.lead_id
