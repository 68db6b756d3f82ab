{#-
  A segment too small to measure cannot prove it works: an active segment with
  fewer members than var segment_min_members (per entity type: 300 people
  leave 30 in a 10% holdout) warns, unless its meta marks it as a
  high_value_micro_segment (small on purpose, e.g. the top 5% by value).
-#}
{{ config(severity='warn') }}

{%- set minimum = var('segment_min_members') %}

select
    segment_id,
    entity_type,
    member_count,
    case entity_type
        when 'account' then {{ minimum.get('account', 0) | int }}
        else {{ minimum.get('person', 0) | int }}
    end as min_members

from {{ ref('segments') }}
where status = 'active'
    and not high_value_micro_segment
    and member_count < case entity_type
        when 'account' then {{ minimum.get('account', 0) | int }}
        else {{ minimum.get('person', 0) | int }}
    end
