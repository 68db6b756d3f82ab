{{ config(
    materialized=('table' if target.type == 'spark' else 'incremental'),
    incremental_strategy='delete+insert',
    unique_key=['source_file', 'line_number'],
    on_schema_change='fail',
    post_hook="{{ customer_segments.forget_lines_of_old_file_versions(ref('base_segment__event_lines')) }}",
) }}
{#-
  One row per raw event line: parsed, typed, UTC timestamps, and two verdicts:
  `quarantine_reason` (the row cannot be used) and `duplicate_reason` (a usable
  row that repeats another: same messageId, or a double fire). Rows with both
  null are the events the rest of the project uses (int_events_deduplicated).
  The lines are parsed by base_segment__event_lines, incrementally by file.

  The duplicate verdicts depend on other lines: the first copy of a messageId,
  the previous fire of the same call (call_key). An incremental build judges
  again only the lines whose verdict can change, and replaces them (delete+insert
  by file and line): every line of a call that has a line in a file read or
  dropped in this build, or a copy of a messageId such a file holds. Copies are
  numbered over every line of those messageIds, and a call's lines are all
  judged together, so each verdict is the one a full build would give. Of
  those, only the lines that are new or whose verdict changed are written
  (most lines of a touched call keep theirs), so `judged_at` moves only when
  a line's row changes. The
  post-hook drops the lines of files that were rewritten or deleted. On Spark
  (no DELETE on Parquet tables) the model is a table, judged whole every build.
  One difference by design: a line without receivedAt and sentAt is judged
  `timestamp_in_future` against the start of the build that judged it.
  `judged_at` says when a line's row was last written, so int_events_deduplicated
  can take exactly the lines judged since it last ran (macro judged_at_value).
-#}

{#-
  Every CTE reads the tables directly with the columns it needs: a CTE named
  twice is materialized whole by DuckDB (at 10M lines, all columns of the
  base table: half a minute).
-#}
{%- set lines = ref('base_segment__event_lines') %}

with

{% if is_incremental() %}
{#-
  The files read in this build (new, or a new version) and the files dropped since the last build (deleted, or
  an old version), from the two tables' file versions (a few dozen rows, two cheap scans): `arrived` and
  `departed` read the lines of those files only, a filter DuckDB applies to the file column before it reads
  the ids and call keys (comparing every line's file version instead read them all: 1.0 s and 1.1 s at 10M
  events). The file alone is enough: each table holds one version of a file.
-#}
{%- set arrived_files, departed_files = [], [] %}
{%- if execute %}
    {%- set arrived_files = customer_segments.file_versions_not_in(lines, this) | map(attribute='0') | list %}
    {%- set departed_files = customer_segments.file_versions_not_in(this, lines) | map(attribute='0') | list %}
{%- endif %}
arrived as (

    -- lines of files read in this build (new files, new versions of rewritten ones)
    select message_id, call_key
    from {{ lines }}
    where {{ customer_segments.in_values('source_file', arrived_files) }}

),

departed as (

    -- lines of files deleted or rewritten since the last build
    select message_id, call_key
    from {{ this }}
    where {{ customer_segments.in_values('source_file', departed_files) }}

),

touched_messages as (

    select message_id from arrived where message_id is not null
    union
    select message_id from departed where message_id is not null

),

touched_calls as (

    -- a call is touched when one of its lines came or went, or one of its lines is a copy of a
    -- touched messageId (which copy is the first may have changed, and only first copies are fires)
    select call_key from arrived
    union
    select call_key from departed
    union
    select previous.call_key
    from {{ this }} as previous
    inner join touched_messages on previous.message_id = touched_messages.message_id

),

judged_messages as (

    select distinct event_lines.message_id
    from {{ lines }} as event_lines
    inner join touched_calls on event_lines.call_key = touched_calls.call_key
    where event_lines.message_id is not null

),

candidate_lines as (

    -- the lines judged again (every line of a touched call) and every copy of their messageIds
    select
        *,
        call_key in (select call_key from touched_calls) as is_judged

    from {{ lines }}
    where call_key in (select call_key from touched_calls)
        or message_id in (select message_id from judged_messages)

),
{% else %}
candidate_lines as (

    select *, true as is_judged from {{ lines }}

),
{% endif %}

checked as (

    -- only the columns the verdicts need: the windows below sort what they carry,
    -- and the raw line and JSON fragments are most of a row's bytes
    select
        source_file,
        source_file_version,
        line_number,
        message_id,
        call_key,
        is_judged,
        event_at,
        received_at,
        case
            when read_error is not null
                then read_error
            when not is_json_object
                then 'malformed_json'
            when message_type is null
                or message_type not in ('track', 'page', 'screen', 'identify', 'alias', 'group')
                then 'invalid_type'
            when message_id is null
                then 'missing_message_id'
            when anonymous_id is null and user_id is null
                then 'missing_identifier'
            when message_type = 'track' and event_name_key = ''
                then 'missing_event_name'
            when message_type = 'alias' and previous_id is null
                then 'missing_previous_id'
            when event_at is null
                then 'invalid_timestamp'
            when event_at < {{ customer_segments.timestamp_var('min_valid_event_at') }}
                then 'timestamp_too_old'
            when event_at > {{ dbt.dateadd(
                    'hour',
                    var('max_clock_skew_hours'),
                    "coalesce(received_at, sent_at, cast('" ~ run_started_at.strftime('%Y-%m-%d %H:%M:%S') ~ "' as timestamp))") }}
                then 'timestamp_in_future'
        end as quarantine_reason

    from candidate_lines

),

message_copies as (

    -- The same messageId delivered again: the first one received is kept.
    select
        *,
        quarantine_reason is null as is_usable,
        row_number() over (
            partition by quarantine_reason is null, message_id
            order by received_at, source_file, line_number
        ) as copy_number

    from checked

),

fires as (

    -- A double fire: the same call from the same ids, with the same payload,
    -- within the double-fire window of the previous one.
    select
        *,
        lag(event_at) over (
            partition by is_usable and copy_number = 1, call_key
            order by event_at, message_id
        ) as previous_fire_at

    from message_copies
    where is_judged

),

verdicts as (

    select
        source_file,
        source_file_version,
        line_number,
        quarantine_reason,
        case
            when not is_usable then null
            when copy_number > 1 then 'duplicate_message_id'
            when previous_fire_at is not null
                and {{ dbt.datediff('previous_fire_at', 'event_at', 'millisecond') }} <= {{ var('double_fire_window_ms') }}
                then 'double_fire'
        end as duplicate_reason

    from fires

),
{%- if is_incremental() %}

changed_verdicts as (

    -- Of the lines judged again, only those whose verdict is new or differs from the one held are
    -- written: a line of a touched call is usually judged as before (a returning visitor's page view
    -- shares its call with every earlier view of that page), and rewriting it would stamp it judged
    -- again and send it down the incremental models for nothing.
    select verdicts.*
    from verdicts
    left join {{ this }} as held
        on verdicts.source_file = held.source_file
        and verdicts.line_number = held.line_number
        and verdicts.source_file_version = held.source_file_version
    where held.source_file is null
        or coalesce(verdicts.quarantine_reason, '') <> coalesce(held.quarantine_reason, '')
        or coalesce(verdicts.duplicate_reason, '') <> coalesce(held.duplicate_reason, '')

),
{%- endif %}

final as (

    select
        event_lines.source_file,
        event_lines.source_file_version,
        event_lines.line_number,
        event_lines.raw_line,
        event_lines.raw_line_bytes,
        event_lines.raw_line_sha256,
        event_lines.message_id,
        event_lines.message_type,
        event_lines.anonymous_id,
        event_lines.user_id,
        event_lines.event_name,
        event_lines.page_name,
        event_lines.event_name_key,
        event_lines.call_key,
        event_lines.group_id,
        event_lines.previous_id,
        event_lines.email,
        event_lines.title,
        event_lines.properties,
        event_lines.traits,
        event_lines.context,
        event_lines.ip,
        event_lines.page_url,
        event_lines.page_path,
        event_lines.page_referrer,
        event_lines.device_id,
        event_lines.campaign_source,
        event_lines.campaign_medium,
        event_lines.user_agent,
        event_lines.timestamp_text,
        event_lines.event_at,
        event_lines.received_at,
        event_lines.sent_at,
        verdicts.quarantine_reason,
        verdicts.duplicate_reason,
        {{ customer_segments.judged_at_value() }} as judged_at

    from {{ lines }} as event_lines
    inner join {{ 'changed_verdicts' if is_incremental() else 'verdicts' }} as verdicts
        on event_lines.source_file = verdicts.source_file
        and event_lines.line_number = verdicts.line_number

)

select * from final
