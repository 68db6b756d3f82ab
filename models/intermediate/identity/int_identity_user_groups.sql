{#-
  One row per user id (not junk) with the user group it belongs to: user ids an
  alias call declares to be the same user (previousId -> userId), followed
  through chains of any depth. A previousId aliased to several user ids keeps only
  its strongest alias (see int_identity_edges for the strength order); the others
  are rejected. A user id that was the previousId of a kept alias is retired: it
  does not count against identity_max_user_ids_per_person.
  With identity_max_user_ids_per_person = K above 1, users also join when a
  value (not junk, within its type's identity_max_user_ids_per_value) was seen
  with 2..K of them; if such joins chain into a group with more than K active
  user ids, that group is not joined at all (each user keeps its alias group):
  conservative, deterministic, and never over the limit.
  user_group_id is the smallest node_id of the group.
  Each walk's CTEs are kept as text (alias_ctes, join_ctes) and passed to
  label_propagation_ctes, which on Spark runs the walk from them as tables.
-#}

{%- set max_users = var('identity_max_user_ids_per_person') | int %}
{%- set limits = var('identity_max_user_ids_per_value') %}
{%- if max_users < 1 %}
{{ exceptions.raise_compiler_error("var identity_max_user_ids_per_person must be 1 or more, got " ~ max_users) }}
{%- endif %}
{{ customer_segments.after_quality_gate() }}
{{ config(post_hook="{{ customer_segments.drop_label_propagation_tables() }}") }}

{%- set alias_ctes %}
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

{#- only user ids in an alias link can change group; every other one is its own group -#}
seeds as (

    select distinct src as node_id, src as label, false as is_fixed
    from links

)
{%- endset %}

{%- set groups_ctes %}
{{ alias_ctes }},

{{ customer_segments.label_propagation_ctes('seeds', 'links', var('identity_max_iterations'), 'alias_round', alias_ctes) }},

retired as (

    select distinct to_node_id as node_id from kept_aliases

),

alias_groups as (

    select
        nodes.node_id,
        nodes.identifier_value as user_id,
        coalesce(groups.label, nodes.node_id) as alias_group_id,
        retired.node_id is not null as is_retired

    from nodes
    left join alias_round_{{ var('identity_max_iterations') }} as groups
        on nodes.node_id = groups.node_id
    left join retired
        on nodes.node_id = retired.node_id

)
{%- endset %}

with
{%- if max_users > 1 %}

{%- set join_ctes %}
{{ groups_ctes }},

{#- values seen with 2..K alias groups (and within their type's limit) join those groups -#}
value_links as (

    select distinct
        edges.to_node_id as value_node_id,
        alias_groups.alias_group_id
    from {{ ref('int_identity_edges') }} as edges
    inner join alias_groups on edges.from_node_id = alias_groups.node_id

    union

    select distinct
        edges.from_node_id,
        alias_groups.alias_group_id
    from {{ ref('int_identity_edges') }} as edges
    inner join alias_groups on edges.to_node_id = alias_groups.node_id

),

joining_values as (

    select value_links.value_node_id, min(value_links.alias_group_id) as first_group_id
    from value_links
    inner join {{ ref('int_identity_nodes') }} as value_nodes
        on value_links.value_node_id = value_nodes.node_id
    where value_nodes.identifier_type <> 'user_id'
        and not value_nodes.is_junk
    group by value_links.value_node_id, value_nodes.identifier_type
    having count(*) between 2 and {{ max_users }}
        and count(*) <= case value_nodes.identifier_type
            {%- for identifier_type, limit in limits.items() %}
            when '{{ identifier_type }}' then {{ limit | int }}
            {%- endfor %}
            else 1
        end

),

group_links as (

    select distinct joining_values.first_group_id as src, value_links.alias_group_id as dst
    from joining_values
    inner join value_links on joining_values.value_node_id = value_links.value_node_id
    where value_links.alias_group_id <> joining_values.first_group_id

),

group_walk_edges as (

    select src, dst from group_links
    union all
    select dst, src from group_links

),

group_seeds as (

    select distinct alias_group_id as node_id, alias_group_id as label, false as is_fixed from alias_groups

)
{%- endset %}
{{ join_ctes }},

{{ customer_segments.label_propagation_ctes('group_seeds', 'group_walk_edges', var('identity_max_iterations'), 'group_round', join_ctes) }},

joined as (

    select alias_groups.*, group_round_{{ var('identity_max_iterations') }}.label as joined_group_id
    from alias_groups
    inner join group_round_{{ var('identity_max_iterations') }}
        on alias_groups.alias_group_id = group_round_{{ var('identity_max_iterations') }}.node_id

),

over_limit as (

    select joined_group_id
    from joined
    where not is_retired
    group by joined_group_id
    having count(*) > {{ max_users }}

),

final as (

    select
        joined.node_id,
        joined.user_id,
        case when over_limit.joined_group_id is null then joined.joined_group_id else joined.alias_group_id end as user_group_id,
        joined.is_retired

    from joined
    left join over_limit
        on joined.joined_group_id = over_limit.joined_group_id

)
{%- else %}
{{ groups_ctes }},

final as (

    select node_id, user_id, alias_group_id as user_group_id, is_retired
    from alias_groups

)
{%- endif %}

select * from final
