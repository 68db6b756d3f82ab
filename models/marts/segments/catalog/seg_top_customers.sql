{#-
  Top customers: the top var segment_top_customers_share (5%) of buyers by
  completed-order spend who are still likely to be active (p_alive at or
  above 0.5 where the purchase model ran). A high-value micro-segment: small
  on purpose, exempt from the minimum-size warning.
  Layers: value + predicted activity. Ranked by spend.
-#}

with

scores as (

    select * from {{ ref('person_scores') }}
    where frequency > 0

),

ranked as (

    select
        person_id,
        monetary,
        p_alive,
        percent_rank() over (order by monetary desc, person_id) as spend_rank

    from scores

),

final as (

    select
        person_id as entity_id,
        cast(monetary as double) as score

    from ranked
    where spend_rank < {{ var('segment_top_customers_share') }}
        and (p_alive is null or p_alive >= 0.5)

)

select * from final
