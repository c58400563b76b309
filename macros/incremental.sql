{#- Incremental plumbing shared by the models: the watermark an incremental run reads
    from its own table and the filter it becomes (on the landing partition column, so old
    partitions are skipped), the run stamp, BigQuery partitioning, and is_incremental()
    with the offline-compile switch. -#}

{% macro oie_watermark(column, lookback_minutes=0) -%}
  {#- The newest `column` already in this model, minus a lookback, as literal strings
      {'ts': ..., 'date': ...}; none on a first or full-refresh build. Read at run time so the
      filter is a constant: that is what lets DuckDB skip old hive partitions and BigQuery
      prune partitions. -#}
  {%- set shifted = oie_timestamp_add('minute', -1 * lookback_minutes, 'max(' ~ column ~ ')') -%}
  {{ return(oie_stored_instant(shifted, column)) }}
{%- endmacro %}

{% macro oie_stored_instant(instant, column) -%}
  {#- `instant`, an aggregate over this model's stored rows, on an incremental run (see
      oie_query_instant); none on a first or full-refresh build, and none while the table
      lacks `column`: a column added since the table was built (on_schema_change appends
      it only when the model runs) gives no watermark yet. -#}
  {%- if var('oie_offline_compile', none) == 'incremental' -%}
    {{ return({'ts': '2026-01-01 00:00:00', 'date': '2026-01-01'}) }}
  {%- endif -%}
  {%- if not oie_stored_has_column(column) -%}
    {{ return(none) }}
  {%- endif -%}
  {{ return(oie_query_instant(instant, 'from ' ~ this)) }}
{%- endmacro %}

{% macro oie_stored_has_column(column) -%}
  {#- True on an incremental run whose stored table has `column` (on_schema_change appends a
      new column only when the model runs, so a table built before it lacks it); always in
      the offline compile check's incremental mode. -#}
  {%- if var('oie_offline_compile', none) == 'incremental' -%}
    {{ return(true) }}
  {%- endif -%}
  {%- if not execute or not oie_is_incremental() -%}
    {{ return(false) }}
  {%- endif -%}
  {%- set stored = adapter.get_columns_in_relation(this) | map(attribute='name') | map('lower') | list -%}
  {{ return(column | lower in stored) }}
{%- endmacro %}

{% macro oie_query_instant(instant, from_clause) -%}
  {#- One instant computed by the warehouse at run time (`select <instant> <from_clause>`), as
      literal strings {'ts': ..., 'date': ...} for oie_timestamp_literal; none when it is null.
      See oie_query_instants. -#}
  {{ return(oie_query_instants({'instant': instant}, from_clause)['instant']) }}
{%- endmacro %}

{% macro oie_query_instants(instants, from_clause) -%}
  {#- Several instants ({name: SQL expression}) in one query, so one round trip (on BigQuery,
      one job): {name: {'ts': ..., 'date': ...}, or none where the instant is null}.
      On BigQuery an instant travels as integer microseconds (oie_timestamp_literal turns
      them back into timestamp_micros): the emulator renders some timestamps as text that
      it cannot parse again. In the offline compile check, a placeholder each. -#}
  {%- set found = {} -%}
  {%- if var('oie_offline_compile', none) == 'incremental' -%}
    {%- for name in instants -%}
      {%- do found.update({name: {'ts': '2026-01-01 00:00:00', 'date': '2026-01-01'}}) -%}
    {%- endfor -%}
    {{ return(found) }}
  {%- endif -%}
  {%- set sql -%}
    select
    {%- for name, instant in instants.items() %}
        {{ 'cast(unix_micros(' ~ instant ~ ') as string)' if target.type == 'bigquery'
           else 'cast(' ~ instant ~ ' as ' ~ dbt.type_string() ~ ')' }} as ts_{{ loop.index }},
        cast(cast({{ instant }} as date) as {{ dbt.type_string() }}) as dt_{{ loop.index }}{{ ',' if not loop.last }}
    {%- endfor %}
    {{ from_clause }}
  {%- endset -%}
  {%- set result = run_query(sql) -%}
  {%- for name in instants -%}
    {%- set ts = result.columns[2 * loop.index0].values()[0] -%}
    {%- do found.update({name: none if ts is none else {'ts': ts, 'date': result.columns[2 * loop.index0 + 1].values()[0]}}) -%}
  {%- endfor -%}
  {{ return(found) }}
{%- endmacro %}

{% macro oie_event_floor(received_since, extra_minutes=0) -%}
  {#- The oldest event time a line received at or after `received_since` (a watermark's ts)
      can carry, less `extra_minutes`: int_events_deduped refuses lines whose event_at is
      more than oie_max_event_age_days before their received_at (too_old). A constant, so
      reads of new events by the event-time partition column prune on BigQuery. -#}
  {{ oie_timestamp_add(
      'minute',
      -1 * (var('oie_max_event_age_days') * 1440 + extra_minutes),
      oie_timestamp_literal(received_since)
  ) }}
{%- endmacro %}

{% macro oie_landing_date_column() -%}
  {#- Staging's landing_date, the partition the watermark filter prunes on: the hive folder
      dt of a landing file locally, the raw table's partition DATE(received_at) on BigQuery. -#}
  {{ return(adapter.dispatch('oie_landing_date_column', 'oie')()) }}
{%- endmacro %}
{% macro default__oie_landing_date_column() -%}
  dt
{%- endmacro %}
{% macro bigquery__oie_landing_date_column() -%}
  date(received_at)
{%- endmacro %}

{% macro oie_landing_hour_column() -%}
  {#- Staging's landing_hour: the hive folder hr of a landing file locally (the UTC hour of
      received_at), which the watermark filter prunes on within a day; on BigQuery the same
      hour computed (its partitions are days). -#}
  {{ return(adapter.dispatch('oie_landing_hour_column', 'oie')()) }}
{%- endmacro %}
{% macro default__oie_landing_hour_column() -%}
  hr
{%- endmacro %}
{% macro bigquery__oie_landing_hour_column() -%}
  extract(hour from received_at)
{%- endmacro %}

{% macro oie_since_watermark(watermark) -%}
  {#- The landing filter of an incremental run: partitions and rows at or after the
      watermark (already shifted back by the lookback). Locally the hour folders of the
      watermark's day before its hour are skipped too: the lookback re-reads a few hours,
      not the whole day's files. -#}
  {%- if watermark -%}
    where
        landing_date >= cast('{{ watermark.date }}' as date)
        {%- if target.type == 'duckdb' %}
        and (landing_date > cast('{{ watermark.date }}' as date) or landing_hour >= {{ watermark.ts[11:13] | int }})
        {%- endif %}
        and received_at >= {{ oie_timestamp_literal(watermark.ts) }}
  {%- endif -%}
{%- endmacro %}

{% macro oie_run_timestamp() -%}
  {#- One instant per dbt invocation, stamped on rows so downstream models find what changed
      even when a previous run stopped half-way. -#}
  {{ return(adapter.dispatch('oie_run_timestamp', 'oie')()) }}
{%- endmacro %}
{% macro default__oie_run_timestamp() -%}
  {{ oie_timestamp_literal(run_started_at.strftime('%Y-%m-%d %H:%M:%S.%f')) }}
{%- endmacro %}
{% macro bigquery__oie_run_timestamp() -%}
  {#- An integer literal: no string parsing (the BigQuery emulator mangles some string
      timestamp literals; real BigQuery accepts both). -#}
  timestamp_micros({{ (run_started_at.timestamp() * 1000000) | int }})
{%- endmacro %}

{% macro oie_partition_by(field) -%}
  {{ return({'field': field, 'data_type': 'timestamp', 'granularity': 'day'} if target.type == 'bigquery' else none) }}
{%- endmacro %}

{% macro oie_is_incremental() -%}
  {#- is_incremental(), except in the offline BigQuery compile check (no connection there):
      var oie_offline_compile = 'full' renders the first-build branch, 'incremental' the
      incremental branch with a placeholder watermark, so both get parsed as BigQuery SQL. -#}
  {%- set mode = var('oie_offline_compile', none) -%}
  {%- if mode == 'full' -%}
    {{ return(false) }}
  {%- elif mode == 'incremental' -%}
    {{ return(true) }}
  {%- endif -%}
  {{ return(is_incremental()) }}
{%- endmacro %}

{% macro oie_at_or_after(column, instant) -%}
  {#- `column >= <instant>` for an instant from oie_query_instant; `1 = 0` when there is none
      (nothing new: the read is empty, and still pruned). -#}
  {%- if instant -%}
    {{ column }} >= {{ oie_timestamp_literal(instant.ts) }}
  {%- else -%}
    1 = 0
  {%- endif -%}
{%- endmacro %}

{% macro oie_between_instants(column, low, high) -%}
  {#- `low <= column <= high` for instants from oie_query_instants, both bounds constants (so
      the read prunes); `1 = 0` when either is missing. -#}
  {%- if low and high -%}
    {{ column }} >= {{ oie_timestamp_literal(low.ts) }} and {{ column }} <= {{ oie_timestamp_literal(high.ts) }}
  {%- else -%}
    1 = 0
  {%- endif -%}
{%- endmacro %}

{% macro oie_leads_loaded_files(since) -%}
  {#- The landing files (DuckDB's `filename`) that stg_oie__leads holds rows of among the
      import days a run bounded by `since` reads. An import's file is sealed by an atomic
      rename and never changes, so a run skips those files unread: the newest import is
      in the days read for as long as it is the newest, and a big one was parsed again on
      every run (1.3 s a run for the 30M benchmark's 1.76M leads). A file whose rows were
      all replaced by later imports is read again, and its rows lose to the stored ones as
      before. Empty before the table has oie_source_file, and in the offline compile. -#}
  {%- if var('oie_offline_compile', none) == 'incremental' or not oie_stored_has_column('oie_source_file') -%}
    {{ return([]) }}
  {%- endif -%}
  {%- set sql -%}
    select distinct oie_source_file
    from {{ this }}
    where
        oie_source_file is not null
        and coalesce(imported_at, created_at) >= cast('{{ since.date }}' as timestamp)
    order by oie_source_file
  {%- endset -%}
  {{ return(run_query(sql).columns[0].values() | list) }}
{%- endmacro %}

{% macro oie_leads_since(lookback_minutes) -%}
  {#- stg_oie__leads' incremental bound: imports whose instant (imported_at, or created_at
      for rows written before imported_at existed) is after the returned instant are read;
      none on a first or full-refresh build, or when the table predates oie_loaded_at.
      The newest import loaded, N, less the lookback while the last load (oie_loaded_at)
      came less than a lookback after N: an import that started before N may still have
      been committing then. Once the last load is more than a lookback past N, every import
      that started by N had committed before it, and the bound is N itself: the newest
      import is not re-read on every run. Both instants come from the table, so the rule
      holds for a history landed with past times (the tests' scenarios). -#}
  {%- set newest = 'max(coalesce(imported_at, created_at))' -%}
  {%- set instant -%}
    case
        when max(oie_loaded_at) > {{ oie_timestamp_add('minute', lookback_minutes, newest) }}
            then {{ newest }}
        else {{ oie_timestamp_add('second', -1 * (lookback_minutes * 60 + 1), newest) }}
    end
  {%- endset -%}
  {{ return(oie_stored_instant(instant, 'oie_loaded_at')) }}
{%- endmacro %}

{% macro oie_delete_floor_predicate(new_rows, stored_alias=none) -%}
  {#- The bound on the stored rows a scheduled run's write replaces, when the model declares
      `oie_delete_floor={'column': c, 'slack_minutes': n}`: the model's promise that a
      stored row sharing a unique key with a new row has `c` at most n minutes before the
      new rows' earliest `c`. A literal read from the new rows (`new_rows`, what dbt stages
      them in, after a `from`) at run time, so the write reads only the stored rows above it;
      none when the model declares no floor or no new row has a `c`. -#}
  {%- set floor = config.get('oie_delete_floor') -%}
  {%- if not floor -%}
    {{ return(none) }}
  {%- endif -%}
  {%- set earliest = oie_timestamp_add('minute', -1 * floor['slack_minutes'], 'min(' ~ floor['column'] ~ ')') -%}
  {%- set bound = oie_query_instant(earliest, 'from ' ~ new_rows) -%}
  {%- if not bound -%}
    {{ return(none) }}
  {%- endif -%}
  {%- set column = stored_alias ~ '.' ~ floor['column'] if stored_alias else floor['column'] -%}
  {{ return(column ~ ' >= ' ~ oie_timestamp_literal(bound['ts'])) }}
{%- endmacro %}

{% macro duckdb__get_incremental_delete_insert_sql(arg_dict) -%}
  {#- dbt's delete+insert, its delete bounded by oie_delete_floor_predicate: DuckDB skips the
      row groups below the bound (zone maps) instead of probing the keys of the whole
      history: at 30M stored events, 0.54-0.84 s -> 0.03-0.04 s for 10,000 new ones in
      int_events_deduped. -#}
  {%- set predicate = oie_delete_floor_predicate(arg_dict['temp_relation'])
      if arg_dict['unique_key'] is string else none -%}
  {%- if predicate -%}
    {%- do arg_dict.update(
        {'incremental_predicates': (arg_dict['incremental_predicates'] or []) + [predicate]}) -%}
  {%- endif -%}
  {{ return(default__get_incremental_delete_insert_sql(arg_dict)) }}
{%- endmacro %}

{% macro bigquery__get_merge_sql(target, source, unique_key, dest_columns, incremental_predicates=none) -%}
  {#- dbt's MERGE, its destination bounded by oie_delete_floor_predicate in the ON clause: a
      literal on the partition column, so BigQuery reads the key column of the partitions
      above it only, not of the whole history (40 bytes a stored row, every scheduled run,
      in int_events_deduped and int_events_sessionized). The bound is read from `source`,
      which here selects the table dbt-bigquery staged the new rows in (on_schema_change
      makes it stage them). -#}
  {%- set predicates = [] + (incremental_predicates or []) -%}
  {%- set predicate = oie_delete_floor_predicate(source ~ ' as new_rows', 'DBT_INTERNAL_DEST')
      if unique_key is string else none -%}
  {%- if predicate -%}
    {%- do predicates.append(predicate) -%}
  {%- endif -%}
  {{ return(default__get_merge_sql(target, source, unique_key, dest_columns, predicates)) }}
{%- endmacro %}
