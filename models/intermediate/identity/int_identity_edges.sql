{#-
  One row per pair of identifiers seen together (an edge of the identity graph),
  with the strongest source that links them (priority from the
  identity_edge_sources seed: 1 = strongest), how often and when they were seen
  together. Direction is as observed: from the caller (user id, else anonymous
  id; contact id; alias: the new user id) to its partner.
  Strength order, used wherever one edge must give way to another:
  source priority, then more sightings, then seen more recently, then node ids.
  Ends are node ids only: the identifiers' type and value are in
  int_identity_nodes (writing them again per edge costs more than the joins of
  the few readers that need them).
-#}
{{ customer_segments.after_quality_gate() }}

with

sightings as (

    select * from {{ ref('int_identity_sightings') }}
    where partner_value is not null

),

nodes as (

    select * from {{ ref('int_identity_nodes') }}

),

edge_sources as (

    select * from {{ ref('identity_edge_sources') }}

),

pairs as (

    select
        sightings.identifier_type as from_type,
        sightings.identifier_value as from_value,
        sightings.partner_type as to_type,
        sightings.partner_value as to_value,
        min(edge_sources.priority) as priority,
        sum(sightings.sightings) as sightings,
        min(sightings.first_seen_at) as first_seen_at,
        max(sightings.last_seen_at) as last_seen_at

    from sightings
    inner join edge_sources
        on sightings.source = edge_sources.source
    group by 1, 2, 3, 4

),

final as (

    select
        from_node.node_id as from_node_id,
        to_node.node_id as to_node_id,
        edge_sources.source,
        pairs.priority,
        pairs.sightings,
        pairs.first_seen_at,
        pairs.last_seen_at

    from pairs
    inner join edge_sources
        on pairs.priority = edge_sources.priority
    inner join nodes as from_node
        on pairs.from_type = from_node.identifier_type
        and pairs.from_value = from_node.identifier_value
    inner join nodes as to_node
        on pairs.to_type = to_node.identifier_type
        and pairs.to_value = to_node.identifier_value
    where from_node.node_id <> to_node.node_id

)

select * from final
