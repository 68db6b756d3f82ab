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
-#}
{#- a table: its tests and int_consent_latest read it once each, not one scan of every event line each -#}
{{ config(materialized='table') }}

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
        ) as gpc_text

    from {{ ref('stg_segment__events') }}
    where quarantine_reason is null
        and duplicate_reason is null
        and (context like '%categoryPreferences%' or context like '%gpc%' or context like '%globalPrivacyControl%')

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
            customer_segments.json_text_at('events.category_preferences', "'$.' || categories.category_id")) }} as is_granted

    from events
    inner join categories on events.category_preferences is not null

    union all

    select
        user_id,
        anonymous_id,
        event_at,
        'data_sharing' as purpose,
        case when {{ customer_segments.parse_boolean('gpc_text') }} then false end as is_granted

    from events

),

final as (

    select
        case when user_id is not null then 'user_id' else 'anonymous_id' end as subject_type,
        coalesce(user_id, anonymous_id) as subject_value,
        purpose,
        is_granted,
        event_at as recorded_at

    from stated
    where is_granted is not null

)

select * from final
