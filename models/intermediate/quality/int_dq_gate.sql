{#-
  The data-quality gate. Every model after staging depends on this one
  (macro after_quality_gate), so when a check with severity fail did not pass
  this model stops the build with an error naming each failed check and its
  observed value; dbt then skips everything downstream, and the identity,
  score and segment tables keep their last good contents. dq_results (a
  mart) reads int_dq_checks too but not the gate, so dbt writes it whatever
  the gate decides and failed builds are on record.
  An intermediate model, so that the intermediate models waiting on it read
  only their own layer. Its fan-out (about 25 models wait on it, where
  dbt-project-evaluator flags more than 3) is the point: one switch in front
  of everything after staging, with no rows anyone reads.
-#}

with

checks as (

    select * from {{ ref('int_dq_checks') }}

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
