{#-
  The graph walk: one row per identifier that links anyone (junk and shared
  values excluded) with its component, the set of identifiers that make one
  person.
  - A user id is fixed to its user group; an anchored identifier is fixed to
    the user group it anchors to. Fixed nodes never move, so no walk can join
    two user groups (the only joins of user ids are made, within
    identity_max_user_ids_per_person, in int_identity_user_groups).
  - A floating identifier (never seen with a user id directly) takes the smallest
    label among itself and its neighbours, round after round
    (macro label_propagation_ctes): it joins the user group it is connected to,
    the smallest one if it bridges several, or forms an anonymous person with
    the other floating identifiers it is connected to.
  Labels of user groups are their node ids; labels of floating identifiers are
  offset above every node id, so a user group always wins over an anonymous one.
  is_converged is false for an identifier whose label a further round would
  still change (test assert_identity_graph_converged): the walk runs one round
  more than identity_max_iterations and keeps the labels from before it.
  (Each CTE is read once, so engines that inline CTEs plan the rounds once, not
  once per reader; Spark runs the rounds as tables, from graph_ctes.)
-#}
{{ customer_segments.after_quality_gate() }}
{{ config(post_hook="{{ customer_segments.drop_label_propagation_tables() }}") }}

{%- set rounds = var('identity_max_iterations') %}

{%- set graph_ctes %}
user_groups as (

    select * from {{ ref('int_identity_user_groups') }}

),

anchors as (

    select * from {{ ref('int_identity_anchors') }}
    where verdict in ('anchored', 'floating')

),

offset_base as (

    select max(node_id) as label_offset from {{ ref('int_identity_nodes') }}

),

seeds as (

    select node_id, user_group_id as label, true as is_fixed
    from user_groups

    union all

    select anchors.node_id, anchors.user_group_id, true
    from anchors
    where anchors.verdict = 'anchored'

    union all

    select anchors.node_id, anchors.node_id + offset_base.label_offset, false
    from anchors
    cross join offset_base
    where anchors.verdict = 'floating'

),

edges as (

    select * from {{ ref('int_identity_edges') }}

),

{#- only edges into a floating node can move a label -#}
walk_edges as (

    select edges.from_node_id as src, edges.to_node_id as dst
    from edges
    inner join seeds as target on edges.to_node_id = target.node_id and not target.is_fixed
    inner join seeds as origin on edges.from_node_id = origin.node_id

    union all

    select edges.to_node_id, edges.from_node_id
    from edges
    inner join seeds as target on edges.from_node_id = target.node_id and not target.is_fixed
    inner join seeds as origin on edges.to_node_id = origin.node_id

),

{#-
  Only floating nodes move, so the walk runs on them and on the fixed nodes next to
  them (a few % of the graph), not on every node every round; the other fixed nodes
  keep their seed label. Round for round the same labels as a walk over all nodes.
-#}
walk_nodes as (

    select node_id from seeds where not is_fixed

    union

    select src from walk_edges

),

walk_seeds as (

    select seeds.node_id, seeds.label, seeds.is_fixed
    from seeds
    inner join walk_nodes on seeds.node_id = walk_nodes.node_id

)
{%- endset %}

with
{{ graph_ctes }},

{{ customer_segments.label_propagation_ctes('walk_seeds', 'walk_edges', rounds + 1, 'walk_round', graph_ctes) }},

{#- the labels after `rounds` rounds; one more round lowering a label means the walk had not settled there -#}
final_labels as (

    select node_id, label, true as is_converged from seeds where is_fixed

    union all

    select node_id, previous_label, label = previous_label
    from walk_round_{{ rounds + 1 }}
    where not is_fixed

),

final as (

    select
        final_labels.node_id,
        final_labels.label as component_id,
        final_labels.label <= offset_base.label_offset as has_user_id,
        final_labels.is_converged

    from final_labels
    cross join offset_base

)

select * from final
