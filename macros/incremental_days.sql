{#-
  How the daily tables (int_activity_daily, int_identity_calls_daily) follow
  the usable events without counting all history again, and without a
  lookback window that late events could fall behind.

  Each row counted from events carries its day's fingerprint: how many usable
  events of the kind the table counts that day has (`day_events`) and the
  oldest and newest `judged_at` among them. A day's events change only by rows
  leaving the usable events (the count drops) or rows taken in (stamped later
  than any earlier row, so the newest stamp moves; a line taken back into the
  retention window keeps its old stamp but raises the count), so a day whose
  fingerprint is unchanged holds exactly the events it was counted from. An
  incremental build:
  1. deletes (pre-hook `forget_days_changed`) the rows of every day whose
     fingerprint differs from the usable events' now (a late event, a
     re-delivery, a deleted or rewritten file, a day gone);
  2. counts the days that have no rows left (changed and new days).
  So the table is what a full build gives, whatever the age of the change.

  An erasure (macro purge_erased_people) deletes the erased people's events
  and their rows of these tables in the same transaction, which changes the
  fingerprint of every day they were active. `refresh_day_fingerprints` then
  takes the day's new fingerprint where the rows left still count exactly
  the events left (the sum of the counts equals the new day_events, and the
  stamps only narrowed), so the next build does not count those days again;
  any other change of the day makes the sums differ and the day is counted
  again as usual.
-#}

{#- One row per day of the usable events where `condition` holds: activity_date, day_events, day_first_judged_at, day_last_judged_at. -#}
{% macro day_fingerprints(events_relation, condition) -%}
    select
        cast(event_at as date) as activity_date,
        count(*) as day_events,
        min(judged_at) as day_first_judged_at,
        max(judged_at) as day_last_judged_at
    from {{ events_relation }}
    where {{ condition }}
    group by cast(event_at as date)
{%- endmacro %}

{#- Pre-hook of a daily table: step 1 above. Rows without a fingerprint (day_events null) are left alone. Nothing on a full build. -#}
{% macro forget_days_changed(events_relation, condition) -%}
    {%- if not (execute and is_incremental()) -%}{{ return('') }}{%- endif -%}
    {%- set changed -%}
        day_events is not null and not exists (
            select 1 from ({{ customer_segments.day_fingerprints(events_relation, condition) }}) as now_held
            where now_held.activity_date = {{ this }}.activity_date
                and now_held.day_events = {{ this }}.day_events
                and now_held.day_first_judged_at = {{ this }}.day_first_judged_at
                and now_held.day_last_judged_at = {{ this }}.day_last_judged_at
        )
    {%- endset -%}
    {{ return(customer_segments.delete_where(this, changed)) }}
{%- endmacro %}

{#- The daily tables, by model name: (what counts as an event of the day, the column that counts them). -#}
{% macro daily_tables() -%}
    {{ return({
        'int_activity_daily': ('canonical_event is not null', 'events'),
        'int_identity_calls_daily': ('true', 'calls'),
    }) }}
{%- endmacro %}

{#-
  After an erasure purge (same transaction): the daily tables among
  `relations` ((name, relation) pairs) take the new fingerprint of each day
  whose rows still count exactly its events. DuckDB only: on Spark the daily
  tables are rebuilt every build.
-#}
{% macro refresh_day_fingerprints(relations) -%}
    {{ return(adapter.dispatch('refresh_day_fingerprints', 'customer_segments')(relations)) }}
{%- endmacro %}
{% macro default__refresh_day_fingerprints(relations) -%}
    {%- set found = {} -%}
    {%- for name, relation in relations -%}
        {%- do found.update({name: relation}) -%}
    {%- endfor -%}
    {%- if 'int_events_deduplicated' not in found -%}{{ return('') }}{%- endif -%}
    {%- for name, (condition, count_column) in customer_segments.daily_tables().items() if name in found -%}
        {%- set held = found[name] -%}
        {#- the days to refresh are found on one row per day first (a day's rows share its fingerprint; a day
            whose rows do not is left to be counted again): the update joined to every row with the stamp
            comparisons took 17 s for 2M rows at 2M events, this takes 0.1-0.6 s -#}
        {%- do run_query(
            'update ' ~ held ~ ' as held set day_events = refreshed.day_events,'
            ~ ' day_first_judged_at = refreshed.day_first_judged_at, day_last_judged_at = refreshed.day_last_judged_at'
            ~ ' from (select now_held.* from (' ~ customer_segments.day_fingerprints(found['int_events_deduplicated'], condition) ~ ') as now_held,'
            ~ ' (select activity_date, sum(' ~ count_column ~ ') as counted, min(day_events) as day_events,'
            ~ ' min(day_first_judged_at) as day_first_judged_at, max(day_last_judged_at) as day_last_judged_at'
            ~ ' from ' ~ held ~ ' where day_events is not null group by activity_date'
            ~ ' having min(day_events) = max(day_events) and min(day_first_judged_at) = max(day_first_judged_at)'
            ~ ' and min(day_last_judged_at) = max(day_last_judged_at)) as counted'
            ~ ' where now_held.activity_date = counted.activity_date'
            ~ ' and counted.counted = now_held.day_events'
            ~ ' and now_held.day_first_judged_at >= counted.day_first_judged_at'
            ~ ' and now_held.day_last_judged_at <= counted.day_last_judged_at'
            ~ ' and (now_held.day_events <> counted.day_events'
            ~ ' or now_held.day_first_judged_at <> counted.day_first_judged_at'
            ~ ' or now_held.day_last_judged_at <> counted.day_last_judged_at)) as refreshed'
            ~ ' where held.day_events is not null and held.activity_date = refreshed.activity_date'
        ) -%}
    {%- endfor -%}
{%- endmacro %}
{% macro spark__refresh_day_fingerprints(relations) -%}
{%- endmacro %}
