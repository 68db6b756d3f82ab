{#-
  Segments that hold the same people are one segment with two owners: two
  active segments of the same entity type sharing more than var
  segment_max_overlap_share (default 0.5) of the smaller one's members warn,
  naming the pair (segment_overlaps). Merge them, tighten one, or draft one.
-#}
{{ config(severity='warn') }}

select
    segment_id,
    other_segment_id,
    members,
    other_members,
    shared_members,
    overlap_share

from {{ ref('segment_overlaps') }}
where members > 0
    and other_members > 0
    and 1.0 * shared_members / least(members, other_members) > {{ var('segment_max_overlap_share') }}
