{{ config(severity='warn') }}
{#-
  A stale definition targets people by yesterday's understanding: an active
  segment whose last_reviewed_at is older than its review cadence (relative to
  the build's as_of) warns until someone reviews it and updates the date.
-#}
select
    segments.segment_id,
    segments.last_reviewed_at,
    segments.review_cadence_days

from {{ ref('segments') }} as segments
cross join {{ ref('int_build_context') }} as build
where segments.status = 'active'
    and {{ dbt.dateadd('day', 'segments.review_cadence_days', 'segments.last_reviewed_at') }} < cast(build.as_of as date)
