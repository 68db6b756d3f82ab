{#-
  Guard rail: a junk value or a value shared by more user ids than its type
  allows must not be in any person (it would merge strangers).
-#}
select person_ids.identifier_type, person_ids.identifier_value, person_ids.person_id

from {{ ref('int_identity_person_ids') }} as person_ids
left join {{ ref('int_identity_nodes') }} as nodes
    on person_ids.node_id = nodes.node_id
left join {{ ref('int_identity_anchors') }} as anchors
    on person_ids.node_id = anchors.node_id
where nodes.is_junk
    or anchors.verdict = 'shared'
