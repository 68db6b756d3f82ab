{#-
  Scores decay as weight * 2 ^ (-age_days / half_life_days): a half-life of 0 or less would divide
  by zero or make old events count more, and a negative weight would subtract engagement.
-#}

select
    canonical_event,
    weight,
    half_life_days

from {{ ref('event_taxonomy') }}
where half_life_days is null
    or half_life_days <= 0
    or weight is null
    or weight < 0
