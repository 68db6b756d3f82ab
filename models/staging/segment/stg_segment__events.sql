{{ config(materialized='table') }}
{#-
  One row per raw event line: parsed, typed, UTC timestamps, and two verdicts:
  `quarantine_reason` (the row cannot be used) and `duplicate_reason` (a usable
  row that repeats another: same messageId, or a double fire). Rows with both
  null are the events the rest of the project uses (int_events_deduplicated).
  The lines are parsed by base_segment__event_lines, incrementally by file;
  the verdicts are made here over all lines on every build, because they
  depend on other lines (the first copy of a messageId, the previous fire)
  and on the build (clock skew against its start). That costs a few window
  functions over typed columns, not a parse of the history.
-#}

with

event_lines as (

    select * from {{ ref('base_segment__event_lines') }}

),

checked as (

    -- only the columns the verdicts need: the windows below sort what they carry,
    -- and the raw line and JSON fragments are most of a row's bytes
    select
        source_file,
        line_number,
        message_id,
        message_type,
        anonymous_id,
        user_id,
        event_name_key,
        page_path,
        properties,
        traits,
        event_at,
        received_at,
        case
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
            when event_at < cast('{{ var("min_valid_event_at") }}' as timestamp)
                then 'timestamp_too_old'
            when event_at > {{ dbt.dateadd(
                    'hour',
                    var('max_clock_skew_hours'),
                    "coalesce(received_at, sent_at, cast('" ~ run_started_at.strftime('%Y-%m-%d %H:%M:%S') ~ "' as timestamp))") }}
                then 'timestamp_in_future'
        end as quarantine_reason

    from event_lines

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
            partition by
                is_usable and copy_number = 1,
                anonymous_id, user_id, message_type, event_name_key, page_path, properties, traits
            order by event_at, message_id
        ) as previous_fire_at

    from message_copies

),

verdicts as (

    select
        source_file,
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

final as (

    select
        event_lines.source_file,
        event_lines.line_number,
        event_lines.raw_line,
        event_lines.message_id,
        event_lines.message_type,
        event_lines.anonymous_id,
        event_lines.user_id,
        event_lines.event_name,
        event_lines.page_name,
        event_lines.event_name_key,
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
        verdicts.duplicate_reason

    from event_lines
    inner join verdicts
        on event_lines.source_file = verdicts.source_file
        and event_lines.line_number = verdicts.line_number

)

select * from final
