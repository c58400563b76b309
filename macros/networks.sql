{#- Company inference (docs/warehouse.md "Companies from networks"): the classes a network
    can have, the class a network database's own type fields give, and the company-name key
    that matches a network's organisation with a lead's company. -#}

{% macro oie_network_classes() -%}
  {{ return(['business', 'isp', 'mobile', 'hosting', 'education', 'government', 'unknown']) }}
{%- endmacro %}

{% macro oie_typed_network_class(user_type, connection_type) -%}
  {#- GeoIP2's user_type (Enterprise, Insights) first, then its connection_type
      (Connection-Type, Enterprise); null when neither says anything we can use. -#}
  case
    when lower({{ user_type }}) = 'business' then 'business'
    when lower({{ user_type }}) in ('residential', 'cafe', 'traveler', 'router', 'dialup') then 'isp'
    when lower({{ user_type }}) = 'cellular' then 'mobile'
    when lower({{ user_type }}) in (
        'hosting', 'content_delivery_network', 'consumer_privacy_network', 'search_engine_spider'
    ) then 'hosting'
    when lower({{ user_type }}) in ('college', 'school', 'library') then 'education'
    when lower({{ user_type }}) in ('government', 'military') then 'government'
    when lower({{ connection_type }}) = 'corporate' then 'business'
    when lower({{ connection_type }}) = 'cellular' then 'mobile'
    when lower({{ connection_type }}) in ('cable/dsl', 'satellite', 'dialup') then 'isp'
  end
{%- endmacro %}

{% macro oie_session_network_class(sessions, network_class) -%}
  {#- A session's class: its own user_type/connection_type, else its network's, else unknown. -#}
  coalesce(
    {{ oie_typed_network_class(sessions ~ '.ip_user_type', sessions ~ '.ip_connection_type') }},
    {{ network_class }},
    'unknown'
  )
{%- endmacro %}

{% macro oie_regexp_replace_all(expr, pattern, replacement) -%}
  {{ return(adapter.dispatch('oie_regexp_replace_all', 'oie')(expr, pattern, replacement)) }}
{%- endmacro %}
{% macro default__oie_regexp_replace_all(expr, pattern, replacement) -%}
  regexp_replace({{ expr }}, '{{ pattern }}', '{{ replacement }}', 'g')
{%- endmacro %}
{% macro bigquery__oie_regexp_replace_all(expr, pattern, replacement) -%}
  regexp_replace({{ expr }}, r'{{ pattern }}', '{{ replacement }}')
{%- endmacro %}

{% macro oie_company_suffixes() -%}
  {#- Legal forms dropped from the end of a company name before names are compared. -#}
  {{ return([
    'inc', 'incorporated', 'llc', 'llp', 'lp', 'ltd', 'limited', 'plc', 'corp', 'corporation',
    'co', 'company', 'gmbh', 'ag', 'kg', 'sa', 'sas', 'sarl', 'srl', 'spa', 'bv', 'nv', 'ab',
    'as', 'asa', 'aps', 'oy', 'oyj', 'pty', 'pte', 'kk', 'sl', 'se'
  ]) }}
{%- endmacro %}

{% macro oie_company_key(expr) -%}
  {#- A company name as compared: lowercase, dots dropped (S.A. = SA), other punctuation a
      space, trailing legal forms removed (Acme Corp., ACME Inc and Acme GmbH are `acme`),
      spaces collapsed. Null or empty stays null. -#}
  {%- set words = oie_regexp_replace_all(
      oie_regexp_replace_all('lower(' ~ expr ~ ')', '\\.', ''), '[^\\pL\\pN]+', ' '
  ) -%}
  {%- set suffixes = '( (' ~ oie_company_suffixes() | join('|') ~ '))+ *$' -%}
  nullif(trim(
    {{ oie_regexp_replace_all(oie_regexp_replace_all("' ' || " ~ words ~ " || ' '", suffixes, ' '), ' +', ' ') }}
  ), '')
{%- endmacro %}

{% macro oie_session_network_columns() -%}
  {#- The raw network fields a session keeps (those of its first event). -#}
  {{ return(['asn', 'as_org', 'ip_org', 'ip_domain', 'ip_connection_type', 'ip_user_type']) }}
{%- endmacro %}
