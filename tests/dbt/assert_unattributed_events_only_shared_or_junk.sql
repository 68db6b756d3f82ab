{#-
  An event belongs to no person only when none of its ids belongs to anyone:
  its user id and anonymous id (normalized) are junk or shared values, or absent.
-#}
with

unattributed as (

    select events.message_id, events.user_id, events.anonymous_id
    from {{ ref('int_events_attributed') }} as attributed
    inner join {{ ref('int_events_deduplicated') }} as events
        on attributed.message_id = events.message_id
    where attributed.person_id is null

),

owned as (

    select identifier_type, identifier_value from {{ ref('int_identity_person_ids') }}

)

select unattributed.*
from unattributed
left join owned as by_user
    on by_user.identifier_type = 'user_id'
    and by_user.identifier_value = {{ customer_segments.identity_value('user_id', 'unattributed.user_id') }}
left join owned as by_anonymous
    on by_anonymous.identifier_type = 'anonymous_id'
    and by_anonymous.identifier_value = {{ customer_segments.identity_value('anonymous_id', 'unattributed.anonymous_id') }}
where by_user.identifier_value is not null
    or by_anonymous.identifier_value is not null
