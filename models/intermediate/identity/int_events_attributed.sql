{#- Usable events with the person they belong to (by user id when the call has one, else by anonymous id). -#}
{{ customer_segments.after_quality_gate() }}

with

events as (

    select * from {{ ref('int_events_deduplicated') }}

),

identifiers as (

    select * from {{ ref('int_identifiers_assigned') }}

),

final as (

    select
        coalesce(by_user.person_id, by_anonymous.person_id) as person_id,
        events.message_id,
        events.message_type,
        events.canonical_event,
        events.event_at,
        events.ip,
        events.page_path

    from events
    left join identifiers as by_user
        on by_user.identifier_type = 'user_id'
        and events.user_id = by_user.identifier_value
    left join identifiers as by_anonymous
        on by_anonymous.identifier_type = 'anonymous_id'
        and events.anonymous_id = by_anonymous.identifier_value

)

select * from final
