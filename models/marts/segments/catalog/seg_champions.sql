{#-
  Champions: bought recently, often and for a lot (RFM segment 'Champions')
  and still engaged with the product (engagement_score at or above var
  engaged_person_min_score). Layers: value + recency + engagement.
  Ranked by spend.
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
    where rfm_segment = 'Champions'
        and engagement_score >= {{ var('engaged_person_min_score') }}

)

select * from final
