{#-
  High-intent people: people whose recent buying intent (person intent_score:
  pricing views, cart and checkout, demo and trial requests, recency-weighted)
  is at or above var segment_person_min_intent_score, whatever their account:
  no account, an unknown one or one outside the ideal profile. Complements
  high_intent_fit_accounts, which only sees intent inside fit accounts.
  Layers: intent + recency. Ranked by intent_score.
-#}

with

scores as (

    select * from {{ ref('person_scores') }}

),

final as (

    select
        person_id as entity_id,
        intent_score as score

    from scores
    where intent_score >= {{ var('segment_person_min_intent_score') }}

)

select * from final
