{{
    config(
        materialized='incremental',
        unique_key='lead_id',
        cluster_by=['lead_id'],
    )
}}

-- What each lead did inside the score window (oie_score_window_days before oie_as_of):
-- human, external, non-quarantined sessions of the lead's linked visitors, and genuine
-- (non-scanner) email clicks. Activity after oie_as_of is ignored so a fixed as_of
-- reproduces a score.
--
-- Incremental by lead: a run recounts only the leads whose totals can have changed - new
-- or re-imported leads, leads whose sessions or clicks this run wrote, leads that gained
-- or lost a visitor or whose token turned forwarded, and leads with a session or click
-- that entered or left the window since the lead was last counted (counted_from ..
-- counted_as_of). Every other lead's totals are still those of the current window. The
-- score itself (recency moves with the clock) is recomputed for every lead downstream, in
-- int_lead_scores: one narrow pass per run.
--
-- None of these checks reads history per lead:
--  * a lead gained or lost a visitor exactly when int_visitor_link_changes stamped a change
--    of one of its visitors (to the lead or from it) since the last count; a row written
--    since in int_identifiers_resolved (a token turned forwarded) recounts its lead too.
--    New and re-imported leads are the lead list's rows written since.
--  * every lead agreed with the window of the last run that counted (the counted_from and
--    counted_as_of of the rows it wrote; older rows may carry older windows that the lead
--    still agreed with), so a session or click can only have entered or left a lead's
--    window if it starts between that run's window edges and this run's (either way
--    round: an as_of moved back). Sessions and clicks written since are found by stamp.
-- Two things leave no stamp: a change of oie_internal_email_domains (the rows carry a
-- fingerprint of it, activity_vars) and an erasure (`oie forget` deletes a visitor's rows
-- wherever they are). A run after either compares every lead's inputs with its stored row
-- instead, as does the first run on a table written before activity_vars existed.

