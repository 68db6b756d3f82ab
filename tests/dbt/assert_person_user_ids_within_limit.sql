{#-
  Guard rail: no person holds more user ids than var identity_max_user_ids_per_person
  allows (user ids retired by an alias call do not count).
-#}
with

user_ids as (

    select person_ids.person_id, person_ids.identifier_value
    from {{ ref('int_identity_person_ids') }} as person_ids
    inner join {{ ref('int_identity_user_groups') }} as user_groups
        on person_ids.node_id = user_groups.node_id
    where not user_groups.is_retired

)

select person_id, count(*) as active_user_ids
from user_ids
group by person_id
having count(*) > {{ var('identity_max_user_ids_per_person') }}
