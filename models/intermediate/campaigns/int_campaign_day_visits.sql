{{
    config(
        materialized='incremental',
        unique_key='campaign_day',
        post_hook="{{ oie_delete_vanished_rows('campaign_id') }}",
    )
}}

-- depends_on: {{ ref('int_visitor_link_changes') }}
-- depends_on: {{ ref('stg_oie__tombstones') }}

-- Each campaign's visits per UTC day: leads with a human, external, non-quarantined session
-- that started that day (visits), those sessions, and their form submissions. The visits
-- of campaign_daily.
--
-- Incremental by day: a run counts again every campaign of each day whose sessions can have
-- changed, and writes only the rows that changed (macros/changed_rows.sql):
--  * the days spanned by each session written since the last run (a session merged away
--    by a late event started inside the session it merged into, so its day is among them);
--  * the days of every session of a visitor whose link changed since
--    (int_visitor_link_changes) and of every visitor of a lead the lead lists wrote since
--    (its campaign can have changed);
--  * the stored days up to the retention cutoff's day (retention deletes old sessions).
-- An erasure since the last run (a tombstone newer than it: `oie forget` deletes a
-- visitor's sessions and leaves no stamp) counts every day again.

{% set stamped = oie_watermark('oie_counted_at') %}
{% set since = none if stamped and oie_forgotten_since(stamped) else stamped %}

with

sessions as {{ oie_inlined_cte() }} (
    select
        visitor_id,
        started_at,
        ended_at,
        forms_submitted,
        is_bot,
        is_internal,
        is_quarantined,
        oie_sessionized_at
    from {{ ref('int_sessions') }}
),

visitor_leads as {{ oie_inlined_cte() }} (
    select
        visitor_id,
        lead_id
    from {{ ref('int_visitor_leads') }}
),

leads as {{ oie_inlined_cte() }} (
    select
        lead_id,
        campaign_id,
        oie_loaded_at
    from {{ ref('stg_oie__leads') }}
),
{% if since %}
{% set new_since = oie_timestamp_literal(since.ts) %}

touched_visitors as (
    select visitor_id
    from {{ ref('int_visitor_link_changes') }}
    where oie_relinked_at > {{ new_since }}

    union all

    select visitor_leads.visitor_id
    from visitor_leads
    inner join leads on visitor_leads.lead_id = leads.lead_id
    where leads.oie_loaded_at > {{ new_since }}
),

touched_days as {{ oie_materialized_cte() }} (
    select distinct activity_day
    from (
        -- every day a session written since spans
        select cast(spine_day as date) as activity_day  -- noqa: RF03
        from sessions
        {{ oie_day_spine('cast(sessions.started_at as date)', 'cast(sessions.ended_at as date)') }}
        where sessions.oie_sessionized_at > {{ new_since }}  -- noqa: RF03

        union all

        select cast(started_at as date) as activity_day
        from sessions
        where visitor_id in (select touched.visitor_id from touched_visitors as touched)

        union all

        select activity_day
        from {{ this }}
        where activity_day <= cast({{ oie_retention_cutoff() }} as date)
    ) as days
),
{% endif %}

visits as (
    select
        leads.campaign_id,
        cast(sessions.started_at as date) as activity_day,
        count(distinct leads.lead_id) as visits,
        count(*) as sessions,
        sum(sessions.forms_submitted) as form_submissions
    from sessions
    inner join visitor_leads on sessions.visitor_id = visitor_leads.visitor_id
    inner join leads on visitor_leads.lead_id = leads.lead_id
    where
        not sessions.is_bot
        and not sessions.is_internal
        and not sessions.is_quarantined
        and leads.campaign_id is not null{% if since %}
        and cast(sessions.started_at as date) in (select touched_days.activity_day from touched_days){% endif %}
    group by leads.campaign_id, cast(sessions.started_at as date)
),

counted as (
    select
        campaign_id || '|' || cast(activity_day as {{ dbt.type_string() }}) as campaign_day,
        campaign_id,
        activity_day,
        visits,
        sessions,
        form_submissions
    from visits
){% if oie_is_incremental() %},

changed as (
    {{ oie_changed_rows('counted', 'campaign_day', [
        'campaign_id', 'activity_day', 'visits', 'sessions', 'form_submissions',
    ], stored_filter=(
        'stored.activity_day in (select touched_days.activity_day from touched_days)'
        if since else none
    )) }}
){% endif %}

select
    *,
    {{ oie_run_timestamp() }} as oie_counted_at
from {{ 'changed' if oie_is_incremental() else 'counted' }}
