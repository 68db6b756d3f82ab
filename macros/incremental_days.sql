{#-
  How the daily tables (int_activity_daily, int_identity_calls_daily) follow
  the usable events without counting all history again, and without a
  lookback window that late events could fall behind.

  Each row counted from events carries the fingerprint its day had when the
  row was counted: how many usable events of the kind the table counts the
  day had (`day_events`) and the oldest and newest `judged_at` among them. The
  rows one build counted for a day (a batch) share that fingerprint; the
  day's held fingerprint is its newest batch's (the newest stamp, the greatest
  count). A day's events change only by rows leaving the usable events (the
  count drops) or rows taken in (stamped later than any earlier row, so the
  newest stamp moves; a line taken back into the retention window keeps its
  old stamp but raises the count), so a day whose held fingerprint is its
  events' now holds exactly the events it was counted from. An incremental
  build:
  1. keeps (pre-hook `forget_days_changed`) the rows of every day whose held
     fingerprint is the usable events' now, and of every day whose change is
     only additions (below); it deletes the rows of every other day (a row
     gone or judged again, a deleted or rewritten file, a day gone, a day
     whose rows do not add up to their fingerprint, a day holding
     var `daily_batches_kept` batches already);
  2. counts the days that have no rows left (changed and new days), and for
     each day taking additions counts only the events stamped after the day's
     held `day_last_judged_at`: a new batch, appended with the day's new
     fingerprint. The day's older rows are not touched: no fold, no rewrite.
  So the table is what a full build gives, summed per key (a key can have a
  row in several batches of its day: every reader sums the counts and takes
  the first and last times over them), whatever the age of the change, and
  late events spread over every day of history cost their own count, not a
  count of those days' events nor a rewrite of their rows. A day is counted
  whole again, as one batch, when it would take more batches than
  var `daily_batches_kept` (8), so its rows stay few: late events every build over
  all history cost a recount of every day one build in that many.

  When a day takes only additions. Let H be the events the day's rows were
  counted from (an event being a usable row with its judged_at: a line judged
  again leaves and comes back as a new row, stamped later than every stamp
  before). Every batch counted the events stamped after the batch before it,
  up to its own newest stamp, and the first counted the day whole, so every
  stamp of H lies in [held first, held last], where the held first is the
  first batch's oldest stamp and the held last the newest batch's newest. The
  held fingerprint is H's when its rows are consistent: every batch has the
  same oldest stamp, the newest batch has the greatest count, and the counts
  of all the day's rows add up to it (|H|). Let N be the day's events now, A
  those of N stamped after the held last, B the rest. A day takes additions
  when
  (a) its rows are consistent as above,
  (b) it is not the oldest day the table holds,
  (c) now_day_events = held day_events + |A|, with |A| > 0, and
  (d) now_day_first_judged_at = held day_first_judged_at.
  No event of H is in A (their stamps are at most the held last), so if every
  event of B is in H, B is a subset of H, and (c) says |B| = |H|: B = H.
  Nothing left the day, nothing was judged again, and A is exactly what was
  added. Could B hold an event not in H? It would be stamped no later than
  the held last yet not counted: absent when the day was counted and back
  with its old stamp since. Lines are only taken back with their old stamp
  when the retention window moves back over them (macros/incremental_events.sql),
  and those are older than every event then held; a day that held rows while
  such an event was out of the window was the oldest day of the table (the
  post-hook deletes days before the cutoff's day), and stays the oldest until
  a build takes older days back, which is the build the event comes back in.
  (b) leaves that day to be counted again. (d) follows from the rest; it is
  kept as a check that costs nothing. An erasure that left a day's counts
  short of its events fails (a) or (c): that day is counted again. A build
  stopped between the pre-hook and the append leaves days without rows (they
  are counted next time) and appends nothing: the append is one statement.
  Rows without a fingerprint (day_events null: int_activity_daily's email
  rows) are left alone here.

  An erasure (macro purge_erased_people) deletes the erased people's events
  and their rows of these tables in the same transaction, which changes the
  fingerprint of every day they were active. `refresh_day_fingerprints` then
  gives the new fingerprint to every row of a day whose rows left still count
  exactly the events left (the sum of the counts equals the new day_events,
  and the stamps only narrowed), so the next build does not count those days
  again; any other change of the day makes the sums differ and the day is
  counted again as usual.
-#}

{#- How many batches a daily table keeps for one day before it counts the day whole again (see above): var
    daily_batches_kept, at least 1 (1: a day that changed is always counted whole). -#}
{% macro day_batches_kept() -%}
    {{ return([var('daily_batches_kept', 8) | int, 1] | max) }}
{%- endmacro %}

{#-
  One row per day of the usable events where `condition` holds: activity_date, day_events, day_first_judged_at,
  day_last_judged_at (the fingerprint), and the first and last event_at of the day (first_event_at,
  last_event_at: bounds events_to_count reads the days counted whole by).
-#}
{% macro day_fingerprints(events_relation, condition) -%}
    select
        cast(event_at as date) as activity_date,
        count(*) as day_events,
        min(judged_at) as day_first_judged_at,
        max(judged_at) as day_last_judged_at,
        min(event_at) as first_event_at,
        max(event_at) as last_event_at
    from {{ events_relation }}
    where {{ condition }}
    group by cast(event_at as date)
{%- endmacro %}

{#-
  One row per day the table holds with a consistent fingerprint (condition (a) above: every batch has the same
  oldest stamp, the newest batch has the greatest count, and the `count_column` of all the day's rows adds up to
  it): activity_date, day_events, day_first_judged_at, day_last_judged_at (the held fingerprint: the newest
  batch's), batches (how many). DuckDB only (the incremental path never runs on Spark).
-#}
{% macro held_day_fingerprints(relation, count_column) -%}
    select
        activity_date,
        max(day_events) as day_events,
        min(day_first_judged_at) as day_first_judged_at,
        max(day_last_judged_at) as day_last_judged_at,
        count(distinct day_last_judged_at) as batches
    from {{ relation }}
    where day_events is not null
    group by activity_date
    having min(day_first_judged_at) = max(day_first_judged_at)
        and arg_max(day_events, day_last_judged_at) = max(day_events)
        and sum({{ count_column }}) = max(day_events)
{%- endmacro %}

{#-
  Pre-hook of a daily table: step 1 above. Deletes every row of a day that neither holds its usable events'
  fingerprint nor takes only additions (conditions (a) to (d), and fewer batches than day_batches_kept()). Rows
  without a fingerprint (day_events null) are left alone. Nothing on a full build.
-#}
{% macro forget_days_changed(events_relation, condition, count_column) -%}
    {%- if not (execute and is_incremental()) -%}{{ return('') }}{%- endif -%}
    {%- set kept -%}
        activity_date in (
            -- the held fingerprints, grouped once over the table and read twice
            with held as (
                {{ customer_segments.held_day_fingerprints(this, count_column) }}
            )
            select held.activity_date
            from held
            inner join (
                select
                    cast(events.event_at as date) as activity_date,
                    count(*) as day_events,
                    min(events.judged_at) as day_first_judged_at,
                    max(events.judged_at) as day_last_judged_at,
                    count(case when events.judged_at > held.day_last_judged_at then 1 end) as added_events
                from {{ events_relation }} as events
                left join held
                    on held.activity_date = cast(events.event_at as date)
                where {{ condition }}
                group by cast(events.event_at as date)
            ) as now_held
                on now_held.activity_date = held.activity_date
            where (
                    -- unchanged
                    now_held.day_events = held.day_events
                    and now_held.day_first_judged_at = held.day_first_judged_at
                    and now_held.day_last_judged_at = held.day_last_judged_at
                ) or (
                    -- only additions: (b), (c), (d), and room for one more batch
                    held.batches < {{ customer_segments.day_batches_kept() }}
                    and held.activity_date > (select min(activity_date) from {{ this }} where day_events is not null)
                    and now_held.added_events > 0
                    and now_held.day_events = held.day_events + now_held.added_events
                    and now_held.day_first_judged_at = held.day_first_judged_at
                )
        )
    {%- endset -%}
    {{ return(customer_segments.delete_where(this, 'day_events is not null and not (' ~ kept ~ ')')) }}
{%- endmacro %}

{#-
  The days a daily table counts in this build (the body of its `days_to_read` CTE), from `event_days` (a CTE of
  day_fingerprints) and the table's `count_column`: each day's fingerprint, with counted_until, the held
  day_last_judged_at of a day taking only additions (its events stamped later are counted, a new batch), null
  for a day counted whole. A full build counts every day whole; an incremental build
  counts the days with no rows left (the pre-hook deleted the changed ones) and the held days whose fingerprint
  moved on (the pre-hook kept them only when their change is only additions). The held days are read with
  held_day_fingerprints: after the pre-hook every day the table holds passes its consistency test.
-#}
{% macro days_to_read(event_days, count_column) -%}
    {%- if is_incremental() %}
    with held_days as (
        -- the days the table holds, one consistent fingerprint each (the pre-hook deleted every other day's rows)
        {{ customer_segments.held_day_fingerprints(this, count_column) }}
    )

    select {{ event_days }}.*, cast(null as {{ dbt.type_timestamp() }}) as counted_until
    from {{ event_days }}
    where not exists (select 1 from held_days where held_days.activity_date = {{ event_days }}.activity_date)

    union all

    select {{ event_days }}.*, held_days.day_last_judged_at
    from {{ event_days }}
    inner join held_days
        on held_days.activity_date = {{ event_days }}.activity_date
    where {{ event_days }}.day_events <> held_days.day_events
        or {{ event_days }}.day_first_judged_at <> held_days.day_first_judged_at
        or {{ event_days }}.day_last_judged_at <> held_days.day_last_judged_at
    {%- else %}
    select *, cast(null as {{ dbt.type_timestamp() }}) as counted_until
    from {{ event_days }}
    {%- endif %}
{%- endmacro %}

{#-
  The events a daily table counts in this build: the usable events (`events_relation`) where `condition` holds,
  every column, with their day's new fingerprint (activity_date, day_events, day_first_judged_at,
  day_last_judged_at) from `days_to_read` (a CTE of days_to_read). Of a day taking additions, the events stamped
  after its counted_until; of a day counted whole, all of them. Two branches, each bounded by a plain column
  against a scalar subquery, which DuckDB checks against each row group's minimum and maximum and skips the row
  groups outside: the additions are stamped after the earliest counted_until (events are appended in the order
  they are judged), the days counted whole lie between their first and last event_at. Joining every event to
  the days instead read all the usable events' columns each build: at 10M events with +1% on every day,
  int_identity_calls_daily's SQL took 2.8-3.1 s that way, 1.4 s this way. A full build counts every day whole
  with one join, as before: the two branches took its SQL from 9.9 s to 22-27 s at 10M events.
-#}
{% macro events_to_count(events_relation, condition, days_to_read) -%}
    {%- set columns -%}
        events.*,
        {{ days_to_read }}.activity_date,
        {{ days_to_read }}.day_events,
        {{ days_to_read }}.day_first_judged_at,
        {{ days_to_read }}.day_last_judged_at
    {%- endset -%}
    {%- if not is_incremental() %}
    -- a full build: every day whole, one join (the branches below cost a full build twice its time)
    select
        {{ columns }}
    from {{ events_relation }} as events
    inner join {{ days_to_read }}
        on cast(events.event_at as date) = {{ days_to_read }}.activity_date
    where {{ condition }}
    {%- else %}
    -- the days taking additions: their events stamped after the day's counted_until
    select
        {{ columns }}
    from {{ events_relation }} as events
    inner join {{ days_to_read }}
        on cast(events.event_at as date) = {{ days_to_read }}.activity_date
        and events.judged_at > {{ days_to_read }}.counted_until
    where {{ condition }}
        and events.judged_at > (select min(counted_until) from {{ days_to_read }})

    union all

    -- the days counted whole: all their events
    select
        {{ columns }}
    from {{ events_relation }} as events
    inner join {{ days_to_read }}
        on cast(events.event_at as date) = {{ days_to_read }}.activity_date
        and {{ days_to_read }}.counted_until is null
    where {{ condition }}
        and events.event_at >= (select min(first_event_at) from {{ days_to_read }} where counted_until is null)
        and events.event_at <= (select max(last_event_at) from {{ days_to_read }} where counted_until is null)
    {%- endif %}
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
        {#- the days to refresh are found on one row per day first (the held fingerprint: the newest batch's;
            a day whose batches do not share their oldest stamp is left to be counted again), and every row of
            such a day, whatever its batch, takes the new one: the update joined to every row with the stamp
            comparisons took 17 s for 2M rows at 2M events, this takes 0.1-0.6 s -#}
        {%- do run_query(
            'update ' ~ held ~ ' as held set day_events = refreshed.day_events,'
            ~ ' day_first_judged_at = refreshed.day_first_judged_at, day_last_judged_at = refreshed.day_last_judged_at'
            ~ ' from (select now_held.* from (' ~ customer_segments.day_fingerprints(found['int_events_deduplicated'], condition) ~ ') as now_held,'
            ~ ' (select activity_date, sum(' ~ count_column ~ ') as counted, max(day_events) as day_events,'
            ~ ' min(day_first_judged_at) as day_first_judged_at, max(day_last_judged_at) as day_last_judged_at'
            ~ ' from ' ~ held ~ ' where day_events is not null group by activity_date'
            ~ ' having min(day_first_judged_at) = max(day_first_judged_at)) as counted'
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
