{#-
  Usable events with the person they belong to: the person of the call's user id,
  else of its anonymous id (values normalized as the identity graph matches them).
  Calls whose only ids are junk or shared (a kiosk's anonymous id) belong to no
  person: person_id is null, the event is kept.
-#}
{{ customer_segments.after_quality_gate() }}

with

events as (

    select * from {{ ref('int_events_deduplicated') }}

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
        events.group_id

    from events
    left join identifiers as by_user
        on by_user.identifier_type = 'user_id'
        and {{ customer_segments.identity_value('user_id', 'events.user_id') }} = by_user.identifier_value
    left join identifiers as by_anonymous
        on by_anonymous.identifier_type = 'anonymous_id'
        and {{ customer_segments.identity_value('anonymous_id', 'events.anonymous_id') }} = by_anonymous.identifier_value

)

select * from final
