{{ config(severity='warn') }}
{#-
  The catalog keeps a few segments people act on: the number of active segments
  should be within vars segment_catalog_min_active..segment_catalog_max_active
  (3..7). Outside, dbt reports a WARN; the build goes on.
-#}
select count(*) as active_segments
from {{ ref('segments') }}
where status = 'active'
having count(*) < {{ var('segment_catalog_min_active') }}
    or count(*) > {{ var('segment_catalog_max_active') }}
