{#-
  The data-quality gate. Every model after staging depends on this one
  (macro after_quality_gate), so when a check with severity fail did not pass
  this model stops the build with an error naming each failed check and its
  observed value; dbt then skips everything downstream, and the identity,
  score and segment tables keep their last good contents. dq_results is
  written before the gate, so failed builds are on record.
-#}
-- depends_on: {{ ref('dq_results') }}

with

checks as (

    select * from {{ ref('dq_checks') }}

),

failed as (

    select
        count(*) as failed_checks,
        {{ customer_segments.string_agg_ordered(
            "expectation || ' (observed ' || coalesce(observed_value, 'null') || ', expected ' || threshold || ')'",
            "'; '", 'expectation') }} as failures

    from checks
    where not success
        and severity = 'fail'

),

final as (

    select
        case
            when failed_checks = 0 then 'passed'
            else {{ customer_segments.raise_error(
                "'Data-quality gate failed: ' || cast(failed_checks as " ~ dbt.type_string() ~ ") || ' check(s) with severity fail did not pass: ' || failures || '. Identity, scores and segments were not rebuilt and keep their last good contents. See dq_results and, on DuckDB, the data docs (gx_data_docs/index.html in the dbt target folder).'") }}
        end as gate_status,
        failed_checks

    from failed

)

select * from final
