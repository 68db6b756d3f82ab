{#-
  On DuckDB every layer lands in schema `main` (the contract's output schema),
  so BI tools see plain table names. Other engines get one schema per layer:
  <target schema>_<custom schema>, dbt's default behaviour.
-#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if target.type == 'duckdb' or custom_schema_name is none -%}
        {{ target.schema }}
    {%- else -%}
        {{ target.schema }}_{{ custom_schema_name | trim }}
    {%- endif -%}
{%- endmacro %}
