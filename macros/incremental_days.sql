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
  1. keeps (pre-hook `forget_days_changed`) the rows of every day whose
     fingerprint is the usable events' now, and of every day whose change is
     only additions (below); it deletes the rows of every other day (a row
     gone or judged again, a deleted or rewritten file, a day gone, a day
     whose rows do not add up to their fingerprint);
  2. counts the days that have no rows left (changed and new days), and for
     each day taking additions counts only the events stamped after the day's
     held `day_last_judged_at`, appended with the day's new fingerprint; a
     post-hook (`fold_days_merged`) folds them into the day's rows (counts
     added, first and last times min'ed and max'ed, a new key kept as a new
     row) and gives every row of the day the new fingerprint.
  So the table is what a full build gives, whatever the age of the change, and
  late events spread over every day of history cost their own count and the
  rows of their days in this table, not a count of those days' events.

  When a day takes only additions. Let H be the events the day's rows were
  counted from (an event being a usable row with its judged_at: a line judged
  again leaves and comes back as a new row, stamped later than every stamp
  before). The held fingerprint is H's when the day's rows all carry one
  fingerprint and their counts add up to its day_events (|H|), and every
  stamp of H lies in [held first, held last]. Let N be the day's events now,
  A those of N stamped after the held last, B the rest. A day is folded when
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
  short of its events fails (a) or (c): that day is counted again.
  Rows without a fingerprint (day_events null: int_activity_daily's email
  rows) are left alone here.

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

{#-
  One row per day the table holds with a consistent fingerprint (its rows share one and their `count_column`
  adds up to its day_events, condition (a) above): activity_date, day_events, day_first_judged_at,
  day_last_judged_at. DuckDB only (the incremental path never runs on Spark).
-#}
{% macro held_day_fingerprints(relation, count_column) -%}
    select
        activity_date,
        min(day_events) as day_events,
        min(day_first_judged_at) as day_first_judged_at,
        min(day_last_judged_at) as day_last_judged_at
    from {{ relation }}
    where day_events is not null
    group by activity_date
    having min(day_events) = max(day_events)
        and min(day_first_judged_at) = max(day_first_judged_at)
        and min(day_last_judged_at) = max(day_last_judged_at)
        and sum({{ count_column }}) = min(day_events)
{%- endmacro %}

{#-
  Pre-hook of a daily table: step 1 above. Deletes every row of a day that neither holds its usable events'
  fingerprint nor takes only additions (conditions (a) to (d)). Rows without a fingerprint (day_events null)
  are left alone. Nothing on a full build.
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
                    -- only additions: (b), (c), (d)
                    held.activity_date > (select min(activity_date) from {{ this }} where day_events is not null)
                    and now_held.added_events > 0
                    and now_held.day_events = held.day_events + now_held.added_events
                    and now_held.day_first_judged_at = held.day_first_judged_at
                )
        )
    {%- endset -%}
    {{ return(customer_segments.delete_where(this, 'day_events is not null and not (' ~ kept ~ ')')) }}
{%- endmacro %}

