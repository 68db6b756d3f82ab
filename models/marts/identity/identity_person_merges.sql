{{ config(materialized='incremental', on_schema_change='append_new_columns') }}
{#-
  Log of person-id changes, appended build after build so downstream users can
  follow a person whose id changed: one row per (old person id, new person id)
  per build.
  - merged: the old person joined another person and its id did not survive
    (the id of the person seen first survives);
  - split: some identifiers left a person that still exists (a link is now
    rejected); they moved to new_person_id.
  Nothing is logged when a build changes no id.
-#}
{{ customer_segments.after_quality_gate() }}

with

person_ids as (

    select * from {{ ref('int_identity_person_ids') }}

),

build as (

    select * from {{ ref('int_build_context') }}

),

surviving as (

    select distinct person_id from person_ids

),

moves as (

    select
        previous_person_id as old_person_id,
        person_id as new_person_id,
        count(*) as identifiers_moved

    from person_ids
    where previous_person_id is not null
        and previous_person_id <> person_id
    group by 1, 2

),

final as (

    select
        moves.old_person_id,
        moves.new_person_id,
        case when surviving.person_id is null then 'merged' else 'split' end as change,
        moves.identifiers_moved,
        build.built_at as changed_at,
        build.build_id

    from moves
    cross join build
    left join surviving
        on moves.old_person_id = surviving.person_id

)

select * from final