-- depends_on: {{ ref('int_visitor_link_changes') }}
-- depends_on: {{ ref('stg_oie__tombstones') }}
{% set as_of = oie_as_of(var('oie_as_of')) %}
{% set window_start = oie_timestamp_add('day', -1 * var('oie_score_window_days'), as_of) %}
{% set activity_vars = local_md5(tojson([var('oie_internal_email_domains')])) %}
{% set watermark = oie_watermark('oie_counted_at') %}
{% set narrow = false %}
{% if watermark %}
{% set new_since = oie_timestamp_literal(watermark.ts) %}
{#- the instants a session or click must start between to have crossed a window edge since
    the last run that counted: between its window (that of the rows it wrote) and this one;
    and whether that run counted with this run's vars -#}
{% set last_count = {
    'from_low': 'least(max(counted_from), ' ~ window_start ~ ')',
    'from_high': 'greatest(max(counted_from), ' ~ window_start ~ ')',
    'to_low': 'least(max(counted_as_of), ' ~ as_of ~ ')',
    'to_high': 'greatest(max(counted_as_of), ' ~ as_of ~ ')',
} %}
{% if oie_stored_has_column('activity_vars') %}
{% do last_count.update({'same_vars': "case when min(activity_vars) = '" ~ activity_vars
    ~ "' and max(activity_vars) = '" ~ activity_vars ~ "' then max(oie_counted_at) end"}) %}
{% endif %}
{% set edges = oie_query_instants(last_count, 'from ' ~ this
    ~ ' where oie_counted_at = (select max(oie_counted_at) from ' ~ this ~ ')') %}
{% set narrow = edges.get('same_vars') is not none %}
{#- an erasure since the last count (the offline compile check renders the narrow run) -#}
{% set narrow = narrow and not oie_forgotten_since(watermark) %}
{% endif %}

with

leads as (
    select * from {{ ref('stg_oie__leads') }}
),

visitor_leads as (
    select * from {{ ref('int_visitor_leads') }}
),

clicks as (
    select * from {{ ref('int_email_clicks_classified') }}
),

{#- what a lead's totals depend on besides sessions and clicks: on a narrow run computed
    for the recounted leads only (after them, below), otherwise for every lead, and compared
    with the stored row to find the leads to recount -#}
{% set lead_inputs_ctes %}
visitor_counts as (
    select
        lead_id,
        count(*) as visitors
    from {{ 'recounted_visitors' if narrow else 'visitor_leads' }}
    group by lead_id
),

forwarded_tokens as (
    select
        lead_id,
        is_forwarded as token_forwarded
    from {{ ref('int_identifiers_resolved') }}
    where
        identifier_type = 'token'{% if narrow %}
        and lead_id in (select recounted.lead_id from recounted){% endif %}
),

lead_inputs as (
    select
        leads.lead_id,
        leads.created_at as lead_created_at,
        {% if var('oie_internal_email_domains') %}
            coalesce({{ dbt.split_part('leads.email', "'@'", 2) }} in ('{{ var('oie_internal_email_domains') | map('lower') | join("', '") }}'), false)
        {% else %}
        false
        {% endif %} as is_internal_lead,
        coalesce(visitor_counts.visitors, 0) as visitors,
        coalesce(forwarded_tokens.token_forwarded, false) as token_forwarded
    from leads{% if narrow %}
    inner join recounted on leads.lead_id = recounted.lead_id{% endif %}
    left join visitor_counts on leads.lead_id = visitor_counts.lead_id
    left join forwarded_tokens on leads.lead_id = forwarded_tokens.lead_id
),
{% endset %}
{% if watermark and not narrow %}
{{ lead_inputs_ctes }}
{% endif %}

{% if watermark %}
counted as (
    select
        lead_id,
        lead_created_at,
        is_internal_lead,
        visitors,
        token_forwarded,
        counted_from,
        counted_as_of
    from {{ this }}
),

{% if narrow %}
link_changes as (
    select
        lead_id,
        previous_lead_id
    from {{ ref('int_visitor_link_changes') }}
    where oie_relinked_at > {{ new_since }}
),

changed_leads as (
    -- leads the lead lists wrote since the last count: new, or written again
    select lead_id
    from leads
    where oie_loaded_at > {{ new_since }}

    union all

    -- leads that gained or lost a linked visitor since
    select lead_id
    from link_changes
    where lead_id is not null

    union all

    select previous_lead_id as lead_id
    from link_changes
    where previous_lead_id is not null
),
{% else %}
changed_leads as (
    select lead_inputs.lead_id
    from lead_inputs
    left join counted on lead_inputs.lead_id = counted.lead_id
    where
        counted.lead_id is null
        or lead_inputs.lead_created_at != counted.lead_created_at
        or lead_inputs.is_internal_lead != counted.is_internal_lead
        or lead_inputs.visitors != counted.visitors
        or lead_inputs.token_forwarded != counted.token_forwarded
),

{% endif %}

identity_changes as (
    select lead_id
    from {{ ref('int_identifiers_resolved') }}
    where oie_resolved_at > {{ new_since }}
),

session_changes as (
    -- sessions written since the last count
    select visitor_leads.lead_id
    from {{ ref('int_sessions') }} as sessions
    inner join visitor_leads on sessions.visitor_id = visitor_leads.visitor_id
    where sessions.oie_sessionized_at > {{ new_since }}
    {%- for edge in ['from', 'to'] %}

    union all

    -- sessions that entered or left the lead's window at its {{ edge }} edge
    select visitor_leads.lead_id
    from {{ ref('int_sessions') }} as sessions
    inner join visitor_leads on sessions.visitor_id = visitor_leads.visitor_id
    left join counted on visitor_leads.lead_id = counted.lead_id
    where
        {{ oie_between_instants('sessions.started_at', edges[edge ~ '_low'], edges[edge ~ '_high']) }}
        and coalesce(
            sessions.started_at >= counted.counted_from
            and sessions.started_at <= counted.counted_as_of,
            false
        )
        != (sessions.started_at >= {{ window_start }} and sessions.started_at <= {{ as_of }})
    {%- endfor %}
),

click_changes as (
    -- clicks written since the last count
    select clicks.lead_id
    from clicks
    where clicks.lead_id is not null and clicks.oie_classified_at > {{ new_since }}
    {%- for edge in ['from', 'to'] %}

    union all

    -- clicks that entered or left the lead's window at its {{ edge }} edge
    select clicks.lead_id
    from clicks
    left join counted on clicks.lead_id = counted.lead_id
    where
        clicks.lead_id is not null
        and {{ oie_between_instants('clicks.clicked_at', edges[edge ~ '_low'], edges[edge ~ '_high']) }}
        and coalesce(
            clicks.clicked_at >= counted.counted_from
            and clicks.clicked_at <= counted.counted_as_of,
            false
        )
        != (clicks.clicked_at >= {{ window_start }} and clicks.clicked_at <= {{ as_of }})
    {%- endfor %}
),

recounted as (
    select distinct lead_id
    from (
        select lead_id from changed_leads
        union all
        select lead_id from identity_changes
        union all
        select lead_id from session_changes
        union all
        select lead_id from click_changes
    ) as changes
),

recounted_visitors as {{ oie_materialized_cte() }} (
    -- the recounted leads' visitors first, then their sessions: joined the other way round
    -- DuckDB matched every session to its lead before keeping the few recounted (0.5 s ->
    -- 0.3 s at 10M events)
    select
        visitor_leads.visitor_id,
        visitor_leads.lead_id
    from visitor_leads
    inner join recounted on visitor_leads.lead_id = recounted.lead_id
),
{% endif %}
{% if narrow or not watermark %}
{{ lead_inputs_ctes }}
{% endif %}

human_sessions as (
    -- all-time sessions of the leads' linked visitors, without bot, internal and
    -- quarantined ones
    select
        visitor_leads.lead_id,
        sessions.session_id,
        sessions.started_at,
        sessions.ended_at,
        sessions.pageviews,
        sessions.active_s,
        sessions.deep_pageviews,
        sessions.pricing_views,
        sessions.case_study_views,
        sessions.product_views,
        sessions.forms_submitted,
        sessions.videos_completed,
        sessions.pages_seen,
        sessions.mean_cursor_jitter,
        sessions.median_reading_wpm
    from {{ ref('int_sessions') }} as sessions
    inner join {{ 'recounted_visitors' if watermark else 'visitor_leads' }} as visitor_leads
        on sessions.visitor_id = visitor_leads.visitor_id
    where not sessions.is_bot and not sessions.is_internal and not sessions.is_quarantined
),

scored_sessions as (
    select *
    from human_sessions
    where
        started_at >= {{ window_start }}
        and started_at <= {{ as_of }}
),

all_human_sessions as (
    select
        lead_id,
        min(started_at) as first_visit_at,
        max(ended_at) as last_session_at
    from human_sessions
    group by lead_id
),

session_totals as (
    select
        lead_id,
        count(*) as total_sessions,
        sum(pageviews) as total_pageviews,
        sum(active_s) as total_active_s,
        sum(deep_pageviews) as deep_pageviews,
        sum(pricing_views) as pricing_page_visits,
        sum(case_study_views) as case_study_views,
        sum(product_views) as product_page_views,
        sum(forms_submitted) as form_submissions,
        sum(videos_completed) as videos_completed,
        -- over the sessions that measured them (sessions.mean_cursor_jitter, median_reading_wpm)
        round(avg(mean_cursor_jitter), 1) as mean_cursor_jitter,
        {{ oie_median('median_reading_wpm') }} as median_reading_wpm,
        max(ended_at) as last_session_in_window_at
    from scored_sessions
    group by lead_id
),

pages as (
    -- from each session's own list (its first 20 distinct paths, sorted): every path among a
    -- lead's first 20 is among the first 20 of its session, so no event is read again
    select
        session_pages.lead_id,
        {{ oie_string_agg_distinct('session_pages.url_path') }} as pages_seen
    from (
        select
            scored_sessions.lead_id,
            {{ oie_unnested('page', 'url_path') }} as url_path
        from scored_sessions
        cross join {{ oie_unnest_list("scored_sessions.pages_seen", "page", "url_path") }}
    ) as session_pages
    group by session_pages.lead_id
),

genuine_clicks as (
    select
        lead_id,
        min(clicked_at) as first_click_at,
        max(case when clicked_at >= {{ window_start }} and clicked_at <= {{ as_of }} then clicked_at end)
            as last_click_in_window_at,
        count(*) as email_clicks
    from clicks
    where
        lead_id is not null
        and not is_scanner{% if watermark %}
        and lead_id in (select recounted.lead_id from recounted){% endif %}
    group by lead_id
),

scanner_clicks as (
    select
        lead_id,
        count(*) as scanner_clicks
    from clicks
    where
        lead_id is not null
        and is_scanner{% if watermark %}
        and lead_id in (select recounted.lead_id from recounted){% endif %}
    group by lead_id
)

select
    leads.lead_id,
    leads.is_internal_lead,
    genuine_clicks.first_click_at,
    all_human_sessions.first_visit_at,
    all_human_sessions.last_session_at as last_visit_at,
    coalesce(session_totals.total_sessions, 0) as total_sessions,
    coalesce(session_totals.total_pageviews, 0) as total_pageviews,
    coalesce(session_totals.total_active_s, 0) as total_active_s,
    coalesce(session_totals.deep_pageviews, 0) as deep_pageviews,
    coalesce(session_totals.pricing_page_visits, 0) as pricing_page_visits,
    coalesce(session_totals.case_study_views, 0) as case_study_views,
    coalesce(session_totals.product_page_views, 0) as product_page_views,
    coalesce(session_totals.form_submissions, 0) as form_submissions,
    coalesce(session_totals.videos_completed, 0) as videos_completed,
    session_totals.mean_cursor_jitter,
    session_totals.median_reading_wpm,
    coalesce(genuine_clicks.email_clicks, 0) as email_clicks,
    coalesce(scanner_clicks.scanner_clicks, 0) as scanner_clicks,
    leads.visitors,
    leads.token_forwarded,
    pages.pages_seen,
    -- the newest human touch inside the window: a session or a genuine click
    case
        when session_totals.last_session_in_window_at is null then genuine_clicks.last_click_in_window_at
        when genuine_clicks.last_click_in_window_at is null then session_totals.last_session_in_window_at
        else greatest(session_totals.last_session_in_window_at, genuine_clicks.last_click_in_window_at)
    end as last_activity_at,
    leads.lead_created_at,
    {{ window_start }} as counted_from,
    {{ as_of }} as counted_as_of,
    '{{ activity_vars }}' as activity_vars,
    {{ oie_run_timestamp() }} as oie_counted_at
from lead_inputs as leads{% if watermark %}
inner join recounted on leads.lead_id = recounted.lead_id{% endif %}
left join session_totals on leads.lead_id = session_totals.lead_id
left join pages on leads.lead_id = pages.lead_id
left join all_human_sessions on leads.lead_id = all_human_sessions.lead_id
left join genuine_clicks on leads.lead_id = genuine_clicks.lead_id
left join scanner_clicks on leads.lead_id = scanner_clicks.lead_id
