{{ config(materialized='incremental', on_schema_change='append_new_columns') }}
{#-
  CONTRACT dq_results: one row per expectation per build, appended build after
  build so BI can chart data quality over time. The rows come from the
  Great Expectations suite (int_dq_checks); a failed build's results are kept
  too (this model reads the checks, not the gate int_dq_gate, so a failed gate
  does not skip it).
-#}

with

checks as (

    select * from {{ ref('int_dq_checks') }}

),

final as (

    select
        build_id,
        cast(checked_at as timestamp) as checked_at,
        expectation,
        success,
        observed_value,
        severity,
        threshold,
        details

    from checks

)

select * from final
{%- if is_incremental() %}
where build_id not in (select build_id from {{ this }})
{%- endif %}
