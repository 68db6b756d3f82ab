{{ config(
    materialized=('table' if target.type == 'spark' else 'incremental'),
    incremental_strategy='append',
    on_schema_change='fail',
    pre_hook=[
        "{{ customer_segments.delete_where(this, 'day_events is null') if is_incremental() else '' }}",
        "{{ customer_segments.forget_days_changed(ref('int_events_deduplicated'), 'canonical_event is not null', 'events') }}",
    ],
    post_hook="{{ customer_segments.delete_where(this, 'activity_date < cast(' ~ customer_segments.retention_cutoff() ~ ' as date)') }}"
) }}
{#-
  Daily activity, the aggregate every recency-weighted score is computed from:
  rows of (ids, day, canonical event) with how many events happened; one row
  per key on a full build, and up to var daily_batches_kept per key when a day
  took additions in later builds (readers sum them).
  Keyed by the call's ids (user id, anonymous id; email for email events), not
  by person, so a merge of people never invalidates history: the scores join
  today's identity graph at read time.
  Incremental on DuckDB (macros/incremental_days.sql): a build counts again
  only the days whose usable events changed (new, late, re-delivered, deleted:
  whatever their age), found by each day's fingerprint, except that a day
  whose change is only new events counts those alone, appended as a new
  batch of rows beside the day's; and the email opens and clicks (a full
  export, counted whole); days that fall out of the retention
  window (var retention_days) are deleted after each build. A table on Spark
  (no DELETE on Parquet tables; the verdicts there are judged whole anyway).
  Email opens and clicks count as Email_Opened / Email_Clicked; other email
  events do not count.
-#}
{{ customer_segments.after_quality_gate() }}

with

event_days as (

    {{ customer_segments.day_fingerprints(ref('int_events_deduplicated'), 'canonical_event is not null') }}

),

days_to_read as (

    {{ customer_segments.days_to_read('event_days', 'events') }}

),

events_to_count as (

    {{ customer_segments.events_to_count(ref('int_events_deduplicated'), 'canonical_event is not null', 'days_to_read') }}

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
        events.activity_date,
        events.canonical_event,
        events.day_events,
        events.day_first_judged_at,
        events.day_last_judged_at

    from events_to_count as events

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
