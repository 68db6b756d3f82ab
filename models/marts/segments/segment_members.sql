{#-
  CONTRACT segment_members: one row per (segment_id, entity_id) of every active
  catalog segment at this build's as_of. entered_at is when the current stay
  began: the latest 'entered' change of segment_member_changes, so it survives
  rebuilds and is reset only by an exit and a new entry. is_holdout marks the
  stable control share (var holdout_share); reverse-ETL activates the rest.
  is_primary marks, for each entity, its segment with the best (lowest)
  catalog priority among its segments, for tools that act on one segment per
  entity.
-#}

with

current_members as (

    select * from {{ ref('segment_members_current') }}

),

changes as (

    select * from {{ ref('segment_member_changes') }}

),

latest_entries as (

    select
        segment_id,
        entity_id,
        changed_at as entered_at

    from (
        select
            segment_id,
            entity_id,
            changed_at,
            row_number() over (partition by segment_id, entity_id order by recorded_at desc) as entry_rank
        from changes
        where change = 'entered'
    ) as entries
    where entry_rank = 1

),

final as (

    select
        current_members.segment_id,
        current_members.entity_type,
        current_members.entity_id,
        latest_entries.entered_at,
        current_members.last_reviewed_at,
        current_members.is_holdout,
        current_members.score,
        current_members.priority,
        row_number() over (
            partition by current_members.entity_type, current_members.entity_id
            order by current_members.priority, current_members.segment_id
        ) = 1 as is_primary

    from current_members
    left join latest_entries
        on current_members.segment_id = latest_entries.segment_id
        and current_members.entity_id = latest_entries.entity_id

)

select * from final
