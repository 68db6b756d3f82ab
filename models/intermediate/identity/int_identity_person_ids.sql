{#-
  One row per identifier that belongs to a person, with the person's stable id.

  A component's root is its earliest-seen identifier (ties: type, then value);
  a new person's id is a hash of its root (macro person_id_from_root), so the
  same data gives the same ids in a fresh database. "Ties: type, then value" is
  node_id order (int_identity_nodes numbers identifiers in that order), so the
  windows below order by integers, not strings.
  Across builds this model reads its own previous state ({{ "{{ this }}" }}; on Spark a
  copy the pre-hook makes, macro identity_previous_ids):
  - a person keeps its id when new identifiers join it;
  - when people merge, the surviving id is the one of the person seen first
    (earliest first_seen_at of the identifiers it held; ties: smallest id);
  - when a person splits (a guard rail now rejects a link), its id stays with
    the part that holds its earliest-seen identifier; the other part gets a new id.
  previous_person_id says where each identifier was before this build;
  identity_person_merges logs every change of id. --full-refresh starts over.
  People erased in this build (int_erasure_targets) are left out here, so no
  score, prediction, segment or change log of this build sees them; the purge
  at the end of the build removes the rest of their data.
-#}
{{ config(pre_hook="{{ customer_segments.keep_identity_previous_ids(this) }}") }}
{{ customer_segments.after_quality_gate() }}

{#- `dbt build --full-refresh` forgets the previous ids: every person gets the id of its root again. -#}
{%- set previous = customer_segments.identity_previous_ids(this) if execute and not flags.FULL_REFRESH else none %}

with

components as (

    select * from {{ ref('int_identity_components') }}

),

nodes as (

    select * from {{ ref('int_identity_nodes') }}

),

erased as (

    select identifier_type, identifier_value
    from {{ ref('int_erasure_targets') }}
    where identifier_type <> 'person_id'

),

members as (

    select
        components.component_id,
        nodes.node_id,
        nodes.identifier_type,
        nodes.identifier_value,
        nodes.first_seen_at,
        nodes.last_seen_at

    from components
    inner join nodes
        on components.node_id = nodes.node_id

),

{#-
  A component's root: its earliest-seen identifier, then the smallest node_id
  (type, then value); an identifier never given a time (a CRM contact without
  updated_at) comes last. Aggregates over integers, not a window over every
  member's strings.
-#}
component_first_seen as (

    select component_id, min(first_seen_at) as first_seen_at
    from members
    group by 1

),

roots as (

    select
        members.component_id,
        min_by(members.identifier_type || ':' || members.identifier_value, members.node_id) as root

    from members
    inner join component_first_seen
        on members.component_id = component_first_seen.component_id
    where members.first_seen_at = component_first_seen.first_seen_at
        or component_first_seen.first_seen_at is null
    group by 1

),

previous_ids as (

    {%- if previous is not none %}
    select identifier_type, identifier_value, person_id
    from {{ previous }}
    {%- else %}
    select
        cast(null as {{ dbt.type_string() }}) as identifier_type,
        cast(null as {{ dbt.type_string() }}) as identifier_value,
        cast(null as {{ dbt.type_string() }}) as person_id
    where 1 = 0
    {%- endif %}

),

members_before as (

    select
        members.*,
        previous_ids.person_id as previous_person_id

    from members
    left join previous_ids
        on members.identifier_type = previous_ids.identifier_type
        and members.identifier_value = previous_ids.identifier_value

),

{#- each previous person's home: the component that now holds its earliest-seen identifier -#}
previous_people as (

    select
        previous_person_id,
        component_id as home_component_id,
        first_seen_at as person_first_seen_at,
        row_number() over (
            partition by previous_person_id
            order by first_seen_at, node_id
        ) as seen_rank

    from members_before
    where previous_person_id is not null

),

survivors as (

    select
        home_component_id as component_id,
        previous_person_id as person_id,
        row_number() over (
            partition by home_component_id
            order by person_first_seen_at, previous_person_id
        ) as survivor_rank

    from previous_people
    where seen_rank = 1

),

kept_ids as (

    select component_id, person_id from survivors where survivor_rank = 1

),

new_ids as (

    select
        roots.component_id,
        roots.root,
        {{ customer_segments.person_id_from_root('roots.root') }} as root_person_id

    from roots
    left join kept_ids
        on roots.component_id = kept_ids.component_id
    where kept_ids.component_id is null

),

taken_ids as (

    select distinct previous_person_id as person_id from members_before where previous_person_id is not null

),

person_ids as (

    select component_id, person_id, 'kept' as id_origin from kept_ids

    union all

    select
        new_ids.component_id,
        case
            when taken_ids.person_id is null then new_ids.root_person_id
            else {{ customer_segments.person_id_from_root("new_ids.root || '|split'") }}
        end,
        'new'
    from new_ids
    left join taken_ids
        on new_ids.root_person_id = taken_ids.person_id

),

final as (

    select
        person_ids.person_id,
        members_before.identifier_type,
        members_before.identifier_value,
        members_before.node_id,
        members_before.component_id,
        members_before.first_seen_at,
        members_before.last_seen_at,
        members_before.previous_person_id,
        person_ids.id_origin

    from members_before
    inner join person_ids
        on members_before.component_id = person_ids.component_id
    left join erased
        on members_before.identifier_type = erased.identifier_type
        and members_before.identifier_value = erased.identifier_value
    where erased.identifier_value is null

)

select * from final
