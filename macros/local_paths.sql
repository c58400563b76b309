{#- Paths the local target writes into SQL that DuckDB keeps. `oie` runs dbt inside the
    data dir with OIE_DATA_DIR=. (oie/warehouse.py), so nothing dbt parses names the data
    dir and one parse serves every data dir (oie/dbt_parse_cache.py). A view keeps its SQL
    text, though, and is read later from any folder (`oie leads`, a notebook, the duckdb
    CLI): a path written into a view is made absolute at run time, from the open warehouse
    file, which the profile puts in the data dir. Nothing here runs while dbt parses. -#}

{% macro oie_data_dir() -%}
  {%- set configured = env_var('OIE_DATA_DIR', 'data') -%}
  {%- if not execute or target.type != 'duckdb' or configured.startswith('/') -%}
    {{ return(configured) }}
  {%- endif -%}
  {%- set found = run_query(
      "select path from duckdb_databases() where database_name = '"
      ~ target.database | replace("'", "''") ~ "'") -%}
  {%- set path = found.columns[0].values()[0] if found.rows | length == 1 else none -%}
  {%- if not path -%}
    {{ exceptions.raise_compiler_error("the warehouse file of database '" ~ target.database ~ "' is not open") }}
  {%- endif -%}
  {{ return(path.rsplit('/', 1)[0]) }}
{%- endmacro %}

{% macro oie_landing_source(table) -%}
  {#- source('oie', table), whose landing folder is absolute on the local target. The
      source call comes first: it records the dependency when dbt parses the model. -#}
  {%- set relation = source('oie', table) -%}
  {%- if not execute or target.type != 'duckdb' -%}
    {{ return(relation) }}
  {%- endif -%}
  {%- set landing = oie_landing_dir() -%}
  {%- if landing.startswith('/') or landing != env_var('OIE_DATA_DIR', 'data') ~ '/landing' -%}
    {#- absolute already, or a folder of the caller's choosing -#}
    {{ return(relation) }}
  {%- endif -%}
  {%- set rendered = relation | string -%}
  {%- set relative = "'" ~ landing ~ "/" -%}
  {%- if relative not in rendered -%}
    {{ exceptions.raise_compiler_error("source " ~ table ~ " does not read " ~ landing ~ ": " ~ rendered) }}
  {%- endif -%}
  {{ return(rendered.replace(relative, "'" ~ oie_data_dir() | replace("'", "''") ~ "/landing/")) }}
{%- endmacro %}
