-- One row per lead with email-tool events: what the sequencer saw (sends, opens, clicks,
-- replies, bounce, unsubscribe, the latest category), and the replies and opens inside the
-- score window (oie_score_window_days before oie_as_of), which the score counts. Events
-- after oie_as_of are ignored, so a fixed as_of reproduces a score. Auto-replies are kept
-- and counted apart, never as replies. A bounce or an unsubscribe suppresses the lead:
-- no alert, no CRM push.

{% set as_of = oie_as_of(var('oie_as_of')) %}
{% set window_start = oie_timestamp_add('day', -1 * var('oie_score_window_days'), as_of) %}

with

events as (
    select
        *,
        occurred_at > {{ window_start }} as in_window
    from {{ ref('int_email_events_attributed') }}
    where lead_id is not null and occurred_at <= {{ as_of }}
),

statuses as (
    select
        lead_id,
        lead_status,
        occurred_at,
        row_number() over (
            partition by lead_id order by occurred_at desc, received_at desc, event_id desc
        ) as latest
    from events
    where email_event = 'status' and lead_status is not null
),

totals as (
    select
        lead_id,
        sum(case when email_event = 'sent' then 1 else 0 end) as emails_sent,
        sum(case when email_event = 'open' then 1 else 0 end) as opens,
        sum(case when email_event = 'click' then 1 else 0 end) as esp_clicks,
        sum(case when email_event = 'reply' then 1 else 0 end) as replies,
        sum(case when email_event = 'auto_reply' then 1 else 0 end) as auto_replies,
        sum(case when email_event = 'reply' and in_window then 1 else 0 end) as replies_in_window,
        sum(case when email_event = 'open' and in_window then 1 else 0 end) as opens_in_window,
        min(case when email_event = 'reply' then occurred_at end) as first_reply_at,
        min(case when email_event = 'bounce' then occurred_at end) as bounced_at,
        min(case when email_event = 'unsubscribe' then occurred_at end) as unsubscribed_at,
        max(occurred_at) as last_email_event_at
    from events
    group by lead_id
)

select
    totals.lead_id,
    cast(totals.emails_sent as {{ dbt.type_int() }}) as emails_sent,
    cast(totals.opens as {{ dbt.type_int() }}) as opens,
    cast(totals.esp_clicks as {{ dbt.type_int() }}) as esp_clicks,
    cast(totals.replies as {{ dbt.type_int() }}) as replies,
    cast(totals.auto_replies as {{ dbt.type_int() }}) as auto_replies,
    cast(totals.replies_in_window as {{ dbt.type_int() }}) as replies_in_window,
    cast(totals.opens_in_window as {{ dbt.type_int() }}) as opens_in_window,
    totals.first_reply_at,
    totals.bounced_at,
    totals.unsubscribed_at,
    statuses.lead_status as last_status,
    statuses.occurred_at as last_status_at,
    totals.last_email_event_at,
    totals.bounced_at is not null as is_bounced,
    totals.unsubscribed_at is not null as is_unsubscribed,
    totals.bounced_at is not null or totals.unsubscribed_at is not null as is_suppressed
from totals
left join statuses on totals.lead_id = statuses.lead_id and statuses.latest = 1
