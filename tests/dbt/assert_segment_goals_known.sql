{#-
  A segment's lift is measured on its goal (meta.segment.goal): 'order' or a
  canonical event of the taxonomy (seed event_taxonomy). Any other name would
  never convert and report a lift of zero: fail instead.
-#}
select
    segments.segment_id,
    segments.goal

from {{ ref('segments') }} as segments
left join {{ ref('event_taxonomy') }} as taxonomy on segments.goal = taxonomy.canonical_event
where segments.goal <> 'order'
    and taxonomy.canonical_event is null
