{#- Typed, empty stand-ins for landing streams that have no file yet (fresh clone). The
    column lists mirror the read_json column specs in models/staging/__sources.yml. -#}

{% macro oie_empty_relation(columns) -%}
  select
  {% for name, type in columns %}
    cast(null as {{ type }}) as {{ name }}{% if not loop.last %},{% endif %}
  {% endfor %}
  where 1 = 0
{%- endmacro %}

{% macro oie_empty_raw_events() -%}
  {{ oie_empty_relation([
    ('event_id', 'varchar'), ('type', 'varchar'), ('ts', 'bigint'), ('sent_at', 'bigint'),
    ('received_at', 'varchar'), ('event_at', 'varchar'), ('visitor_id', 'varchar'),
    ('client_visitor_id', 'varchar'), ('client_session_id', 'varchar'), ('token', 'varchar'),
    ('token_valid', 'boolean'), ('url', 'varchar'), ('referrer', 'varchar'), ('data', 'json'),
    ('pixel_version', 'varchar'), ('ip', 'varchar'), ('user_agent', 'varchar'),
    ('device', 'varchar'), ('browser', 'varchar'), ('os', 'varchar'), ('is_bot', 'boolean'),
    ('country', 'varchar'), ('region', 'varchar'), ('city', 'varchar'), ('asn', 'varchar'),
    ('as_org', 'varchar'), ('dt', 'date'), ('hr', 'integer')
  ]) }}
{%- endmacro %}

{% macro oie_empty_raw_leads() -%}
  {{ oie_empty_relation([
    ('lead_id', 'varchar'), ('email', 'varchar'), ('email_sha256', 'varchar'),
    ('first_name', 'varchar'), ('last_name', 'varchar'), ('company', 'varchar'),
    ('title', 'varchar'), ('industry', 'varchar'), ('campaign_id', 'varchar'),
    ('campaign_name', 'varchar'), ('token', 'varchar'), ('created_at', 'varchar'),
    ('attributes', 'json'), ('dt', 'date'), ('hr', 'integer')
  ]) }}
{%- endmacro %}

{% macro oie_empty_raw_rejected_events() -%}
  {{ oie_empty_relation([
    ('received_at', 'varchar'), ('reason', 'varchar'), ('stage', 'varchar'),
    ('event_id', 'varchar'), ('type', 'varchar'), ('event', 'json'), ('raw', 'varchar'),
    ('ip', 'varchar'), ('user_agent', 'varchar'), ('dt', 'date'), ('hr', 'integer')
  ]) }}
{%- endmacro %}
