{#-
  Audit of the identity graph: one row per edge (pair of identifiers seen
  together) that does not link two identifiers of one person, with the reason:
  - junk_value: one end is a placeholder or test value (identity_junk_values seed);
  - shared_value: one end was seen with more user ids than its type allows
    (var identity_max_user_ids_per_value), e.g. a kiosk's device;
  - weaker_evidence: both ends are usable but belong to different people: a
    stronger link put one of them elsewhere (e.g. an email seen with two user
    ids joins the one with more evidence), or a previousId aliased to several
    user ids kept its strongest alias;
  - not_converged: the graph walk ran out of rounds (raise
    identity_max_iterations); test assert_identity_graph_converged fails then.
-#}
{{ customer_segments.after_quality_gate() }}

with

edges as (

    select * from {{ ref('int_identity_edges') }}

),

nodes as (

    select * from {{ ref('int_identity_nodes') }}

),

anchors as (

    select * from {{ ref('int_identity_anchors') }}

),

components as (

    select * from {{ ref('int_identity_components') }}

),

person_ids as (

    select * from {{ ref('int_identity_person_ids') }}

),

judged as (

    select
        edges.*,
        from_node.is_junk or to_node.is_junk as has_junk,
        coalesce(from_anchor.verdict = 'shared', false) or coalesce(to_anchor.verdict = 'shared', false) as has_shared,
        from_component.component_id as from_component_id,
        to_component.component_id as to_component_id,
        not (from_component.is_converged and to_component.is_converged) as is_unsettled,
        case
            when from_anchor.verdict = 'shared' then from_anchor.user_groups_seen
            when to_anchor.verdict = 'shared' then to_anchor.user_groups_seen
        end as shared_user_ids_seen,
        case
            when from_anchor.verdict = 'shared' then from_anchor.max_user_groups
            when to_anchor.verdict = 'shared' then to_anchor.max_user_groups
        end as shared_limit

    from edges
    inner join nodes as from_node on edges.from_node_id = from_node.node_id
    inner join nodes as to_node on edges.to_node_id = to_node.node_id
    left join anchors as from_anchor on edges.from_node_id = from_anchor.node_id
    left join anchors as to_anchor on edges.to_node_id = to_anchor.node_id
    left join components as from_component on edges.from_node_id = from_component.node_id
    left join components as to_component on edges.to_node_id = to_component.node_id

),

rejected as (

    -- the edges that do not link one person, judged on node ids and flags only: the identifiers' text and
    -- the people are joined to these alone, not carried through every join for all 1.7M edges at 10M events
    select * from judged
    where has_junk
        or has_shared
        or from_component_id <> to_component_id
        or is_unsettled

),

final as (

    select
        from_node.identifier_type as from_type,
        {{ customer_segments.published_identifier('from_node.identifier_type', 'from_node.identifier_value') }} as from_value,
        to_node.identifier_type as to_type,
        {{ customer_segments.published_identifier('to_node.identifier_type', 'to_node.identifier_value') }} as to_value,
        rejected.source,
        rejected.sightings,
        rejected.first_seen_at,
        rejected.last_seen_at,
        case
            when rejected.has_junk then 'junk_value'
            when rejected.has_shared then 'shared_value'
            when rejected.is_unsettled then 'not_converged'
            else 'weaker_evidence'
        end as reason,
        case
            when rejected.has_junk then 'a placeholder or test value (seed identity_junk_values)'
            when rejected.has_shared then 'seen with ' || cast(rejected.shared_user_ids_seen as {{ dbt.type_string() }})
                || ' user ids; at most ' || cast(rejected.shared_limit as {{ dbt.type_string() }}) || ' allowed for its type'
            when rejected.is_unsettled then 'the graph walk ran out of rounds; raise var identity_max_iterations'
            else 'the two ends belong to different people: stronger evidence placed them'
        end as detail,
        from_person.person_id as from_person_id,
        to_person.person_id as to_person_id

    from rejected
    inner join nodes as from_node on rejected.from_node_id = from_node.node_id
    inner join nodes as to_node on rejected.to_node_id = to_node.node_id
    left join person_ids as from_person on rejected.from_node_id = from_person.node_id
    left join person_ids as to_person on rejected.to_node_id = to_person.node_id

)

select * from final
