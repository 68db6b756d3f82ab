{#-
  Scores stay in their ranges: probabilities in [0, 1], expectations and decayed scores not
  negative, fit 0-100. Predicted purchases are purchase days, so at most one a day: no more than
  var predictions_horizon_days in the horizon; expected spend at most those purchases at 10x the
  largest total spend of any buyer (customer_segments.scoring.bgnbd.MAX_SPEND_RATIO). NaN compares
  above every number on DuckDB and Spark, so the upper bounds also catch it.
-#}
with

scores as (

    select * from {{ ref('person_scores') }}

),

largest as (

    select max(monetary) as monetary from scores

)

select scores.person_id as entity_id, 'person_scores' as model
from scores
cross join largest
where scores.p_alive < 0 or scores.p_alive > 1
    or scores.expected_purchases_90d < 0
    or scores.expected_purchases_90d > {{ var('predictions_horizon_days') }}
    or scores.expected_spend_90d < 0
    or scores.expected_spend_90d > {{ var('predictions_horizon_days') }} * 10 * largest.monetary
    or scores.engagement_score < 0
    or scores.intent_score < 0
    or scores.intent_score > scores.engagement_score + 1e-9

union all

select account_id, 'accounts'
from {{ ref('accounts') }}
where fit_score < 0 or fit_score > 100 or fit_score is null
