{#-
  CONTRACT segment_member_changes: one row per entry or exit.
  Foundation pass: every current member is an entry at this build's as_of;
  the segments issue makes this an incremental log that compares builds.
-#}

with

members as (

    select * from {{ ref('segment_members') }}

),

final as (

    select
        segment_id,
        entity_id,
        'entered' as change,
        entered_at as changed_at

    from members

)

select * from final
