{#-
  Everything to erase in this build, in plain text, for the purge at the end of
  the build (macro purge_erased_people, on-run-end), which writes their hashes
  to erasure_log and empties this table in one transaction.
  A request counts until its hash is in erasure_log: each valid erasure request,
  and each target a build left here unfinished (it stopped before its purge
  committed), is erased again until the purge that logs it commits.
  The identity graph's components (before person ids are given) find every
  identifier of the person; int_identity_person_ids leaves these people out,
  so nothing downstream (scores, predictions, segments, change logs) sees them
  in the build that erases them. Person ids to purge: the ones the previous
  build gave those identifiers, and every id those people had before a merge
  (identity_person_merges).
-#}
{{ customer_segments.after_quality_gate() }}

{%- set log = customer_segments.erasure_log_relation() %}
{%- set unfinished = customer_segments.erasure_unfinished_targets(this) %}
{%- set previous_ids = customer_segments.model_relation('int_identity_person_ids') %}
{%- set merges = customer_segments.model_relation('identity_person_merges') %}

with

requests as (

    select * from {{ ref('stg_privacy__erasure_requests') }}
    where quarantine_reason is null
        and duplicate_reason is null

),

components as (

    select * from {{ ref('int_identity_components') }}

),

nodes as (

    select * from {{ ref('int_identity_nodes') }}

),

requested as (

    select
        subject_type as identifier_type,
        case when subject_type = 'email' then lower(trim(subject_value)) else trim(subject_value) end as identifier_value,
        requested_at

    from requests

    {%- if unfinished is not none %}

    union all

    -- left by a build that stopped before its purge committed
    select identifier_type, identifier_value, requested_at
    from {{ unfinished }}
    where identifier_type <> 'person_id'
    {%- endif %}

),

new_requests as (

    select
        identifier_type,
        identifier_value,
        min(requested_at) as requested_at

    from requested
    {%- if log is not none %}
    where {{ customer_segments.erasure_hash('identifier_type', 'identifier_value') }}
        not in (select identifier_hash from {{ log }})
    {%- endif %}
    group by 1, 2

),

members as (

    select
        components.component_id,
        nodes.identifier_type,
        nodes.identifier_value,
        nodes.first_seen_at

    from components
    inner join nodes on components.node_id = nodes.node_id

),

erased_components as (

    select
        members.component_id,
        min(new_requests.requested_at) as requested_at

    from new_requests
    inner join members
        on new_requests.identifier_type = members.identifier_type
        and new_requests.identifier_value = members.identifier_value
    group by 1

),

erased_identifiers as (

    select
        members.component_id,
        members.identifier_type,
        members.identifier_value,
        members.first_seen_at,
        erased_components.requested_at

    from erased_components
    inner join members on erased_components.component_id = members.component_id

),

former_ids as (

    -- the person ids earlier builds gave the erased identifiers
    {%- if previous_ids is not none %}
    select
        erased_identifiers.component_id,
        previous_ids.person_id

    from erased_identifiers
    inner join {{ previous_ids }} as previous_ids
        on erased_identifiers.identifier_type = previous_ids.identifier_type
        and erased_identifiers.identifier_value = previous_ids.identifier_value
    {%- else %}
    select
        component_id,
        cast(null as {{ dbt.type_string() }}) as person_id
    from erased_identifiers
    where 1 = 0
    {%- endif %}

),

merged_ids as (

    -- and every id those people had before a merge
    {%- if merges is not none %}
    select
        former_ids.component_id,
        merges.old_person_id as person_id

    from former_ids
    inner join {{ merges }} as merges on former_ids.person_id = merges.new_person_id
    {%- else %}
    select component_id, person_id from former_ids where 1 = 0
    {%- endif %}

),

person_ids as (

    select component_id, person_id from former_ids
    union all
    select component_id, person_id from merged_ids

),

{#- one person id per component for its identifier rows: a former one, else the id its root would get -#}
component_people as (

    select
        erased_components.component_id,
        coalesce(
            min(person_ids.person_id),
            {{ customer_segments.person_id_from_root("min(roots.root)") }}
        ) as person_id

    from erased_components
    left join person_ids on erased_components.component_id = person_ids.component_id
    left join (
        select
            component_id,
            identifier_type || ':' || identifier_value as root,
            row_number() over (partition by component_id order by first_seen_at, identifier_type, identifier_value) as seen_rank
        from erased_identifiers
    ) as roots
        on erased_components.component_id = roots.component_id
        and roots.seen_rank = 1
    group by 1

),

targets as (

    -- every identifier of an erased person
    select
        component_people.person_id,
        erased_identifiers.identifier_type,
        erased_identifiers.identifier_value,
        erased_identifiers.requested_at

    from erased_identifiers
    inner join component_people on erased_identifiers.component_id = component_people.component_id

    union all

    -- the requested identifiers themselves, also when the graph does not know them (yet)
    select
        cast(null as {{ dbt.type_string() }}) as person_id,
        identifier_type,
        identifier_value,
        requested_at

    from new_requests

    union all

    -- every person id they had, which tables of earlier builds may still hold
    select
        person_ids.person_id,
        'person_id' as identifier_type,
        person_ids.person_id as identifier_value,
        erased_components.requested_at

    from person_ids
    inner join erased_components on person_ids.component_id = erased_components.component_id

    {%- if unfinished is not none %}

    union all

    -- person ids a build that stopped before its purge had found
    select person_id, identifier_type, identifier_value, requested_at
    from {{ unfinished }}
    where identifier_type = 'person_id'
    {%- endif %}

),

final as (

    select
        person_id,
        identifier_type,
        identifier_value,
        min(requested_at) as requested_at

    from targets
    where identifier_value is not null
    group by 1, 2, 3

)

select * from final
