{#-
  The version of this project's code: one md5, computed at compile time from
  the graph, over every model, seed, test, snapshot and analysis of this
  project (the checksum dbt keeps of its file, its meta, and for generic tests
  their arguments) and every macro of this project (md5 of its SQL).
  The same code gives the same version on every machine and in every folder,
  without git, whatever the build's vars, time or target path; a change to a
  model's SQL or Python, a seed, a singular test, a generic test's arguments,
  a macro, or a meta (segment definitions live there) gives another.
  Not covered: descriptions (docs are not code); other YAML or dbt_project.yml
  config and project vars (vars given with --vars are recorded next to it, in
  build_audit.cli_vars); the Python package the dbt Python models import;
  models disabled on the target (so DuckDB and Spark report different
  versions of the same code). Node configs are left out on purpose: dbt
  renders them (paths and vars, which are not code).
  Macros are read through the project's macro namespace (context[project_name]),
  as graph has no macros. Empty at parse time.
-#}
{% macro code_version() -%}
    {%- set parts = [] -%}
    {%- if execute -%}
        {%- for node in graph.nodes.values() if node.package_name == project_name -%}
            {%- do parts.append(node.unique_id ~ ' ' ~ node.checksum.checksum
                ~ ' ' ~ tojson(node.config.get('meta', {}), sort_keys=true)
                ~ ' ' ~ tojson(node.get('test_metadata'), sort_keys=true)) -%}
        {%- endfor -%}
        {%- set macros = context[project_name] -%}
        {%- for name in macros -%}
            {%- do parts.append('macro.' ~ project_name ~ '.' ~ name ~ ' ' ~ local_md5(macros[name].macro.macro_sql)) -%}
        {%- endfor -%}
    {%- endif -%}
    {{ return(local_md5(parts | sort | join('\n'))) }}
{%- endmacro %}


{#-
  A value of --vars as JSON-ready data: YAML reads unquoted dates and times
  (as_of: 2026-10-31T12:00:00Z) as date objects, which JSON cannot hold; they
  are written as their ISO text, like every value that is not a mapping, a
  list, text, a number, a boolean or null.
-#}
{% macro json_ready(value) -%}
    {%- if value is mapping -%}
        {%- set ready = {} -%}
        {%- for key, item in value.items() -%}
            {%- do ready.update({key | string: customer_segments.json_ready(item)}) -%}
        {%- endfor -%}
        {{ return(ready) }}
    {%- elif value is string or value is number or value is boolean or value is none -%}
        {{ return(value) }}
    {%- elif value is iterable -%}
        {%- set ready = [] -%}
        {%- for item in value -%}
            {%- do ready.append(customer_segments.json_ready(item)) -%}
        {%- endfor -%}
        {{ return(ready) }}
    {%- else -%}
        {{ return(value.isoformat() if value.isoformat is defined else value | string) }}
    {%- endif -%}
{%- endmacro %}
