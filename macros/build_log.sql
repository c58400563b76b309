{#- The build log (docs/warehouse.md, "Build log"): dbt_project.yml's on-run-end hook writes
    one row per dbt invocation that can write the warehouse into `oie_build_log` in the
    target schema/dataset, creating the table the first time. One statement (on BigQuery
    one script, one job); nothing in a command that only reads, parses or compiles. The
    table belongs to dbt alone: no model builds it and nothing else writes it. -#}

{% macro oie_build_log_commands() -%}
  {#- The dbt commands that log: the ones that build or test. `compile`, `docs`, `ls`,
      `parse`, `show` never write; `source freshness` runs the project hooks too (dbt's
      source_freshness_run_project_hooks) but builds nothing. -#}
  {{ return(['build', 'run', 'seed', 'snapshot', 'test', 'retry']) }}
{%- endmacro %}

{% macro oie_build_log(results, command=none) -%}
  {#- The hook: `on-run-end: "{{ oie_build_log(results) }}"`. Renders the statement, or
      nothing (dbt then runs nothing) in a command that must not write. Needs no
      connection to render, so the offline BigQuery check renders it with made-up results
      and `command='build'`. -#}
  {%- set command = command or flags.WHICH -%}
  {%- if command not in oie_build_log_commands() -%}
    {{ return('') }}
  {%- endif -%}
  {%- set relation = api.Relation.create(
      database=target.database, schema=target.schema, identifier='oie_build_log') -%}
  {{ return(oie_build_log_sql(relation, oie_build_log_row(results, command))) }}
{%- endmacro %}

{% macro oie_build_log_row(results, command) -%}
  {#- What the row says about `results` (dbt's on-run-end list; or dicts with a `status`).
      status: error when any node errored or failed (error, fail, runtime error, partial
      success), else warn when any test warned, else success (success, pass, skipped,
      no-op, reused). -#}
  {%- set counts = namespace(errors=0, warnings=0) -%}
  {%- for result in results -%}
    {%- set status = result.status | string | lower -%}
    {%- if status in ['error', 'fail', 'runtime error', 'partial success'] -%}
      {%- set counts.errors = counts.errors + 1 -%}
    {%- elif status == 'warn' -%}
      {%- set counts.warnings = counts.warnings + 1 -%}
    {%- endif -%}
  {%- endfor -%}
  {%- set status = 'error' if counts.errors else ('warn' if counts.warnings else 'success') -%}
  {{ return({
      'invocation_id': invocation_id,
      'command': command,
      'full_refresh': flags.FULL_REFRESH is true,
      'status': status,
      'nodes': results | length,
      'errors': counts.errors,
      'warnings': counts.warnings,
  }) }}
{%- endmacro %}

{% macro oie_build_log_columns() -%}
  {#- (name, DuckDB type, BigQuery type). A column added later must also be added to an
      existing table (`alter table ... add column if not exists`, both engines). -#}
  {{ return([
      ('invocation_id', 'varchar', 'string'),
      ('started_at', 'timestamp', 'timestamp'),
      ('finished_at', 'timestamp', 'timestamp'),
      ('status', 'varchar', 'string'),
      ('command', 'varchar', 'string'),
      ('full_refresh', 'boolean', 'bool'),
      ('nodes', 'bigint', 'int64'),
      ('errors', 'bigint', 'int64'),
      ('warnings', 'bigint', 'int64'),
  ]) }}
{%- endmacro %}

{% macro oie_build_log_values(row) -%}
  {#- The row as SQL literals, in oie_build_log_columns() order. started_at is dbt's
      run_started_at (UTC; the run stamp of the models), finished_at the warehouse clock. -#}
  '{{ row.invocation_id | replace("'", "") }}',
  {{ oie_run_timestamp() }},
  {{ oie_now() }},
  '{{ row.status }}',
  '{{ row.command | replace("'", "") }}',
  {{ 'true' if row.full_refresh else 'false' }},
  {{ row.nodes | int }},
  {{ row.errors | int }},
  {{ row.warnings | int }}
{%- endmacro %}

{% macro oie_build_log_sql(relation, row) -%}
  {{ return(adapter.dispatch('oie_build_log_sql', 'oie')(relation, row)) }}
{%- endmacro %}

{% macro default__oie_build_log_sql(relation, row) -%}
  {%- set columns = oie_build_log_columns() -%}
create table if not exists {{ relation }} (
    {%- for name, duckdb_type, _bigquery_type in columns %}
    {{ name }} {{ duckdb_type }}{{ ',' if not loop.last }}
    {%- endfor %}
);
insert into {{ relation }} ({{ columns | map('first') | join(', ') }})
values ({{ oie_build_log_values(row) }})
{%- endmacro %}

{% macro bigquery__oie_build_log_sql(relation, row) -%}
  {#- One script, one job. The exception handler keeps a build whose log cannot be
      written (no table permission, say) from failing on it: dbt would count a failed hook
      as a failed invocation. The failed statement's error stays in BigQuery's job history
      (the handler does not read @@error.message: the emulator cannot parse it). -#}
  {%- set columns = oie_build_log_columns() -%}
begin
create table if not exists {{ relation }} (
    {%- for name, _duckdb_type, bigquery_type in columns %}
    {{ name }} {{ bigquery_type }}{{ ',' if not loop.last }}
    {%- endfor %}
)
partition by date(started_at)
options (description = 'One row per dbt invocation that builds or tests (on-run-end hook, macros/build_log.sql); docs/warehouse.md');
insert into {{ relation }} ({{ columns | map('first') | join(', ') }})
values ({{ oie_build_log_values(row) }});
exception when error then
select 'oie_build_log not written' as oie_build_log_error;
end
{%- endmacro %}
