{#-
  build_audit: one row per build, appended build after build, so anyone can
  later say which code, which inputs and which segment definitions produced
  the tables of a given build: build_id, when, as_of, code version, dbt
  version and target, the input row counts, the data-quality gate's outcome.
  The hash of each segment definition is in build_audit_segments (one row per
  build and segment, joined on build_id).

  It is written at the end of a build, after the gate (int_build_context)
  and after segments (through build_audit_segments), so only builds that
  passed the gate and got that far have a row: a build the gate stopped is on
  record in dq_results (with every check's result) and rebuilt none of the
  tables this table describes; a build that failed later (a model error, an
  error-severity test upstream) is in dbt's run_results, not here. A run that does not rebuild int_build_context (e.g.
  `dbt run --select build_audit`) adds no row: its build_id is on record.

  full_refresh = false: history the sources cannot rebuild, so
  `dbt build --full-refresh` keeps it. on_schema_change =
  append_new_columns: a column added here later is added to the existing
  table (null for older builds) instead of failing the build.
-#}
{{ config(
    materialized='incremental',
    incremental_strategy='append',
    full_refresh=false,
    on_schema_change='append_new_columns',
) }}
-- recorded once the segments are built, with build_audit_segments: a row means the build got there
-- depends_on: {{ ref('build_audit_segments') }}

with

build as (

    select * from {{ ref('int_build_context') }}

),

accounted as (

    select * from {{ ref('int_source_rows_accounted') }}

),

results as (

    select * from {{ ref('dq_results') }}

),

source_rows as (

    -- one JSON member per input: "events": {"raw": 22870, "usable": 21977, "duplicate": 601, "quarantined": 292}
    select
        source,
        raw_rows,
        quarantined_rows,
        '"' || source || '": {"raw": ' || cast(raw_rows as {{ dbt.type_string() }})
            || ', "usable": ' || cast(usable_rows as {{ dbt.type_string() }})
            || ', "duplicate": ' || cast(duplicate_rows as {{ dbt.type_string() }})
            || ', "quarantined": ' || cast(quarantined_rows as {{ dbt.type_string() }}) || '}' as source_json

    from accounted

),

input_rows as (

    select
        '{' || {{ customer_segments.string_agg_ordered('source_json', "', '", 'source') }} || '}' as input_rows,
        cast(sum(raw_rows) as bigint) as raw_rows_total,
        cast(sum(quarantined_rows) as bigint) as quarantined_rows_total

    from source_rows

),

gate as (

    select
        results.build_id,
        cast(count(*) as bigint) as dq_checks,
        cast(sum(case when not results.success and results.severity = 'fail' then 1 else 0 end) as bigint) as dq_failed_checks,
        cast(sum(case when not results.success and results.severity = 'warn' then 1 else 0 end) as bigint) as dq_warned_checks

    from results
    inner join build on results.build_id = build.build_id
    group by 1

),

retention as (

    select
        cast(sum(case when source = 'events' then ignored_rows else 0 end) as bigint) as events_ignored_by_retention,
        cast(sum(case when source = 'email_events' then ignored_rows else 0 end) as bigint) as email_events_ignored_by_retention

    from {{ ref('int_retention_ignored') }}

),

erasures as (

    -- read before the end-of-build purge empties it
    select
        cast(count(distinct person_id) as bigint) as erased_people,
        cast(count(distinct case when identifier_type <> 'person_id' then identifier_type || '|' || identifier_value end) as bigint) as erased_identifiers

    from {{ ref('int_erasure_targets') }}

),

final as (

    select
        build.build_id,
        build.built_at,
        build.as_of,
        '{{ customer_segments.code_version() }}' as code_version,
        '{{ dbt_version }}' as dbt_version,
        '{{ target.type }}' as target_type,
        '{{ target.name }}' as target_name,
        {{ customer_segments.sql_string(tojson(customer_segments.json_ready(invocation_args_dict.get('vars') or {}), sort_keys=true)) }} as cli_vars,
        input_rows.input_rows,
        input_rows.raw_rows_total,
        input_rows.quarantined_rows_total,
        case
            when gate.dq_failed_checks > 0 then 'failed'
            when gate.dq_warned_checks > 0 then 'passed with warnings'
            else 'passed'
        end as dq_gate_outcome,
        coalesce(gate.dq_checks, 0) as dq_checks,
        coalesce(gate.dq_failed_checks, 0) as dq_failed_checks,
        coalesce(gate.dq_warned_checks, 0) as dq_warned_checks,
        coalesce(retention.events_ignored_by_retention, 0) as events_ignored_by_retention,
        coalesce(retention.email_events_ignored_by_retention, 0) as email_events_ignored_by_retention,
        coalesce(erasures.erased_people, 0) as erased_people,
        coalesce(erasures.erased_identifiers, 0) as erased_identifiers

    from build
    cross join input_rows
    cross join retention
    cross join erasures
    left join gate on build.build_id = gate.build_id

)

select * from final
{%- if is_incremental() %}
where build_id not in (select build_id from {{ this }})
{%- endif %}
