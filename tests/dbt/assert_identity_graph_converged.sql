{#-
  The identity graph walk (int_identity_components) must settle within
  var identity_max_iterations rounds; an identifier a further round would still
  move means people are split that the data links. Fix: raise the var.
-#}
select
    nodes.identifier_type,
    nodes.identifier_value,
    'the identity graph walk did not settle in {{ var("identity_max_iterations") }} rounds: raise var identity_max_iterations' as problem

from {{ ref('int_identity_components') }} as components
inner join {{ ref('int_identity_nodes') }} as nodes
    on components.node_id = nodes.node_id
where not components.is_converged
