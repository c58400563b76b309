{{
    config(
        materialized='incremental',
        unique_key='session_id',
        partition_by=oie_partition_by('started_at'),
        cluster_by=['visitor_id'],
        post_hook=[
            "{% if oie_is_incremental() %}delete from {{ this }} where started_at is null{% endif %}",
            "{{ oie_expire_rows('last_received_at') }}",
        ],
    )
}}

-- One row per session, rebuilt whole for every session re-sessionized in this run (those
-- sessions' events were all re-stamped by int_events_sessionized). Sessions that a late
-- event merged into another disappear from int_events_sessionized: the run writes a row
-- without a start for each (a tombstone, in BigQuery's NULL partition) and the post-hook
-- deletes them. Reads are bounded by constant event times, so BigQuery prunes partitions:
-- the earliest start of a re-sessionized session is read before the model runs.

{#- Sessions retention cut into (some of their lines deleted, others kept) were re-sessionized
    by int_events_sessionized from their stored start on, below this run's floor: their
    visitors are read from their earliest stored start too. One query for the watermarks
    and the cut sessions; a table built before first_received_at is written whole once. -#}
{% set stored = oie_stored_cut('oie_sessionized_at', 'last_received_at', 'first_received_at', 'last_received_at', {
    'cut_low': ['min', 'started_at'],
    'cut_high': ['max', 'started_at'],
}) %}
{% set cut = stored['cut'] %}
{% set loaded = stored['loaded'] %}
{% set received = stored['received'] %}
{% set cut_low = stored['cut_low'] %}
{% set rebuilt_floor = oie_resessionized_floor(loaded, received) if loaded and execute else none %}
{% set cut_sessions = cut ~ ' and ' ~ oie_between_instants('started_at', cut_low, stored['cut_high']) %}
{% set cut_listed = oie_listed_visitors(
    'select distinct visitor_id from ' ~ this ~ ' where ' ~ cut_sessions,
    var('oie_session_cut_max_listed')
) if cut_low else none %}
{% set cut_in = cut_listed or '(select cut_visitors.visitor_id from cut_visitors)' %}
{% set touched_scopes = oie_session_scopes('event_at', 'visitor_id', rebuilt_floor, cut_low, cut_in)
    if loaded else ['1 = 1'] %}
{% set event_scopes = oie_session_scopes('events.event_at', 'events.visitor_id', rebuilt_floor, cut_low, cut_in)
    if loaded else ['1 = 1'] %}
{% set tombstone_scopes = oie_session_scopes('stored.started_at', 'stored.visitor_id', rebuilt_floor, cut_low, cut_in)
    if loaded else [] %}

with
{% if cut_low and not cut_listed %}
cut_visitors as (
    select distinct visitor_id
    from {{ this }}
    where {{ cut_sessions }}
),
{% endif %}

touched as (
    {%- for scope in touched_scopes %}
    {%- if not loop.first %}

    union all
    {% endif %}
    select
        event_id,
        session_id,
        visitor_id,
        session_started_at,
        page_view_index,
        received_at,
        oie_sessionized_at
    from {{ ref('int_events_sessionized') }}
    where
        {{ scope }}{% if loaded %}
        and oie_sessionized_at > {{ oie_timestamp_literal(loaded.ts) }}{% endif %}
    {%- endfor %}
),

{% set event_columns = [
    'visitor_id', 'event_type', 'event_at', 'url_path', 'page_class', 'scroll_depth', 'active_ms',
    'cursor_jitter', 'reading_wpm', 'form_id', 'video_action', 'video_src', 'client_session_id',
    'device', 'browser', 'os', 'country', 'token', 'is_bot', 'is_internal',
] + oie_session_network_columns() %}

{% if loaded %}
rebuilt_visitors as (
    select
        visitor_id,
        min(rebuilt_from) as rebuilt_from
    from (
        select
            visitor_id,
            session_started_at as rebuilt_from
        from touched
        {%- if cut_low %}

        union all

        -- a cut session's stored start: its first lines, deleted, are no longer in touched
        select
            visitor_id,
            started_at as rebuilt_from
        from {{ this }}
        where
            {{ cut_sessions }}
            and visitor_id in {{ cut_in }}
            -- re-sessionized in this run (the sessions' model found the cut the same way)
            and visitor_id in (select touched.visitor_id from touched)
        {%- endif %}
    ) as starts
    group by visitor_id
),
{% endif %}

session_events as (
    {%- for scope in event_scopes %}
    {%- if not loop.first %}

    union all
    {% endif %}
    select
        touched.session_id,
        touched.event_id,
        touched.page_view_index,
        touched.received_at,
        touched.oie_sessionized_at,
        events.{{ event_columns | join(',\n        events.') }}
    from touched
    inner join {{ ref('int_events_deduped') }} as events
        -- a refused line can carry the id of a valid event (a copy retried too late)
        on touched.event_id = events.event_id and events.rejection_reason is null
    where {{ scope }}
    {%- endfor %}
    {%- for scope in tombstone_scopes %}

    union all

    -- tombstones: sessions of re-sessionized visitors, from their first rebuilt session on,
    -- that this run did not write again
    select
        stored.session_id,
        null as event_id,
        null as page_view_index,
        null as received_at,
        null as oie_sessionized_at,
        null as {{ event_columns | join(',\n        null as ') }}
    from {{ this }} as stored
    inner join rebuilt_visitors on stored.visitor_id = rebuilt_visitors.visitor_id
    where
        stored.started_at >= rebuilt_visitors.rebuilt_from
        and {{ scope }}
        and stored.session_id not in (select touched.session_id from touched)
    {%- endfor %}
),

page_views as (
    -- page_exit carries cumulative active time and depth for its page view: take the max.
    select
        session_id,
        page_view_index,
        max(case when event_type = 'pageview' then url_path end) as url_path,
        -- the class of the page view's pageview event (seeds/oie_page_classes.csv)
        max(case when event_type = 'pageview' then page_class end) as page_class,
        coalesce(max(scroll_depth), 0) as max_depth,
        coalesce(max(active_ms), 0) as active_ms
    from session_events
    where page_view_index > 0
    group by session_id, page_view_index
),

page_view_totals as (
    select
        session_id,
        sum(active_ms) as active_ms,
        sum(case when page_class = 'pricing' then 1 else 0 end) as pricing_views,
        sum(case when page_class = 'case_study' then 1 else 0 end) as case_study_views,
        sum(case when page_class = 'product' then 1 else 0 end) as product_views,
        -- recorded, never buying intent: the score reads only the three counts above
        sum(case when page_class = 'careers' then 1 else 0 end) as careers_views,
        sum(
            case when max_depth >= {{ var('oie_score_engagement_deep_scroll_depth') }} then 1 else 0 end
        ) as deep_pageviews,
        {{ oie_string_agg_distinct('url_path') }} as pages_seen
    from page_views
    group by session_id
),

-- page_exit's cursor and reading measures are cumulative too, but a mean and a rate, not a
-- maximum: each page view takes them from its page_exit with the largest active_ms (ties:
-- the latest) among those that carry the measure, as active_ms is the largest one sent.
ranked_exits as (
    select
        session_id,
        cursor_jitter,
        reading_wpm,
        row_number() over (
            partition by session_id, page_view_index
            order by
                case when cursor_jitter is null then 1 else 0 end,
                coalesce(active_ms, -1) desc, event_at desc, event_id desc
        ) as jitter_rank,
        row_number() over (
            partition by session_id, page_view_index
            order by
                case when reading_wpm is null then 1 else 0 end,
                coalesce(active_ms, -1) desc, event_at desc, event_id desc
        ) as wpm_rank
    from session_events
    where event_type = 'page_exit' and page_view_index > 0
),

exit_measures as (
    -- over the page views that have a value: the mean jitter, the median reading speed
    select
        session_id,
        round(avg(case when jitter_rank = 1 then cursor_jitter end), 1) as mean_cursor_jitter,
        {{ oie_median('case when wpm_rank = 1 then reading_wpm end') }} as median_reading_wpm
    from ranked_exits
    where jitter_rank = 1 or wpm_rank = 1
    group by session_id
),

{% set pageview_path = "case when event_type = 'pageview' then url_path end" %}
{% set pageview_at = "case when event_type = 'pageview' then event_at end" %}

event_totals as (
    select
        session_id,
        min(visitor_id) as visitor_id,
        min(event_at) as started_at,
        max(event_at) as ended_at,
        {{ oie_arg_min('url_path', 'event_at') }} as first_url_path,
        {{ oie_arg_min(pageview_path, pageview_at) }} as entry_page,
        {{ oie_arg_max(pageview_path, pageview_at) }} as exit_page,
        sum(case when event_type = 'pageview' then 1 else 0 end) as pageviews,
        sum(case when event_type = 'click' then 1 else 0 end) as clicks,
        coalesce(max(scroll_depth), 0) as max_scroll_depth,
        count(
            distinct case
                when
                    event_type = 'form_start'
                    then cast(page_view_index as {{ dbt.type_string() }}) || '|' || coalesce(form_id, '')
            end
        )
            as forms_started,
        sum(case when event_type = 'form_submit' then 1 else 0 end) as forms_submitted,
        count(distinct case when event_type = 'video' and video_action = 'play' then coalesce(video_src, '') end)
            as videos_played,
        count(
            distinct case
                when
                    event_type = 'video' and video_action = 'complete'
                    then cast(page_view_index as {{ dbt.type_string() }}) || '|' || coalesce(video_src, '')
            end
        )
            as videos_completed,
        count(*) as events,
        count(distinct client_session_id) as client_sessions,
        {{ oie_arg_min('device', 'event_at') }} as device,
        {{ oie_arg_min('browser', 'event_at') }} as browser,
        {{ oie_arg_min('os', 'event_at') }} as os,
        {{ oie_arg_min('country', 'event_at') }} as country,
        {% for column in oie_session_network_columns() -%}
        -- the network of the session's first event (a batch's events share one address)
        {{ oie_arg_min(column, 'event_at') }} as {{ column }},
        {% endfor -%}
        {{ oie_arg_min('token', "case when token is not null then event_at end") }} as first_token,
        {{ oie_bool_or('is_bot') }} as is_bot,
        {{ oie_bool_or('is_internal') }} as is_internal,
        min(received_at) as first_received_at,
        max(received_at) as last_received_at,
        max(oie_sessionized_at) as oie_sessionized_at
    from session_events
    group by session_id
),

measured as (
    select
        event_totals.*,
        cast({{ oie_millis_between('started_at', 'ended_at') }} / 1000 as {{ dbt.type_int() }}) as duration_s,
        coalesce(page_view_totals.active_ms, 0) as active_ms_total,
        coalesce(page_view_totals.pricing_views, 0) as pricing_views,
        coalesce(page_view_totals.case_study_views, 0) as case_study_views,
        coalesce(page_view_totals.product_views, 0) as product_views,
        coalesce(page_view_totals.careers_views, 0) as careers_views,
        coalesce(page_view_totals.deep_pageviews, 0) as deep_pageviews,
        page_view_totals.pages_seen,
        exit_measures.mean_cursor_jitter,
        exit_measures.median_reading_wpm
    from event_totals
    left join page_view_totals on event_totals.session_id = page_view_totals.session_id
    left join exit_measures on event_totals.session_id = exit_measures.session_id
),

final as (
    select
        session_id,
        visitor_id,
        started_at,
        ended_at,
        duration_s,
        -- active time can't exceed the session's span (clock noise, duplicate exits)
        cast(least(active_ms_total / 1000, duration_s) as {{ dbt.type_int() }}) as active_s,
        coalesce(entry_page, first_url_path) as entry_page,
        coalesce(exit_page, first_url_path) as exit_page,
        pageviews,
        clicks,
        max_scroll_depth,
        forms_started,
        forms_submitted,
        videos_played,
        videos_completed,
        pricing_views > 0 as viewed_pricing,
        case_study_views > 0 as viewed_case_study,
        product_views > 0 as viewed_product,
        pricing_views,
        case_study_views,
        product_views,
        careers_views,
        deep_pageviews,
        pages_seen,
        mean_cursor_jitter,
        median_reading_wpm,
        events,
        client_sessions,
        device,
        browser,
        os,
        country,
        {% for column in oie_session_network_columns() -%}
        {{ column }},
        {% endfor -%}
        first_token,
        is_bot,
        is_internal,
        duration_s > {{ var('oie_session_max_minutes') }} * 60 as is_quarantined,
        first_received_at,
        last_received_at,
        oie_sessionized_at
    from measured
)

select
    *,
    -- 0-100: time 40, pages 20, depth 20, interaction 20 (docs/warehouse.md)
    cast(round(
        40 * least(active_s / ({{ var("oie_engagement_active_seconds_full") }} * 1.0), 1)
        + 20 * least(pageviews / ({{ var("oie_engagement_pageviews_full") }} * 1.0), 1)
        + 20 * least(max_scroll_depth / 100.0, 1)
        + least(clicks * 2 + forms_started * 3 + forms_submitted * 10 + videos_played * 3, 20)
    ) as {{ dbt.type_int() }}) as engagement_score
from final
