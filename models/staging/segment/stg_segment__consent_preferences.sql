{#-
  Consent preferences carried by events, as consent records: one row per usable
  event and consent purpose it states. Segment's Consent Management stamps
  every event with `context.consent.categoryPreferences` ({"Analytics": false,
  ...}); seed consent_categories maps each category id onto one of our purposes
  (categories it does not list are ignored, values other than true/false too).
  A Global Privacy Control signal (`context.consent.gpc` or
  `context.globalPrivacyControl` true) is a refusal of `data_sharing` (do not
  sell or share). The subject is the event's userId, else its anonymousId;
  the record's time is the event's. Events of any age count (a refusal is kept
  to be honoured after the event left the retention window). int_consent_latest
  merges these with the consent file.
  Incremental on DuckDB: a build reads only the lines judged since the last
  one, after its pre-hook deleted the rows of lines judged again and of file
  versions staging no longer holds (macros/incremental_events.sql); how far the
  last build read is the later of this table's newest judged_at and
  stg_segment__consent_lines_read (consent is stated by few events, or none:
  the newest row alone would make every build read all lines judged since);
  a table on Spark, rebuilt every build.
-#}
{{ config(
    materialized=('table' if target.type == 'spark' else 'incremental'),
    incremental_strategy='append',
    on_schema_change='fail',
    pre_hook="{{ customer_segments.forget_lines_judged_again(ref('stg_segment__events'), 'stg_segment__consent_lines_read') }}",
) }}

with

events as (

    select
        user_id,
        anonymous_id,
        event_at,
        {{ customer_segments.json_fragment('context', '$.consent.categoryPreferences') }} as category_preferences,
        coalesce(
            {{ customer_segments.json_text('context', '$.consent.gpc') }},
            {{ customer_segments.json_text('context', '$.globalPrivacyControl') }}
        ) as gpc_text,
        source_file,
        source_file_version,
        line_number,
        judged_at

    from {{ ref('stg_segment__events') }}
    where quarantine_reason is null
        and duplicate_reason is null
        and (context like '%categoryPreferences%' or context like '%gpc%' or context like '%globalPrivacyControl%')
    {%- if is_incremental() %}
        -- judged since the last build (a literal bound, so the scan skips older row groups)
        and judged_at > {{ customer_segments.events_consumed_until(this, 'stg_segment__consent_lines_read') }}
    {%- endif %}

),

categories as (

    select * from {{ ref('consent_categories') }}

),

stated as (

    select
        events.user_id,
        events.anonymous_id,
        events.event_at,
        categories.purpose,
        {{ customer_segments.parse_boolean(
            customer_segments.json_text_at('events.category_preferences', "'$.' || categories.category_id")) }} as is_granted,
        events.source_file,
        events.source_file_version,
        events.line_number,
        events.judged_at

    from events
    inner join categories on events.category_preferences is not null

    union all

    select
        user_id,
        anonymous_id,
        event_at,
        'data_sharing' as purpose,
        case when {{ customer_segments.parse_boolean('gpc_text') }} then false end as is_granted,
        source_file,
        source_file_version,
        line_number,
        judged_at

    from events

),

final as (

    select
        case when user_id is not null then 'user_id' else 'anonymous_id' end as subject_type,
        coalesce(user_id, anonymous_id) as subject_value,
        purpose,
        is_granted,
        event_at as recorded_at,
        source_file,
        source_file_version,
        line_number,
        judged_at

    from stated
    where is_granted is not null

)

select * from final
