{{ config(
    materialized=('table' if target.type == 'spark' else 'incremental'),
    incremental_strategy='append',
    on_schema_change='fail',
    pre_hook=[
        "{{ customer_segments.delete_where(this, 'day_events is null') if is_incremental() else '' }}",
        "{{ customer_segments.forget_days_changed(ref('int_events_deduplicated'), 'canonical_event is not null', 'events') }}",
    ],
    post_hook=[
        "{{ customer_segments.fold_days_merged('events', ['user_id', 'anonymous_id', 'email', 'canonical_event']) }}",
        "{{ customer_segments.delete_where(this, 'activity_date < cast(' ~ customer_segments.retention_cutoff() ~ ' as date)') }}",
    ]
) }}
{#-
  Daily activity, the aggregate every recency-weighted score is computed from:
  one row per (ids, day, canonical event) with how many events happened.
  Keyed by the call's ids (user id, anonymous id; email for email events), not
  by person, so a merge of people never invalidates history: the scores join
  today's identity graph at read time.
  Incremental on DuckDB (macros/incremental_days.sql): a build counts again
  only the days whose usable events changed (new, late, re-delivered, deleted:
  whatever their age), found by each day's fingerprint, except that a day
  whose change is only new events takes their counts merged into its rows
  instead of being counted again; and the email opens and clicks (a full
  export, counted whole); days that fall out of the retention
  window (var retention_days) are deleted after each build. A table on Spark
  (no DELETE on Parquet tables; the verdicts there are judged whole anyway).
  Email opens and clicks count as Email_Opened / Email_Clicked; other email
  events do not count.
-#}
{{ customer_segments.after_quality_gate() }}

with

events as (

    select * from {{ ref('int_events_deduplicated') }}
    where canonical_event is not null

),

event_days as (

    {{ customer_segments.day_fingerprints(ref('int_events_deduplicated'), 'canonical_event is not null') }}

),

{%- if is_incremental() %}

held_days as (

    -- the days the table holds, one fingerprint each (the pre-hooks deleted every other day's rows and every email row)
    select
        activity_date,
        min(day_events) as day_events,
        min(day_first_judged_at) as day_first_judged_at,
        min(day_last_judged_at) as day_last_judged_at
    from {{ this }}
    where day_events is not null
    group by activity_date

),

days_to_merge as (

    -- a held day whose fingerprint moved on takes only additions (the pre-hook kept it for that)
    select
        event_days.*,
        held_days.day_last_judged_at as counted_until
    from event_days
    inner join held_days
        on held_days.activity_date = event_days.activity_date
    where event_days.day_events <> held_days.day_events
        or event_days.day_first_judged_at <> held_days.day_first_judged_at
        or event_days.day_last_judged_at <> held_days.day_last_judged_at

),
{%- endif %}

days_to_count as (

    select * from event_days
    {%- if is_incremental() %}
    -- a day with rows left is counted already; a day taking additions counts its events stamped after counted_until
    where not exists (select 1 from held_days where held_days.activity_date = event_days.activity_date)

),

days_to_read as (

    select *, cast(null as timestamp) as counted_until from days_to_count
    union all
    select * from days_to_merge
    {%- endif %}

),

email_events as (

    select * from {{ ref('int_email_events_deduplicated') }}
    where event_type in ('open', 'click')

),

activity as (

    select
        {{ customer_segments.identity_value('user_id', 'events.user_id') }} as user_id,
        {{ customer_segments.identity_value('anonymous_id', 'events.anonymous_id') }} as anonymous_id,
        cast(null as {{ dbt.type_string() }}) as email,
        days_to_count.activity_date,
        events.canonical_event,
        days_to_count.day_events,
        days_to_count.day_first_judged_at,
        days_to_count.day_last_judged_at

    {%- if is_incremental() %}
    from events
    inner join days_to_read as days_to_count
        on cast(events.event_at as date) = days_to_count.activity_date
        and (days_to_count.counted_until is null or events.judged_at > days_to_count.counted_until)
    {%- else %}
    from events
    inner join days_to_count
        on cast(events.event_at as date) = days_to_count.activity_date
    {%- endif %}

    union all

    select
        cast(null as {{ dbt.type_string() }}),
        cast(null as {{ dbt.type_string() }}),
        {{ customer_segments.identity_value('email', 'email') }},
        cast(occurred_at as date),
        case event_type when 'open' then 'Email_Opened' else 'Email_Clicked' end,
        cast(null as {{ dbt.type_bigint() }}),
        cast(null as {{ dbt.type_timestamp() }}),
        cast(null as {{ dbt.type_timestamp() }})

    from email_events

),

final as (

    select
        user_id,
        anonymous_id,
        email,
        canonical_event,
        count(*) as events,
        activity_date,
        day_events,
        day_first_judged_at,
        day_last_judged_at

    from activity
    group by user_id, anonymous_id, email, canonical_event, activity_date, day_events, day_first_judged_at, day_last_judged_at

)

select * from final
