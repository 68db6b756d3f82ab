{{ config(
    materialized=('table' if target.type == 'spark' else 'incremental'),
    incremental_strategy='append',
    on_schema_change='fail',
    pre_hook="{{ customer_segments.forget_days_changed(ref('int_events_deduplicated'), 'true', 'calls') }}",
    post_hook="{{ customer_segments.delete_where(this, 'activity_date < cast(' ~ customer_segments.retention_cutoff() ~ ' as date)') }}"
) }}
{#-
  The identifiers the usable events carry, counted per day: rows of day,
  call type and combination of identifiers (user id, anonymous id, device id,
  email in the traits, alias previousId), normalized as the identity graph
  matches them, with how many calls carried it and when the first and last
  were made; one row per key on a full build, and up to var daily_batches_kept
  per key when a day took additions in later builds (readers sum them).
  int_identity_sightings reads this instead of every event: a visitor's
  hundred page views of a day are one row here.
  Incremental on DuckDB (macros/incremental_days.sql): a build counts again
  only the days whose usable events changed (new, late, re-delivered, deleted:
  whatever their age), found by each day's fingerprint, except that a day
  whose change is only new events counts those alone, appended as a new
  batch of rows beside the day's; days that fall out of
  the retention window (var retention_days) are deleted after each build. A
  table on Spark (no DELETE on Parquet tables).
-#}
{{ customer_segments.after_quality_gate() }}

with

event_days as (

    {{ customer_segments.day_fingerprints(ref('int_events_deduplicated'), 'true') }}

),

days_to_read as (

    {{ customer_segments.days_to_read('event_days', 'calls') }}

),

events_to_count as (

    {{ customer_segments.events_to_count(ref('int_events_deduplicated'), 'true', 'days_to_read') }}

),

calls as (

    select
        events.activity_date,
        events.message_type,
        {{ customer_segments.identity_value('user_id', 'events.user_id') }} as user_id,
        {{ customer_segments.identity_value('anonymous_id', 'events.anonymous_id') }} as anonymous_id,
        {{ customer_segments.identity_value('device_id', 'events.device_id') }} as device_id,
        {{ customer_segments.identity_value('email', 'events.email') }} as email,
        nullif(trim(events.previous_id), '') as previous_id,
        events.event_at,
        events.day_events,
        events.day_first_judged_at,
        events.day_last_judged_at

    from events_to_count as events

),

final as (

    select
        activity_date,
        message_type,
        user_id,
        anonymous_id,
        device_id,
        email,
        previous_id,
        count(*) as calls,
        min(event_at) as first_called_at,
        max(event_at) as last_called_at,
        day_events,
        day_first_judged_at,
        day_last_judged_at

    from calls
    group by
        activity_date, message_type, user_id, anonymous_id, device_id, email, previous_id,
        day_events, day_first_judged_at, day_last_judged_at

)

select * from final