{#-
  Post-hook of a daily table: the end of step 2. The model appended, for a day taking additions, the new
  events' rows with the day's new fingerprint; the day's old rows still carry the old one (stamped earlier).
  Each appended row whose key (the day and `key_columns`) the day already had is added to that row (counts
  summed, `first_column` min'ed and `last_column` max'ed) and deleted; then the day's old rows take the new
  fingerprint. Costs the appended rows and a scan of the days' rows, no count of the days' events and no
  rewrite of the rows that gained nothing. Nothing on a full build. (A build stopped before this hook leaves
  the day with two fingerprints: the next build's pre-hook finds its rows inconsistent and counts it again.)
  DuckDB only (the incremental path never runs on Spark).
-#}
{% macro fold_days_merged(count_column, key_columns, first_column=none, last_column=none) -%}
    {%- if not (execute and is_incremental() and not flags.FULL_REFRESH) -%}{{ return('') }}{%- endif -%}
    {#- the days holding two fingerprints, with the new one (the newest), read out first: the appended rows that
        are folded are deleted before the old rows take the new fingerprint, and may be all the day had -#}
    {%- set merged_days = run_query(
        'select cast(activity_date as varchar), arg_max(day_events, day_last_judged_at),'
        ~ ' cast(arg_max(day_first_judged_at, day_last_judged_at) as varchar), cast(max(day_last_judged_at) as varchar)'
        ~ ' from ' ~ this ~ ' where day_events is not null group by activity_date'
        ~ ' having min(day_last_judged_at) < max(day_last_judged_at) order by activity_date'
    ) -%}
    {#- (the days folded, in the debug log: tests/python/test_incremental_days.py reads it) -#}
    {%- do log(this.identifier ~ ': folded the new events of ' ~ merged_days.rows | length ~ ' day(s) into their rows: '
        ~ merged_days.columns[0].values() | join(', '), info=false) -%}
    {%- if merged_days.rows | length == 0 -%}{{ return('') }}{%- endif -%}
    {%- set fingerprints = [] -%}
    {%- for day, day_events, first_judged, last_judged in merged_days.rows -%}
        {%- do fingerprints.append("(cast('" ~ day ~ "' as date), cast(" ~ day_events ~ " as bigint), cast('"
            ~ first_judged ~ "' as timestamp), cast('" ~ last_judged ~ "' as timestamp))") -%}
    {%- endfor -%}
    {%- set new_fingerprints -%}
        (values {{ fingerprints | join(', ') }}) as new_fingerprints (activity_date, day_events, day_first_judged_at, day_last_judged_at)
    {%- endset -%}
    {%- set added -%}
        select added.rowid, added.*
        from {{ this }} as added
        inner join {{ new_fingerprints }}
            on new_fingerprints.activity_date = added.activity_date
            and new_fingerprints.day_last_judged_at = added.day_last_judged_at
    {%- endset -%}
    {%- set same_key -%}
        held.day_events is not null
        and held.activity_date = added.activity_date
        and held.day_last_judged_at < added.day_last_judged_at
        {%- for column in key_columns %}
        and held.{{ column }} is not distinct from added.{{ column }}
        {%- endfor %}
    {%- endset -%}
    {#- each appended row with a key the day held, paired with that row, found once (the update and the delete
        each joining every row of the days took 3.4 s and 3.1 s in int_activity_daily at 10M events): the held
        row takes the appended one's counts and times, the appended row goes -#}
    {%- set pairs = this.identifier ~ '__folded' -%}
    {%- do run_query(
        'create or replace temporary table ' ~ pairs ~ ' as select held.rowid as held_rowid, added.rowid as added_rowid,'
        ~ ' added.' ~ count_column ~ ' as added_count'
        ~ ((', added.' ~ first_column ~ ' as added_first') if first_column else '')
        ~ ((', added.' ~ last_column ~ ' as added_last') if last_column else '')
        ~ ' from (' ~ added ~ ') as added inner join ' ~ this ~ ' as held on ' ~ same_key
    ) -%}
    {%- do run_query(
        'update ' ~ this ~ ' as held set ' ~ count_column ~ ' = held.' ~ count_column ~ ' + pairs.added_count'
        ~ ((', ' ~ first_column ~ ' = least(held.' ~ first_column ~ ', pairs.added_first)') if first_column else '')
        ~ ((', ' ~ last_column ~ ' = greatest(held.' ~ last_column ~ ', pairs.added_last)') if last_column else '')
        ~ ' from ' ~ pairs ~ ' as pairs where held.rowid = pairs.held_rowid'
    ) -%}
    {%- do run_query('delete from ' ~ this ~ ' where rowid in (select added_rowid from ' ~ pairs ~ ')') -%}
    {%- do run_query('drop table ' ~ pairs) -%}
    {%- do run_query(
        'update ' ~ this ~ ' as held set day_events = new_fingerprints.day_events,'
        ~ ' day_first_judged_at = new_fingerprints.day_first_judged_at,'
        ~ ' day_last_judged_at = new_fingerprints.day_last_judged_at'
        ~ ' from ' ~ new_fingerprints
        ~ ' where held.day_events is not null and held.activity_date = new_fingerprints.activity_date'
        ~ ' and held.day_last_judged_at < new_fingerprints.day_last_judged_at'
    ) -%}
    {{ return('') }}
{%- endmacro %}

{#-
  The days a daily table counts in this build (the body of its `days_to_read` CTE), from `event_days` (a CTE of
  day_fingerprints) and the table's `count_column`: each day's fingerprint, with counted_until, the held
  day_last_judged_at of a day taking only additions (its events stamped later are counted and folded in by
  fold_days_merged), null for a day counted whole. A full build counts every day whole; an incremental build
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
