{#- What the two identity tables (int_identity_candidates, int_identifiers_resolved) need to
    recompute only the visitors a run touched (docs/warehouse.md, "Scheduled runs"). -#}

{% macro oie_identity_expiry_cutoff() -%}
  {#- A visitor whose last session ended before this instant is no one's (the identity TTL). -#}
  {{ oie_timestamp_add('day', -1 * var('oie_identity_ttl_days') | int, oie_as_of(var('oie_as_of'))) }}
{%- endmacro %}

{% macro oie_identity_last_run(stamp, vars_fingerprint) -%}
  {#- The last run that wrote this model, as {'since': its stamp, 'cutoff_low', 'cutoff_high':
      its expiry cutoff and this run's, in order}; none when the run must list every
      identifier again: a first or full build, a table without the bookkeeping columns, or
      vars (`vars_fingerprint`) other than those the stored rows were computed with.

      Every stored row agreed with the inputs of the last run that wrote (the rows it wrote
      carry its stamp, cutoff and vars; older rows it left as they were). So what can have
      changed since is what was stamped after it (evidence, sessions, lead rows, rows of the
      model upstream) and the visitors whose last session ended between its expiry cutoff
      and this run's (either way round: an as_of moved back). A run that writes nothing
      leaves the previous writer's values, and the next run looks back to those: more work,
      never less. -#}
  {%- if not oie_stored_has_column('identity_vars') -%}
    {{ return(none) }}
  {%- endif -%}
  {%- set cutoff = oie_identity_expiry_cutoff() -%}
  {%- set found = oie_query_instants({
      'since': "case when min(identity_vars) = '" ~ vars_fingerprint ~ "' and max(identity_vars) = '"
               ~ vars_fingerprint ~ "' then max(" ~ stamp ~ ") end",
      'cutoff_low': 'least(max(expiry_cutoff), ' ~ cutoff ~ ')',
      'cutoff_high': 'greatest(max(expiry_cutoff), ' ~ cutoff ~ ')',
  }, 'from ' ~ this ~ ' where ' ~ stamp ~ ' = (select max(' ~ stamp ~ ') from ' ~ this ~ ')') -%}
  {%- if found['since'] is none -%}
    {{ return(none) }}
  {%- endif -%}
  {{ return(found) }}
{%- endmacro %}

{% macro oie_identity_loaded_leads(leads, last_run) -%}
  {#- The leads (of the CTE `leads`) the lead lists wrote since `last_run`: a new lead, or
      one written again with another token, address or creation time. -#}
    select
        lead_id,
        token,
        email_sha256
    from {{ leads }}
    where oie_loaded_at > {{ oie_timestamp_literal(last_run.since.ts) }}
{%- endmacro %}

{% macro oie_identity_expiry_flips(sessions, last_run) -%}
  {#- The visitors whose last session can have crossed the expiry cutoff since `last_run`:
      those with a session that ended between its cutoff and this run's. -#}
    select visitor_id
    from {{ sessions }}
    where
        visitor_id is not null
        and ended_at >= {{ oie_timestamp_literal(last_run.cutoff_low.ts) }}
        and ended_at < {{ oie_timestamp_literal(last_run.cutoff_high.ts) }}
{%- endmacro %}
