{#-
  How int_activity_daily follows the usable events without recounting all
  history, and without a lookback window that late events could fall behind.

  Each row counted from events carries its day's fingerprint: how many usable
  events with a canonical name that day has (`day_events`) and the oldest and
  newest `judged_at` among them. A day's events change only by rows leaving
  the usable events (the count drops) or rows taken in (stamped later than any
  earlier row, so the newest stamp moves; a line taken back into the retention
  window keeps its old stamp but raises the count), so a day whose fingerprint
  is unchanged holds exactly the events it was counted from. An incremental
  build:
  1. deletes (pre-hook `forget_activity_days_changed`) the rows of every day
     whose fingerprint differs from the usable events' now (a late event, a
     re-delivery, a deleted or rewritten file, a day gone), and every row
     counted from email events (a full export judged whole: recounted whole,
     O(email events));
  2. counts the days that have no rows left (changed and new days) and all
     email opens and clicks.
  So the table is what a full build gives, whatever the age of the change.
-#}

{#- One row per day of the usable events that count: activity_date, day_events, day_first_judged_at, day_last_judged_at. -#}
{% macro activity_day_fingerprints(events_relation) -%}
    select
        cast(event_at as date) as activity_date,
        count(*) as day_events,
        min(judged_at) as day_first_judged_at,
        max(judged_at) as day_last_judged_at
    from {{ events_relation }}
    where canonical_event is not null
    group by cast(event_at as date)
{%- endmacro %}

{#- Pre-hook of int_activity_daily: step 1 above. Nothing on a full build. -#}
{% macro forget_activity_days_changed(events_relation) -%}
    {%- if not (execute and is_incremental()) -%}{{ return('') }}{%- endif -%}
    {%- do run_query(customer_segments.delete_where(this, 'day_events is null')) -%}
    {%- set changed -%}
        not exists (
            select 1 from ({{ customer_segments.activity_day_fingerprints(events_relation) }}) as now_held
            where now_held.activity_date = {{ this }}.activity_date
                and now_held.day_events = {{ this }}.day_events
                and now_held.day_first_judged_at = {{ this }}.day_first_judged_at
                and now_held.day_last_judged_at = {{ this }}.day_last_judged_at
        )
    {%- endset -%}
    {{ return(customer_segments.delete_where(this, changed)) }}
{%- endmacro %}
