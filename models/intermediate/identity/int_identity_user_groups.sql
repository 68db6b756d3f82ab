{#-
  One row per user id (not junk) with the user group it belongs to: user ids an
  alias call declares to be the same user (previousId -> userId), followed
  through chains of any depth. A previousId aliased to several user ids keeps only
  its strongest alias (see int_identity_edges for the strength order); the others
  are rejected. A user id that was the previousId of a kept alias is retired: it
  does not count against identity_max_user_ids_per_person.
  user_group_id is the smallest node_id of the group.
-#}
{{ customer_segments.after_quality_gate() }}

with

nodes as (

    select * from {{ ref('int_identity_nodes') }}
    where identifier_type = 'user_id'
        and not is_junk

),

alias_edges as (

    select
        edges.from_node_id,
        edges.to_node_id,
        row_number() over (
            partition by edges.to_node_id
            order by edges.priority, edges.sightings desc, edges.last_seen_at desc, edges.from_node_id
        ) as strength_rank

    from {{ ref('int_identity_edges') }} as edges
    inner join nodes as from_node on edges.from_node_id = from_node.node_id
    inner join nodes as to_node on edges.to_node_id = to_node.node_id

),

kept_aliases as (

    select from_node_id, to_node_id from alias_edges where strength_rank = 1

),

links as (

    select from_node_id as src, to_node_id as dst from kept_aliases
    union all
    select to_node_id, from_node_id from kept_aliases

),

seeds as (

    select node_id, node_id as label, false as is_fixed from nodes

),

{{ customer_segments.label_propagation_ctes('seeds', 'links', var('identity_max_iterations'), 'alias_round') }},

retired as (

    select distinct to_node_id as node_id from kept_aliases

),

final as (

    select
        nodes.node_id,
        nodes.identifier_value as user_id,
        groups.label as user_group_id,
        retired.node_id is not null as is_retired

    from nodes
    inner join alias_round_{{ var('identity_max_iterations') }} as groups
        on nodes.node_id = groups.node_id
    left join retired
        on nodes.node_id = retired.node_id

)

select * from final
