{#-
  The numbers the data-quality gate judges, one row per metric, computed in the
  warehouse so the gate stays cheap at any volume. The Great Expectations
  suite (python_models/intermediate/quality/int_dq_checks.py) validates them against the
  thresholds in vars dq_*. Everything here reads staged data only: nothing
  downstream of the gate.
-#}

{%- set previous_results = customer_segments.model_relation('dq_results') %}

with

started as (

    select * from {{ ref('int_build_started') }}

),

accounted as (

    select * from {{ ref('int_source_rows_accounted') }}

),

raw_events as (

    select * from {{ ref('stg_segment__events') }}

),

events as (

    select * from {{ ref('int_events_deduplicated') }}

),

contacts as (

    select * from {{ ref('int_crm_contacts_deduplicated') }}

),

accounts as (

    select * from {{ ref('int_crm_accounts_deduplicated') }}

),

reference as (

    select
        {%- if var('as_of') %}
        {{ customer_segments.timestamp_var('as_of') }} as as_of,
        {%- else %}
        (select max(event_at) from events) as as_of,
        {%- endif %}
        started.built_at

    from started

),

event_metrics as (

    select
        count(*) as usable_rows,
        count(*) - count(distinct message_id) as duplicate_keys,
        sum(case when message_id is null or event_at is null then 1 else 0 end) as null_keys,
        sum(case when canonical_event is null then 1 else 0 end) as unknown_names,
        sum(case
            when event_at > {{ dbt.dateadd('hour', var('max_clock_skew_hours'), 'reference.built_at') }}
                or event_at < {{ dbt.dateadd('day', -1 * var('dq_max_history_days'), 'reference.as_of') }}
                then 1 else 0
        end) as out_of_window,
        max(event_at) as newest_event_at

    from events
    cross join reference

),

identified as (

    select
        count(*) as raw_rows,
        sum(case when quarantine_reason = 'missing_identifier' then 1 else 0 end) as without_identifier

    from raw_events

),

latest_day as (

    -- the newest day of data is the latest load: a broken tracker shows here first
    -- (lines without ids are quarantined, so the day is found among all plausibly stamped lines)
    select
        count(*) as raw_rows,
        sum(case when quarantine_reason = 'missing_identifier' then 1 else 0 end) as without_identifier

    from raw_events
    cross join (
        select max(event_at) as newest_at
        from raw_events
        where quarantine_reason is null or quarantine_reason = 'missing_identifier'
    ) as newest
    where raw_events.event_at > {{ dbt.dateadd('day', -1, 'newest.newest_at') }}
        and raw_events.event_at <= newest.newest_at
        and (raw_events.quarantine_reason is null or raw_events.quarantine_reason = 'missing_identifier')

),

contact_accounts as (

    select distinct account_id from contacts where account_id is not null

),

account_freshness as (

    -- priority accounts are the ones sales works: named by a CRM contact (every account when none is)
    select
        sum(case when contact_accounts.account_id is not null then 1 else 0 end) as priority_accounts,
        sum(case when contact_accounts.account_id is not null and is_stale then 1 else 0 end) as stale_priority_accounts,
        count(*) as all_accounts,
        sum(case when is_stale then 1 else 0 end) as stale_accounts

    from (
        select
            accounts.account_id,
            coalesce(accounts.updated_at < {{ dbt.dateadd('day', -1 * var('dq_max_firmographics_age_days'), 'reference.as_of') }}, true)
                as is_stale
        from accounts
        cross join reference
    ) as ages
    left join contact_accounts on ages.account_id = contact_accounts.account_id

),

contact_freshness as (

    select
        count(*) as contacts,
        sum(case
            when coalesce(contacts.updated_at < {{ dbt.dateadd('day', -1 * var('dq_max_contact_age_days'), 'reference.as_of') }}, true)
                then 1 else 0
        end) as stale_contacts

    from contacts
    cross join reference

),

previous_volume as (

    {%- if previous_results is not none %}
    select max(cast(observed_value as double)) as usable_rows
    from {{ previous_results }}
    where expectation = 'events_usable_rows'
        and checked_at = (select max(checked_at) from {{ previous_results }} where expectation = 'events_usable_rows')
    {%- else %}
    select cast(null as double) as usable_rows
    {%- endif %}

),

metrics as (

    select 'events_usable_rows' as metric, cast(usable_rows as double) as value from event_metrics
    union all
    select 'events_duplicate_rate', 1.0 * duplicate_rows / nullif(raw_rows, 0) from accounted where source = 'events'
    union all
    -- a rate over a handful of rows says little: below dq_min_rows_for_rates it is not judged (null)
    select
        source || '_quarantine_rate',
        case when raw_rows >= {{ var('dq_min_rows_for_rates') }} then 1.0 * quarantined_rows / raw_rows end
    from accounted
    union all
    -- lines swallowed by rows an unbalanced quote spoiled: judged at any size (a small file can lose half its lines)
    select source || '_spoiled_line_share', 1.0 * spoiled_lines / nullif(raw_lines, 0) from accounted
    union all
    select 'events_identified_share', 1.0 - 1.0 * without_identifier / nullif(raw_rows, 0) from identified
    union all
    select 'events_identified_share_latest_day', 1.0 - 1.0 * without_identifier / nullif(raw_rows, 0) from latest_day
    union all
    select 'events_unknown_name_share', 1.0 * unknown_names / nullif(usable_rows, 0) from event_metrics
    union all
    select 'events_out_of_window_share', 1.0 * out_of_window / nullif(usable_rows, 0) from event_metrics
    union all
    select 'events_duplicate_keys_after_dedup', cast(duplicate_keys as double) from event_metrics
    union all
    select 'events_null_keys', cast(null_keys as double) from event_metrics
    union all
    select
        'events_staleness_hours',
        {{ dbt.datediff('event_metrics.newest_event_at', 'reference.built_at', 'second') }} / 3600.0
    from event_metrics cross join reference
    union all
    select
        'events_volume_change',
        case when previous_volume.usable_rows > 0
            then event_metrics.usable_rows / previous_volume.usable_rows - 1.0 end
    from event_metrics cross join previous_volume
    union all
    select
        'crm_bounce_rate',
        case when count(*) >= {{ var('dq_min_rows_for_rates') }}
            then 1.0 * sum(case when email_status = 'bounced' then 1 else 0 end) / count(*) end
    from contacts
    union all
    select
        'accounts_stale_firmographics_share',
        case
            when priority_accounts > 0 then 1.0 * stale_priority_accounts / priority_accounts
            else 1.0 * stale_accounts / nullif(all_accounts, 0)
        end
    from account_freshness
    union all
    select 'crm_contacts_stale_share', 1.0 * stale_contacts / nullif(contacts, 0) from contact_freshness

),

final as (

    select metric, value from metrics

)

select * from final
