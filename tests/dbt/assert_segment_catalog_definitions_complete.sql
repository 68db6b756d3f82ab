{#-
  A segment that can reach people must say who owns it, what motion acts on it
  and how its effect is measured: an active or draft segment without an owner,
  a motion or a measurement plan fails the build (fix its meta.segment in the
  catalog YAML).
-#}
select segment_id, status, owner, motion, measurement_plan
from {{ ref('segments') }}
where status in ('active', 'draft')
    and (
        coalesce(trim(owner), '') = ''
        or coalesce(trim(motion), '') = ''
        or coalesce(trim(measurement_plan), '') = ''
        or coalesce(review_cadence_days, 0) <= 0
    )
