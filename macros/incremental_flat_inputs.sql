{#-
  How the flat staging tables (orders, CRM contacts and accounts, email events,
  consent) skip inputs that did not change.

  A flat input is a full export that its producer rewrites (orders.csv every
  night, say), and a row's verdict depends on other rows of it (the first copy
  of an id), so a changed file is judged whole again. What a build can skip is
  the unchanged input, which is most of them in a build every few minutes:
  reading a CSV is the flat inputs' whole cost.

  Every staged row carries `judged_with`: its file's version (size and
  modification time, as raw_file_versions lists it) and a fingerprint of what
  judged it (the staging vars and the model's own SQL). An incremental build
  of the model:
  - keeps the table as it is (reads no file) when its rows were judged from
    exactly the files there are now, each in its current version, with the
    same fingerprint, and no row waits on the clock (`timestamp_in_future`,
    which a later build may accept);
  - otherwise deletes every row (pre-hook `forget_flat_input_if_changed`) and
    judges all files again, as a full build does.
  Both decisions read the table as it was before the build (the model's SQL is
  rendered before its pre-hook runs), so they always agree. Rows of people
  erased since are deleted by the erasure purge, as a full build's erasure
  filter (not_erased) would leave them out. A change to a macro the model
  calls (clean_email, say) is not in the fingerprint: `--full-refresh` then.
-#}

{#- What judges a flat input's rows besides its file: the staging vars and the calling model's SQL. -#}
{% macro flat_input_rules_fingerprint() -%}
    {%- set rules = {
        'min_valid_record_at': var('min_valid_record_at'),
        'max_clock_skew_hours': var('max_clock_skew_hours'),
        'max_order_amount': var('max_order_amount'),
        'max_employee_count': var('max_employee_count'),
        'max_annual_revenue': var('max_annual_revenue'),
        'max_raw_line_bytes': var('max_raw_line_bytes'),
        'model_sql': model.raw_code if model is defined and model.raw_code is defined else '',
    } -%}
    {{ return(local_md5(tojson(rules, sort_keys=true))) }}
{%- endmacro %}

{#- The judged_with value of a file in version `version`: '<size>:<mtime> <rules fingerprint>'. -#}
{% macro flat_input_judged_with(version) -%}
    {{ return(version ~ ' ' ~ customer_segments.flat_input_rules_fingerprint()) }}
{%- endmacro %}

{#- The files of flat input `name` now: {path: judged_with}. -#}
{% macro flat_input_files(name) -%}
    {%- set judged_with = {} -%}
    {%- for path, version in customer_segments.raw_file_versions(name ~ '.*') -%}
        {%- do judged_with.update({path: customer_segments.flat_input_judged_with(version)}) -%}
    {%- endfor -%}
    {{ return(judged_with) }}
{%- endmacro %}

{#-
  In an incremental run of the calling model: true when `this` holds exactly
  the files of `judged_with` ({path: judged_with}) and no row waits on the
  clock. False in a full build, and for a table without judged_with (built
  before it existed: on_schema_change='fail' then asks for a --full-refresh).
-#}
{% macro flat_input_unchanged(judged_with) -%}
    {%- if not (execute and is_incremental()) -%}{{ return(false) }}{%- endif -%}
    {%- set columns = adapter.get_columns_in_relation(this) | map(attribute='name') | map('lower') | list -%}
    {%- if 'judged_with' not in columns -%}{{ return(false) }}{%- endif -%}
    {%- set current = [] -%}
    {%- for path, value in judged_with.items() -%}
        {%- do current.append(customer_segments.relative_source_file(path) ~ '|' ~ value) -%}
    {%- endfor -%}
    {#- one row per (file, judged_with) the table holds: a file judged twice differs from `current` too -#}
    {%- set kept = [] -%}
    {%- set waiting = [] -%}
    {%- for row in run_query(
            "select source_file, judged_with, max(case when quarantine_reason = 'timestamp_in_future' then 1 else 0 end)"
            ~ " from " ~ this ~ " group by source_file, judged_with") -%}
        {%- do kept.append(row[0] ~ '|' ~ row[1]) -%}
        {%- if row[2] == 1 -%}{%- do waiting.append(row[0]) -%}{%- endif -%}
    {%- endfor -%}
    {{ return(kept | sort == current | sort and waiting | length == 0) }}
{%- endmacro %}

{#- Pre-hook of a flat staging model: delete all its rows unless the table is kept (flat_input_unchanged). -#}
{% macro forget_flat_input_if_changed(name) -%}
    {%- if not (execute and is_incremental()) -%}{{ return('') }}{%- endif -%}
    {%- if customer_segments.flat_input_unchanged(customer_segments.flat_input_files(name)) -%}{{ return('') }}{%- endif -%}
    {%- do log('Flat input ' ~ name ~ ' changed since the last build: judged whole again.', info=true) -%}
    {{ return(customer_segments.delete_where(this, 'true')) }}
{%- endmacro %}

{#- The config of a flat staging model reading input `name`: incremental on DuckDB, a table on Spark. -#}
{% macro flat_staging_config(name) -%}
    {{ config(
        materialized=('table' if target.type == 'spark' else 'incremental'),
        incremental_strategy='append',
        on_schema_change='fail',
        pre_hook="{{ customer_segments.forget_flat_input_if_changed('" ~ name ~ "') }}",
    ) }}
{%- endmacro %}
