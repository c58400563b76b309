{#- Shared lists for the event models: one place to add an event type or a column. -#}

{% macro oie_known_event_types() -%}
  {{ return([
    'pageview', 'scroll_depth', 'click', 'form_start', 'form_submit', 'video',
    'focus_lost', 'focus_gained', 'page_exit', 'rage_click', 'copy', 'text_select',
    'email_click'
  ]) }}
{%- endmacro %}

{% macro oie_known_event_types_sql() -%}
  ('{{ oie_known_event_types() | join("', '") }}')
{%- endmacro %}

{% macro oie_event_mart_columns() -%}
  {#- Columns the events mart takes from both browser events and email clicks. -#}
  {{ return([
    'event_id', 'event_type', 'event_at', 'received_at', 'visitor_id', 'client_session_id',
    'token', 'token_valid', 'url', 'url_path', 'page_class', 'referrer', 'page_title', 'scroll_depth',
    'active_ms', 'cursor_jitter', 'cursor_reversals', 'cursor_moves', 'reading_wpm',
    'click_role', 'click_text', 'click_href', 'form_id', 'hem_sha256',
    'video_action', 'video_src', 'video_percent', 'device', 'browser', 'os', 'country',
    'region', 'city', 'asn', 'as_org', 'ip_org', 'ip_domain', 'ip_connection_type',
    'ip_user_type', 'is_bot', 'is_internal', 'event_data_json'
  ]) }}
{%- endmacro %}
