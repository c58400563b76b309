{{
    config(
        materialized='incremental',
        post_hook="{{ oie_expire_rows('received_at') }}",
        unique_key='event_key',
        oie_delete_floor={'column': 'event_at', 'slack_minutes': 1440},
        partition_by=oie_partition_by('event_at'),
        cluster_by=['visitor_id', 'event_type'],
    )
}}

-- oie_delete_floor: a stored copy of a key carries the same browser time; its clock
-- correction (batch by batch) differs by less than a day. Bounds the delete+insert's
-- delete on DuckDB (macros/incremental.sql).

-- Every landed line once: valid events one row per event_id (the earliest-received copy),
-- typed and unpacked per event type; lines the warehouse refuses (unknown type, malformed
-- data, missing ids) one row each with their rejection_reason, so the landing files are
-- parsed once per run. Incremental on the load time (received_at) minus an overlap window,
-- never on event time: late, out-of-order and concurrently committed events are all still
-- picked up.

{% set watermark = oie_watermark('received_at', var('oie_lookback_minutes')) %}
-- depends_on: {{ ref('stg_oie__events') }}
-- (the local scheduled read below is stg_oie__events' own SQL, rendered over fewer files)

with

staged as (
    {%- if watermark and target.type == 'duckdb' %}
    -- Locally, stg_oie__events' SQL over the landing days since the watermark only: the view
    -- lists every landing file of the history before it prunes (macros/staged_events.sql).
    select * from ({{ oie_staged_events(since_date=watermark.date) }}) as landed
    {%- else %}
    select * from {{ ref('stg_oie__events') }}
    {%- endif %}
    {{ oie_since_watermark(watermark) }}
),

checked as (
    select
        *,
        case
            when event_id is null then 'missing_event_id'
            when received_at is null then 'missing_received_at'
            when event_at is null then 'missing_event_at'
            -- the bound every incremental read of new events relies on (oie_event_floor)
            when event_at < {{ oie_timestamp_add('day', -1 * var('oie_max_event_age_days'), 'received_at') }}
                then 'too_old'
            when event_type is null or event_type not in {{ oie_known_event_types_sql() }}
                then 'unknown_event_type'
            when not {{ oie_json_is_object('event_data') }} then 'malformed_data'
            when visitor_id is null and event_type != 'email_click' then 'missing_visitor_id'
        end as rejection_reason
    from staged
),

{% set received_text = "cast(received_at as " ~ dbt.type_string() ~ ")" %}
{% set line_identity = "coalesce(event_id, '') || '|' || coalesce(" ~ received_text ~ ", '')" %}
{% set line_identity = line_identity ~ " || '|' || coalesce(" ~ oie_json_to_text('event_data') ~ ", '')" %}

keyed as (
    select
        *,
        {{ oie_url_path('url') }} as url_path,
        case
            when rejection_reason is null then event_id
            else 'refused:' || {{ oie_hash(line_identity) }}
        end as event_key
    from checked
),

-- Materialized on DuckDB: the rejection check, the key and the URL path are computed once
-- per line, not once per reader below.
lines as {{ oie_materialized_cte() }} (
    select
        *,
        {{ oie_fingerprint('event_key') }} as key_fingerprint
    from keyed
),

-- The dedupe looks at ids only, so it stays linear in the rows read: a narrow aggregate
-- counts the lines of each key (on a 64-bit fingerprint of it: integers group and join
-- faster than strings; keys that share one are merely ranked below like copies, by their
-- own key), lines whose key is seen once pass straight through, and only the copies of
-- keys landed more than once (retried batches, a few per cent of lines) are ranked: first
-- received wins, ties by event_at, then the browser's send time. No window ever sorts the
-- wide rows of the whole run.
copy_counts as (
    select
        key_fingerprint,
        count(*) as copies
    from lines
    group by key_fingerprint
),

-- A full build's new lines are every line: DuckDB would store all of them a second time
-- (for the two readers below), 7 s and 8 GB at 10M events, where each reader repeating the
-- join to the narrow counts costs under 2 s. A scheduled run's few lines are kept once.
new_lines as {{ oie_inlined_cte() if not oie_is_incremental() }} (
    select
        lines.*,
        copy_counts.copies
    from lines
    inner join copy_counts on lines.key_fingerprint = copy_counts.key_fingerprint{% if oie_is_incremental() %}
    where not exists (
        -- a copy landed earlier carries the same browser time, so it lies above the floor of
        -- this run's lines (a day lower still, for a clock correction that differs by batch)
        select 1 from {{ this }} as existing
        where
            existing.event_key = lines.event_key{% if watermark %}
            and existing.event_at >= {{ oie_event_floor(watermark.ts, 1440) }}{% endif %}
    ){% endif %}
),

single_copies as (
    select
        *,
        1 as copy_rank
    from new_lines
    where copies = 1
),

repeated_copies as (
    select
        *,
        row_number() over (
            partition by event_key
            order by received_at, event_at, client_sent_at_ms
        ) as copy_rank
    from new_lines
    where copies > 1
),

first_copies as (
    select * from single_copies
    union all
    select * from repeated_copies
    where copy_rank = 1
),

-- Seed lists (docs/warehouse.md, "Seeds") are matched against the distinct paths and user
-- agents of this run's rows only, then joined back by equality: a few LIKEs per distinct
-- value, whatever the number of events. They read `lines` (already kept for the dedupe; a
-- superset is harmless for an equality join), so first_copies is read once and never
-- stored a second time.
seen_paths as (
    select distinct url_path
    from lines
),

seen_agents as (
    select distinct user_agent
    from lines
    where user_agent is not null
),

path_matches as (
    select
        seen.url_path as classified_path,
        classes.page_class,
        row_number() over (
            partition by seen.url_path
            order by classes.priority desc, length(classes.pattern) desc, classes.pattern
        ) as match_rank
    from seen_paths as seen
    inner join {{ ref('oie_page_classes') }} as classes on seen.url_path like lower(classes.pattern)
),

path_classes as (
    select
        classified_path,
        page_class
    from path_matches
    where match_rank = 1
),

bot_agents as (
    select distinct seen.user_agent as bot_user_agent
    from seen_agents as seen
    inner join {{ ref('oie_bot_user_agents') }} as bots on lower(seen.user_agent) like lower(bots.pattern)
),

classified as (
    select
        first_copies.*,
        path_classes.page_class as listed_page_class,
        bot_agents.bot_user_agent is not null as is_listed_bot
    from first_copies
    left join path_classes on first_copies.url_path = path_classes.classified_path
    left join bot_agents on first_copies.user_agent = bot_agents.bot_user_agent
),

unpacked as (
    select
        event_key,
        rejection_reason,
        event_id,
        event_type,
        event_at,
        received_at,
        client_ts_ms,
        client_sent_at_ms,
        visitor_id,
        client_visitor_id,
        client_session_id,
        token,
        token_valid,
        url,
        url_path,
        referrer,
        pixel_version,
        ip,
        user_agent,
        device,
        browser,
        os,
        country,
        region,
        city,
        asn,
        as_org,
        ip_org,
        ip_domain,
        ip_connection_type,
        ip_user_type,
        -- a missing user agent or ip is not evidence of a bot or an office visit
        is_bot_by_collector or is_listed_bot as is_bot,
        coalesce({{ oie_starts_with_any('ip', var('oie_internal_ip_prefixes')) }}, false) as is_internal,
        -- seeds/oie_page_classes.csv; a path no pattern matches is 'other'
        coalesce(listed_page_class, 'other') as page_class,
        -- pageview
        case when event_type = 'pageview' then {{ oie_json_str('event_data', 'title') }} end
            as page_title,
        -- scroll_depth and page_exit
        case
            when event_type = 'scroll_depth'
                then {{ oie_safe_int(oie_json_str('event_data', 'depth')) }}
            when event_type = 'page_exit'
                then {{ oie_safe_int(oie_json_str('event_data', 'max_depth')) }}
        end as scroll_depth,
        case when event_type = 'page_exit' then {{ oie_safe_int(oie_json_str('event_data', 'active_ms')) }} end
            as active_ms,
        -- page_exit's pointer and reading measures, cumulative for the page view like active_ms
        case when event_type = 'page_exit' then {{ oie_safe_float(oie_json_str('event_data', 'cursor_jitter')) }} end
            as cursor_jitter,
        case
            when event_type = 'page_exit'
                then {{ oie_safe_int(oie_json_str('event_data', 'cursor_reversals')) }}
        end as cursor_reversals,
        case when event_type = 'page_exit' then {{ oie_safe_int(oie_json_str('event_data', 'cursor_moves')) }} end
            as cursor_moves,
        case when event_type = 'page_exit' then {{ oie_safe_int(oie_json_str('event_data', 'reading_wpm')) }} end
            as reading_wpm,
        -- click
        case when event_type = 'click' then {{ oie_json_str('event_data', 'role') }} end as click_role,
        case when event_type = 'click' then {{ oie_json_str('event_data', 'text') }} end as click_text,
        case when event_type = 'click' then {{ oie_json_str('event_data', 'href') }} end as click_href,
        -- forms
        case
            when event_type in ('form_start', 'form_submit')
                then {{ oie_json_str('event_data', 'form_id') }}
        end as form_id,
        case when event_type = 'form_submit' then lower({{ oie_json_str('event_data', 'hems.sha256') }}) end
            as hem_sha256,
        -- video
        case when event_type = 'video' then {{ oie_json_str('event_data', 'action') }} end as video_action,
        case when event_type = 'video' then {{ oie_json_str('event_data', 'src') }} end as video_src,
        case when event_type = 'video' then {{ oie_safe_int(oie_json_str('event_data', 'percent')) }} end
            as video_percent,
        -- email_click (made by /go)
        case
            when event_type = 'email_click'
                then coalesce({{ oie_safe_bool(oie_json_str('event_data', 'scanner')) }}, false)
        end as is_scanner_flagged,
        case when event_type = 'email_click' then {{ oie_json_str('event_data', 'to') }} end as click_to,
        {{ oie_json_to_text('event_data') }} as event_data_json,
        {{ oie_run_timestamp() }} as oie_loaded_at
    from classified
)

select * from unpacked
