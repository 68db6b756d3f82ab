{#-
  High-intent fit accounts: accounts that match the ideal customer profile
  (fit_score at or above var segment_fit_min_score) AND whose people show
  strong recent buying intent (account intent_score at or above var
  segment_account_min_intent_score) with at least one engaged person.
  Layers: firmographic fit + intent + engagement. Ranked by intent x fit.
-#}

with

account_scores as (

    select * from {{ ref('account_scores') }}

),

final as (

    select
        account_id as entity_id,
        intent_score * fit_score / 100.0 as score

    from account_scores
    where fit_score >= {{ var('segment_fit_min_score') }}
        and intent_score >= {{ var('segment_account_min_intent_score') }}
        and engaged_people > 0

)

select * from final
