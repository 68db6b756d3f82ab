{#- Members are served to reverse-ETL: only segments whose definition is `active` may have any. -#}

with

members as (

    select segment_id, count(*) as members
    from {{ ref('segment_members') }}
    group by 1

),

segments as (

    select segment_id, status from {{ ref('segments') }}

)

select
    members.segment_id,
    segments.status,
    members.members

from members
left join segments on members.segment_id = segments.segment_id
where segments.status is null
    or segments.status <> 'active'
