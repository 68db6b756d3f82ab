{#-
  An event belongs to no person only when none of its ids belongs to anyone:
  its user id and anonymous id (normalized as the graph matches them, which is
  how int_events_attributed keeps them) are junk or shared values, or absent.
  Reads the unattributed rows only, not every usable event.
-#}
with

unattributed as (

    select message_id, user_id, anonymous_id
    from {{ ref('int_events_attributed') }}
    where person_id is null

),

owned as (

    select identifier_type, identifier_value from {{ ref('int_identity_person_ids') }}

)

select unattributed.*
from unattributed
left join owned as by_user
    on by_user.identifier_type = 'user_id'
    and by_user.identifier_value = unattributed.user_id
left join owned as by_anonymous
    on by_anonymous.identifier_type = 'anonymous_id'
    and by_anonymous.identifier_value = unattributed.anonymous_id
where by_user.identifier_value is not null
    or by_anonymous.identifier_value is not null
