{#-
  One row per identifier that is not a user id (anonymous id, device id, email,
  CRM contact id; junk excluded) with the user groups it was seen with directly
  and the guard-rail verdict:
  - shared: seen with more user groups than identity_max_user_ids_per_value
    allows for its type (a kiosk, a family laptop, a team inbox): it links nobody;
  - anchored: seen with at least one user group and not shared: it joins the
    group with the strongest direct evidence (int_identity_edges strength order),
    so a weaker link to another user is dropped, never the stronger;
  - floating: seen with no user id directly; the graph walk places it.
  The identifier's value is not repeated here (2.8M strings nobody read):
  join int_identity_nodes on node_id.
-#}
{{ customer_segments.after_quality_gate() }}

{%- set limits = var('identity_max_user_ids_per_value') %}

with

nodes as (

    select * from {{ ref('int_identity_nodes') }}
    where identifier_type <> 'user_id'
        and not is_junk

),

user_groups as (

    select * from {{ ref('int_identity_user_groups') }}

),

edges as (

    select * from {{ ref('int_identity_edges') }}

),

user_links as (

    select
        edges.to_node_id as node_id,
        user_groups.user_group_id,
        edges.priority,
        edges.sightings,
        edges.last_seen_at
    from edges
    inner join user_groups on edges.from_node_id = user_groups.node_id

    union all

    select
        edges.from_node_id,
        user_groups.user_group_id,
        edges.priority,
        edges.sightings,
        edges.last_seen_at
    from edges
    inner join user_groups on edges.to_node_id = user_groups.node_id

),

group_links as (

    select
        node_id,
        user_group_id,
        min(priority) as priority,
        sum(sightings) as sightings,
        max(last_seen_at) as last_seen_at

    from user_links
    group by 1, 2

),

ranked as (

    select
        node_id,
        user_group_id,
        count(*) over (partition by node_id) as user_groups_seen,
        row_number() over (
            partition by node_id
            order by priority, sightings desc, last_seen_at desc, user_group_id
        ) as strength_rank

    from group_links

),

strongest as (

    select node_id, user_group_id, user_groups_seen from ranked where strength_rank = 1

),

final as (

    select
        nodes.node_id,
        nodes.identifier_type,
        coalesce(strongest.user_groups_seen, 0) as user_groups_seen,
        case nodes.identifier_type
            {%- for identifier_type, limit in limits.items() %}
            when '{{ identifier_type }}' then {{ limit | int }}
            {%- endfor %}
        end as max_user_groups,
        case
            when strongest.node_id is null then 'floating'
            {%- for identifier_type, limit in limits.items() %}
            when nodes.identifier_type = '{{ identifier_type }}' and strongest.user_groups_seen > {{ limit | int }} then 'shared'
            {%- endfor %}
            else 'anchored'
        end as verdict,
        strongest.user_group_id as strongest_user_group_id

    from nodes
    left join strongest
        on nodes.node_id = strongest.node_id

)

select
    node_id,
    identifier_type,
    user_groups_seen,
    max_user_groups,
    verdict,
    case when verdict = 'anchored' then strongest_user_group_id end as user_group_id

from final
