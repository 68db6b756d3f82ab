{#-
  At-risk customers: valuable repeat customers going quiet. RFM segment
  'At risk' or 'Can''t lose them' (bought often or for a lot, but not lately),
  at least two orders, and, where the purchase model ran, a probability of
  still being an active customer below var segment_at_risk_max_p_alive
  (without a fitted purchase model p_alive is null and that layer is skipped).
  Layers: value (F, M) + recency + predicted churn. Ranked by spend.
-#}

with

scores as (

    select * from {{ ref('person_scores') }}

),

final as (

    select
        person_id as entity_id,
        cast(monetary as double) as score

    from scores
    where rfm_segment in ('At risk', 'Can''t lose them')
        and frequency >= 2
        and (p_alive is null or p_alive < {{ var('segment_at_risk_max_p_alive') }})

)

select * from final
