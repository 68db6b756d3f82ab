{{ config(materialized='incremental', unique_key=['build_id', 'expectation'], on_schema_change='append_new_columns') }}
{#-
  CONTRACT dq_results: one row per expectation per build, kept across builds so
  BI can chart data quality over time. Foundation pass: row accounting and the
  quarantine rate per input; the data-quality gate issue adds the Great
  Expectations suite.
-#}

with

accounted as (

    select * from {{ ref('int_source_rows_accounted') }}

),

build as (

    select * from {{ ref('int_build_context') }}

),

checks as (

    select
        'row_accounting_balances:' || source as expectation,
        raw_rows = usable_rows + duplicate_rows + quarantined_rows as success,
        cast(raw_rows as varchar) || ' raw = ' || cast(usable_rows as varchar) || ' usable + '
            || cast(duplicate_rows as varchar) || ' duplicates + ' || cast(quarantined_rows as varchar) || ' quarantined'
            as observed_value
    from accounted

    union all

    select
        'quarantine_rate_below:' || source,
        raw_rows = 0 or 1.0 * quarantined_rows / raw_rows <= {{ var('dq_max_quarantine_rate') }},
        cast(round(case when raw_rows = 0 then 0 else 1.0 * quarantined_rows / raw_rows end, 6) as varchar)
    from accounted

),

final as (

    select
        build.build_id,
        build.built_at as checked_at,
        checks.expectation,
        checks.success,
        checks.observed_value

    from checks
    cross join build

)

select * from final
