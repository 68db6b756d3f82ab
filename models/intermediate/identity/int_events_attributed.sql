{#-
  Usable events with the person they belong to: the person of the call's user id,
  else of its anonymous id (values normalized as the identity graph matches them).
  Calls whose only ids are junk or shared (a kiosk's anonymous id) belong to no
  person: person_id is null, the event is kept.
  Incremental on DuckDB (macros/incremental_attribution.sql): a build attributes
  the events judged since its last one, after its pre-hook deleted the rows of
  events gone from the usable events and moved the rows of calls whose ids now
  belong to another person (merges, splits, erasures) to that person; on Spark
  (no DELETE on Parquet tables) it is a table, rebuilt every build.
-#}
{{ customer_segments.after_quality_gate() }}
{{ config(
    materialized=('table' if target.type == 'spark' else 'incremental'),
    incremental_strategy='append',
    on_schema_change='fail',
    pre_hook="{{ customer_segments.forget_attributions_changed(ref('int_events_deduplicated'), ref('int_identity_person_ids')) }}",
) }}

with

events as (

    select
        message_id,
        message_type,
        canonical_event,
        event_at,
        ip,
        page_path,
        group_id,
        judged_at,
        {{ customer_segments.identity_value('user_id', 'user_id') }} as user_id,
        {{ customer_segments.identity_value('anonymous_id', 'anonymous_id') }} as anonymous_id

    from {{ ref('int_events_deduplicated') }} as usable
{%- set held_from = customer_segments.events_held_from(this) if is_incremental() else none %}
{%- if held_from is not none %}
    -- not attributed yet: judged since the last build, or taken back into the retention window
    -- (both bounds are literals read before the pre-hook, so the scan skips older row groups)
    where usable.judged_at > {{ customer_segments.events_consumed_until(this) }}
        or usable.event_at < {{ held_from }}
{%- endif %}

),

identifiers as (

    select * from {{ ref('int_identity_person_ids') }}

),

final as (

    select
        coalesce(by_user.person_id, by_anonymous.person_id) as person_id,
        events.message_id,
        events.message_type,
        events.canonical_event,
        events.event_at,
        events.ip,
        events.page_path,
        events.group_id,
        events.user_id,
        events.anonymous_id,
        events.judged_at

    from events
    left join identifiers as by_user
        on by_user.identifier_type = 'user_id'
        and events.user_id = by_user.identifier_value
    left join identifiers as by_anonymous
        on by_anonymous.identifier_type = 'anonymous_id'
        and events.anonymous_id = by_anonymous.identifier_value

)

select * from final
