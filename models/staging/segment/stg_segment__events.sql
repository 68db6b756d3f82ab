{{ config(materialized='table') }}
{#-
  One row per raw event line: parsed, typed, UTC timestamps, and two verdicts:
  `quarantine_reason` (the row cannot be used) and `duplicate_reason` (a usable
  row that repeats another: same messageId, or a double fire). Rows with both
  null are the events the rest of the project uses (int_events_deduplicated).
  A table, not a view: parsing JSON is the most expensive step of the build.
-#}

with

lines as (

    {{ customer_segments.raw_event_lines() }}

),

json_lines as (

    select
        source_file,
        line_number,
        raw_line,
        case when {{ customer_segments.is_json_object('raw_line') }} then raw_line end as json_line

    from lines

),

extracted as (

    {{ customer_segments.select_json_fields(
        'json_lines', 'json_line',
        keep=['source_file', 'line_number', 'raw_line', 'json_line'],
        texts=[
            ('message_id_text', '$.messageId'),
            ('type_text', '$.type'),
            ('anonymous_id_text', '$.anonymousId'),
            ('user_id_text', '$.userId'),
            ('event_name', '$.event'),
            ('page_name', '$.name'),
            ('group_id_text', '$.groupId'),
            ('previous_id_text', '$.previousId'),
            ('email', '$.traits.email'),
            ('title', '$.traits.title'),
            ('ip', '$.context.ip'),
            ('page_url', '$.context.page.url'),
            ('page_path', '$.context.page.path'),
            ('page_referrer', '$.context.page.referrer'),
            ('device_id_text', '$.context.device.id'),
            ('campaign_source', '$.context.campaign.source'),
            ('campaign_medium', '$.context.campaign.medium'),
            ('user_agent', '$.context.userAgent'),
            ('timestamp_text', '$.timestamp'),
            ('received_at_text', '$.receivedAt'),
            ('sent_at_text', '$.sentAt'),
        ],
        fragments=[
            ('properties', '$.properties'),
            ('traits', '$.traits'),
            ('context', '$.context'),
        ]) }}

),

fields as (

    select
        source_file,
        line_number,
        raw_line,
        json_line is not null as is_json_object,
        nullif(trim(message_id_text), '') as message_id,
        lower(trim(type_text)) as message_type,
        nullif(trim(anonymous_id_text), '') as anonymous_id,
        nullif(trim(user_id_text), '') as user_id,
        event_name,
        page_name,
        nullif(trim(group_id_text), '') as group_id,
        nullif(trim(previous_id_text), '') as previous_id,
        email,
        title,
        properties,
        traits,
        context,
        ip,
        page_url,
        page_path,
        page_referrer,
        nullif(trim(device_id_text), '') as device_id,
        campaign_source,
        campaign_medium,
        user_agent,
        timestamp_text,
        {{ customer_segments.to_utc_timestamp('timestamp_text') }} as event_at,
        {{ customer_segments.to_utc_timestamp('received_at_text') }} as received_at,
        {{ customer_segments.to_utc_timestamp('sent_at_text') }} as sent_at

    from extracted

),

named as (

    select
        *,
        case
            when message_type = 'track' then {{ customer_segments.name_key('event_name') }}
            when message_type in ('page', 'screen') then {{ customer_segments.name_key('page_name') }}
            else ''
        end as event_name_key

    from fields

),

checked as (

    select
        *,
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

    from named

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

final as (

    select
        source_file,
        line_number,
        raw_line,
        message_id,
        message_type,
        anonymous_id,
        user_id,
        event_name,
        page_name,
        event_name_key,
        group_id,
        previous_id,
        email,
        title,
        properties,
        traits,
        context,
        ip,
        page_url,
        page_path,
        page_referrer,
        device_id,
        campaign_source,
        campaign_medium,
        user_agent,
        timestamp_text,
        event_at,
        received_at,
        sent_at,
        quarantine_reason,
        case
            when not is_usable then null
            when copy_number > 1 then 'duplicate_message_id'
            when previous_fire_at is not null
                and {{ dbt.datediff('previous_fire_at', 'event_at', 'millisecond') }} <= {{ var('double_fire_window_ms') }}
                then 'double_fire'
        end as duplicate_reason

    from fires
    -- rows of people erased in earlier builds stay out (README "Privacy")
    where {{ customer_segments.not_erased('fires', [('anonymous_id', 'anonymous_id'), ('user_id', 'user_id'), ('anonymous_id', 'previous_id'), ('user_id', 'previous_id'), ('email', 'email'), ('device_id', 'device_id')]) }}

)

select * from final
