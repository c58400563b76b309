{#- The landed event lines, renamed and typed: the body of stg_oie__events, which reads
    every landing file, and of the local scheduled run's read of new lines
    (int_events_deduped), which names only the landing days since its watermark. Listing
    every landing file is what a whole-landing read pays before it parses anything, and it
    grows with the history (22,800 files at 10M events, 183,000 at 30M). -#}

{% macro oie_staged_events(since_date=none) -%}
  {%- set source_relation = oie_landing_source('raw_events') -%}
  {%- set by_day = since_date is not none and execute and target.type == 'duckdb' -%}
  {%- set new_days = oie_landing_days_source(source_relation, 'events', since_date) if by_day else none -%}
  {%- set every_file = not by_day and oie_landing_has_files('events') -%}
with

source as (
    {%- if every_file and target.type == 'duckdb' %}
    -- every landing file, through a glob DuckDB expands only when the view is read: with hive
    -- partitioning it lists every file of the history to bind the view, on every run (1.5 s
    -- at 30M events), so the partition folders come from each file's name instead
    select
        * exclude (filename),
        cast(regexp_extract(filename, '/dt=([0-9-]+)/', 1) as date) as dt,
        cast(regexp_extract(filename, '/hr=([0-9]+)/', 1) as integer) as hr
    from {{ oie_landing_files_by_name(source_relation) }}
    {%- elif every_file %}
    select * from {{ source_relation }}
    {%- elif new_days %}
    select * from {{ new_days }}
    {%- else %}
    {{ oie_empty_raw_events() }}
    {%- endif %}
),

renamed as (
    select
        event_id,
        type as event_type,
        ts as client_ts_ms,
        sent_at as client_sent_at_ms,
        {{ oie_to_timestamp('received_at') }} as received_at,
        {{ oie_to_timestamp('event_at') }} as event_at,
        {{ oie_landing_date_column() }} as landing_date,
        {{ oie_landing_hour_column() }} as landing_hour,
        visitor_id,
        client_visitor_id,
        client_session_id,
        token,
        token_valid,
        url,
        referrer,
        data as event_data,
        pixel_version,
        ip,
        user_agent,
        device,
        browser,
        os,
        coalesce(is_bot, false) as is_bot_by_collector,
        country,
        region,
        city,
        asn,
        as_org,
        ip_org,
        ip_domain,
        ip_connection_type,
        ip_user_type
    from source
    where {{ oie_not_forgotten([
        ('visitor', 'visitor_id'), ('visitor', 'client_visitor_id'), ('token', 'token')
    ]) }}
)

select * from renamed
{%- endmacro %}

{% macro oie_landing_days_source(relation, stream, since_date) -%}
  {#- `relation` (a landing source as oie_landing_source renders it) reading only the day
      folders (`dt=`) of `stream` from since_date (a 'YYYY-MM-DD' string) to two days after
      this run started that hold a sealed file: its one glob over every day becomes a list
      of day globs, found by one listing of those days' folders only; none when no such
      folder has a file. Landing folders are the UTC day of received_at
      (oie_core/landing.py), so a watermark's lines all lie in them. -#}
  {%- set rendered = relation | string -%}
  {%- set every_day = '/' ~ stream ~ '/*/*/*.ndjson' -%}
  {%- do oie_replace_once(rendered, every_day, every_day) -%}  {#- holds that one glob, or stops -#}
  {%- set head, tail = rendered.split(every_day) -%}
  {%- set quote = head.find("'") -%}
  {%- set folder = head[quote + 1:] -%}
  {%- set start = modules.datetime.date.fromisoformat(since_date) -%}
  {%- set last = [start, run_started_at.date()] | max + modules.datetime.timedelta(days=2) -%}
  {%- set candidates = [] -%}
  {%- for offset in range((last - start).days + 1) -%}
    {%- set day = (start + modules.datetime.timedelta(days=offset)).isoformat() -%}
    {%- do candidates.append("'" ~ folder ~ '/' ~ stream ~ '/dt=' ~ day ~ "/*/*.ndjson'") -%}
  {%- endfor -%}
  {%- set found = run_query(
      "select distinct regexp_extract(file, '/dt=([0-9-]+)/[^/]+/[^/]+$', 1) as day"
      ~ " from glob([" ~ candidates | join(', ') ~ "]) order by day") -%}
  {%- set globs = [] -%}
  {%- for day in found.columns[0].values() -%}
    {%- do globs.append("'" ~ folder ~ '/' ~ stream ~ '/dt=' ~ day ~ "/*/*.ndjson'") -%}
  {%- endfor -%}
  {{ return(head[:quote] ~ '[' ~ globs | join(', ') ~ ']' ~ tail[1:] if globs else none) }}
{%- endmacro %}

{% macro oie_landing_files_by_name(landing_relation) -%}
  {#- `landing_relation` (a landing source as oie_landing_source renders it) without hive
      partitioning, with each row's file name: DuckDB then lists the files only as it reads
      them, not when a view over them is created. -#}
  {%- if not execute -%}
    {#- while dbt parses, source() stands for the model itself -#}
    {{ return(landing_relation) }}
  {%- endif -%}
  {{ return(oie_replace_once(
      landing_relation | string,
      "hive_partitioning=true, hive_types={'dt': 'DATE', 'hr': 'INTEGER'}",
      'hive_partitioning=false, filename=true')) }}
{%- endmacro %}

{% macro oie_replace_once(rendered, old, new) -%}
  {#- `rendered` (a landing source's SQL) with its one `old` replaced by `new`; a source
      whose SQL does not hold `old` exactly once stops the run rather than read the wrong
      files. -#}
  {%- if rendered.count(old) != 1 -%}
    {{ exceptions.raise_compiler_error("the landing source does not hold " ~ old ~ " once: " ~ rendered) }}
  {%- endif -%}
  {{ return(rendered.replace(old, new)) }}
{%- endmacro %}
