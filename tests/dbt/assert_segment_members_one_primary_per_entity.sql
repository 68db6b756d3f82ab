{#-
  Tools that act on one segment per entity read is_primary: every member
  entity must have exactly one primary segment (per entity type).
-#}
select
    entity_type,
    entity_id,
    sum(case when is_primary then 1 else 0 end) as primary_segments

from {{ ref('segment_members') }}
group by 1, 2
having sum(case when is_primary then 1 else 0 end) <> 1
