{#-
  Fixes for dbt-spark's `session` method, found building this project on
  local Spark (docs/spark.md).
-#}

{#-
  Seeds: dbt-spark's loader hands the values to the session cursor, which
  pastes them into the SQL between quotes without escaping: a value with an
  apostrophe ("Can't lose them" in rfm_segment_map) breaks the statement, and
  a null becomes the text 'None'. And agate (dbt's CSV reader) reads the texts
  'null' and 'none' as null, where DuckDB's seed loader (COPY) keeps them, so
  identity_junk_values would lose its `null` and `none` rows. This loader
  does what dbt-duckdb does: Spark reads the seed's CSV file itself (empty
  fields are null, every other text is kept) and the rows are inserted with
  the seed's column types. A root-project macro of this name replaces dbt-spark's.
-#}
{% macro spark__load_csv_rows(model, agate_table) %}
    {%- set column_override = model['config'].get('column_types', {}) -%}
    {%- set path = model['root_path'] ~ '/' ~ model['original_file_path'] -%}
    {%- set view = 'customer_segments_seed_' ~ model['name'] -%}
    {%- do adapter.add_query(
        "create or replace temporary view " ~ view ~ " using csv options (path "
        ~ customer_segments.sql_string(path) ~ ", header 'true', escape '\"', enforceSchema 'false')",
        auto_begin=false) -%}
    {%- set sql -%}
        insert into {{ this.render() }}
        select
        {%- for col_name in agate_table.column_names %}
            cast(`{{ col_name }}` as {{ column_override.get(col_name, adapter.convert_type(agate_table, loop.index0)) }}){{ "," if not loop.last }}
        {%- endfor %}
        from {{ view }}
    {%- endset -%}
    {%- do adapter.add_query(sql, abridge_sql_log=True) -%}
    {{ return(sql) }}
{% endmacro %}


{#-
  dbt Python models on Spark (on-run-start): dbt-spark's session method runs them only
  through the submission method `session` that customer_segments.warehouse.spark_python
  adds (docs/spark.md), which `segments build` starts dbt with. A plain `dbt build` has
  no such method and would fail each Python model with "Submission method session is
  not supported", skipping the data-quality gate and everything after it: stop before
  anything runs, with a message that says what to run instead. Commands that select no
  Python model (`dbt run -s staging`) are let through.
-#}
{% macro require_spark_python_session() %}
    {%- if execute and target.type == 'spark' and env_var('SEGMENTS_SPARK_PYTHON_MODELS', '') != 'session' -%}
        {%- set python_models = [] -%}
        {%- for node in graph.nodes.values() -%}
            {%- if node.resource_type == 'model' and node.language == 'python' and node.unique_id in selected_resources -%}
                {%- do python_models.append(node.name) -%}
            {%- endif -%}
        {%- endfor -%}
        {%- if python_models -%}
            {{ exceptions.raise_compiler_error(
                "On Spark, dbt Python models (" ~ (python_models | sort | join(', ')) ~ ") run in dbt's SparkSession "
                ~ "only when dbt is started by `segments build` (or `python -m customer_segments.warehouse.spark_python "
                ~ "build ...`, the same arguments as dbt), which registers their submission method; plain `dbt` cannot "
                ~ "run them. See docs/spark.md.") }}
        {%- endif -%}
    {%- endif -%}
{% endmacro %}
