{#-
  Staging loses nothing (docs/quality.md, "Staging loses nothing"). Returns one row per broken rule:
  1. per input, raw_rows = usable_rows + duplicate_rows + quarantined_rows;
  2. per input, quarantined_rows equals the number of that input's rows in the quarantined_rows table;
  3. per input read by a *_deduplicated model, usable_rows equals that model's row count plus
     the rows the retention window kept out (int_retention_ignored; for events:
     int_events_deduplicated, the events everything downstream uses).

  A partial build should select this test with its parents: `dbt build --select +assert_source_rows_balance`.
-#}

{%- set deduplicated_models = [
    ('events', ref('int_events_deduplicated')),
    ('orders', ref('int_orders_deduplicated')),
    ('crm_contacts', ref('int_crm_contacts_deduplicated')),
    ('accounts', ref('int_crm_accounts_deduplicated')),
    ('email_events', ref('int_email_events_deduplicated')),
] %}

with

accounted as (

    select * from {{ ref('int_source_rows_accounted') }}

),

quarantined as (

    select source, count(*) as quarantined_rows
    from {{ ref('quarantined_rows') }}
    group by 1

),

retention as (

    select * from {{ ref('int_retention_ignored') }}

),

deduplicated as (

    {%- for source, relation in deduplicated_models %}
    select '{{ source }}' as source, count(*) as usable_rows from {{ relation }}
    union all
    {%- endfor %}
    select cast(null as {{ dbt.type_string() }}) as source, cast(0 as bigint) as usable_rows where 1 = 0

),

usable as (

    select
        deduplicated.source,
        deduplicated.usable_rows + coalesce(retention.ignored_rows, 0) as usable_rows
    from deduplicated
    left join retention on deduplicated.source = retention.source

),

unbalanced as (

    select
        source,
        'raw_rows <> usable + duplicates + quarantined' as failure,
        raw_rows as expected,
        usable_rows + duplicate_rows + quarantined_rows as observed
    from accounted
    where raw_rows <> usable_rows + duplicate_rows + quarantined_rows

),

quarantine_mismatch as (

    select
        coalesce(accounted.source, quarantined.source) as source,
        'quarantined_rows table disagrees with the accounting' as failure,
        coalesce(accounted.quarantined_rows, 0) as expected,
        coalesce(quarantined.quarantined_rows, 0) as observed
    from accounted
    full outer join quarantined on accounted.source = quarantined.source
    where coalesce(accounted.quarantined_rows, 0) <> coalesce(quarantined.quarantined_rows, 0)
        or accounted.source is null

),

usable_mismatch as (

    select
        usable.source,
        'usable rows disagree with the deduplicated model' as failure,
        coalesce(accounted.usable_rows, 0) as expected,
        usable.usable_rows as observed
    from usable
    left join accounted on usable.source = accounted.source
    where coalesce(accounted.usable_rows, 0) <> usable.usable_rows

),

failures as (

    select source, failure, expected, observed from unbalanced
    union all
    select source, failure, expected, observed from quarantine_mismatch
    union all
    select source, failure, expected, observed from usable_mismatch

)

select * from failures
