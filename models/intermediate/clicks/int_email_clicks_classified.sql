{{
    config(
        materialized='incremental',
        post_hook="{{ oie_expire_rows('received_at') }}",
        unique_key='event_id',
        partition_by=oie_partition_by('clicked_at'),
        cluster_by=['token'],
    )
}}

-- Every click on an email link (/go), with the lead it belongs to and whether it was a link
-- scanner: flagged by the collector (scanner user agents and networks, HEAD requests), from a
-- user agent or network listed in seeds/oie_link_scanners.csv (whatever follows), from a bot,
-- or never followed by a pixel event for its token within oie_scanner_followup_minutes.
-- Scanner clicks never count as visits, recency or clicks in scoring. The email_clicks
-- mart shows this table.
-- Incremental: a run classifies the clicks loaded since the last one, and re-classifies
-- the earlier clicks whose verdict new data can change - a click still waiting for its
-- follow-up when a pixel event with its token arrives, or a click whose token's lead the
-- lead lists wrote again (stg_oie__leads stamps the rows it writes). Nothing else about a
-- click changes after it is loaded.

{% set watermark = oie_watermark('oie_classified_at') %}
{% set received = oie_watermark('received_at', var('oie_lookback_minutes')) %}

{% set token_leads %}
token_leads as (
    select
        token,
        lead_id,
        campaign_id
    from {{ ref('stg_oie__leads') }}
    where token is not null
)
{% endset %}

{% if watermark %}
{#- Every read of int_events_deduped is bounded by a constant event time, so BigQuery prunes
    partitions: new events lie above the event floor of lines received since this table's
    newest click, and the earliest click read again is looked up before the model runs. -#}
{%- set new_floor = oie_event_floor(received.ts) if received else none -%}
{%- set followup_minutes = var('oie_scanner_followup_minutes') + 1 -%}
{% set reopened_ctes %}
with

{{ token_leads }},

new_pixel_tokens as (
    select distinct token
    from {{ ref('int_events_deduped') }}
    where
        oie_loaded_at > {{ oie_timestamp_literal(watermark.ts) }}
        and rejection_reason is null
        and event_type != 'email_click'
        and token is not null
        and not is_bot{% if new_floor %}
        and event_at >= {{ new_floor }}{% endif %}
),

written_leads as (
    -- the lead rows the lead lists wrote since this table's newest click: a lead list edit
    -- can move a click of any age, but only a click of a lead it wrote
    select
        token,
        lead_id,
        campaign_id
    from {{ ref('stg_oie__leads') }}
    where oie_loaded_at > {{ oie_timestamp_literal(watermark.ts) }}
),

awaiting_followup as (
    -- earlier clicks still waiting for a follow-up that a new pixel event can still be
    -- (within the follow-up window): a read of the recent clicks only
    select
        classified.event_id,
        classified.clicked_at
    from {{ this }} as classified
    where
        not classified.has_pixel_followup
        and classified.token in (select new_pixel_tokens.token from new_pixel_tokens){% if new_floor %}
        and classified.clicked_at >= {{ oie_timestamp_add('minute', -1 * followup_minutes, new_floor) }}{% endif %}
),

moved_by_lead_edit as (
    -- clicks of any age whose token's lead, written again, is another lead or campaign, or
    -- whose lead now has another token. On DuckDB two joins, which it skips when the lead
    -- lists wrote nothing (most runs); on BigQuery one read of the stored clicks, as a
    -- second would bill their columns again.
{%- set moved_by_token %}
        coalesce(classified.lead_id, '') != by_token.lead_id
        or coalesce(classified.campaign_id, '') != coalesce(by_token.campaign_id, '')
{%- endset %}
{%- set moved_by_lead = "coalesce(by_lead.token, '') != coalesce(classified.token, '')" %}
{%- if target.type == 'duckdb' %}
    select
        classified.event_id,
        classified.clicked_at
    from {{ this }} as classified
    inner join written_leads as by_token on classified.token = by_token.token
    where
        {{ moved_by_token }}

    union all

    select
        classified.event_id,
        classified.clicked_at
    from {{ this }} as classified
    inner join written_leads as by_lead on classified.lead_id = by_lead.lead_id
    where {{ moved_by_lead }}
{%- else %}
    select
        classified.event_id,
        classified.clicked_at
    from {{ this }} as classified
    left join written_leads as by_token on classified.token = by_token.token
    left join written_leads as by_lead on classified.lead_id = by_lead.lead_id
    where
        (by_token.token is not null and ({{ moved_by_token }}))
        or (by_lead.lead_id is not null and {{ moved_by_lead }})
{%- endif %}
),

reopened as (
    -- earlier clicks whose verdict the new data can change
    select * from awaiting_followup
    union all
    select * from moved_by_lead_edit
)
{% endset %}
{%- set click_floor = none -%}
{%- if new_floor and execute -%}
  {%- set click_floor = oie_query_instant(
      'min(clicked_at)',
      'from (' ~ reopened_ctes ~ ' select clicked_at from reopened union all select '
      ~ new_floor ~ ' as clicked_at) as reread'
  ) -%}
{%- endif %}

{{ reopened_ctes }},
{% else %}
with

{{ token_leads }},
{% endif %}

clicks as (
    select *
    from {{ ref('int_events_deduped') }}
    where
        rejection_reason is null
        and event_type = 'email_click'{% if watermark %}
        and (
            oie_loaded_at > {{ oie_timestamp_literal(watermark.ts) }}
            or event_id in (select reopened.event_id from reopened)
        ){% endif %}{% if click_floor %}
        and event_at >= {{ oie_timestamp_literal(click_floor.ts) }}{% endif %}
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
        and not is_bot{% if click_floor %}
        and event_at >= {{ oie_timestamp_add('minute', -1, oie_timestamp_literal(click_floor.ts)) }}{% endif %}
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

-- Seed patterns are matched against the distinct user agents and networks of the clicks
-- read, then joined back by equality: a few LIKEs per distinct value, whatever the number
-- of clicks.
agent_vendors as (
    select
        seen.user_agent,
        min(scanners.vendor) as scanner_vendor
    from (
        select distinct user_agent from clicks
        where user_agent is not null
    ) as seen
    inner join {{ ref('oie_link_scanners') }} as scanners
        on scanners.kind = 'user_agent' and lower(seen.user_agent) like lower(scanners.pattern)
    group by seen.user_agent
),

network_vendors as (
    select
        seen.ip,
        min(scanners.vendor) as scanner_vendor
    from (
        select distinct ip from clicks
        where ip is not null
    ) as seen
    inner join {{ ref('oie_link_scanners') }} as scanners
        on scanners.kind = 'ip_prefix' and starts_with(seen.ip, scanners.pattern)
    group by seen.ip
),

listed_scanners as (
    -- the first vendor (alphabetically) among the seed rows the click matches
    select
        matched.event_id,
        min(matched.scanner_vendor) as scanner_vendor
    from (
        select
            clicks.event_id,
            agent_vendors.scanner_vendor
        from clicks
        inner join agent_vendors on clicks.user_agent = agent_vendors.user_agent
        union all
        select
            clicks.event_id,
            network_vendors.scanner_vendor
        from clicks
        inner join network_vendors on clicks.ip = network_vendors.ip
    ) as matched
    group by matched.event_id
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
    or clicks.is_bot as is_scanner,
    {{ oie_run_timestamp() }} as oie_classified_at
from clicks
inner join followed on clicks.event_id = followed.event_id
left join listed_scanners on clicks.event_id = listed_scanners.event_id
left join token_leads on clicks.token = token_leads.token
