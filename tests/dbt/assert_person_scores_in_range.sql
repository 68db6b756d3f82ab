{#- Scores stay in their ranges: probabilities in [0, 1], expectations and decayed scores not negative, fit 0-100. -#}
select person_id as entity_id, 'person_scores' as model
from {{ ref('person_scores') }}
where p_alive < 0 or p_alive > 1
    or expected_purchases_90d < 0
    or expected_spend_90d < 0
    or engagement_score < 0
    or intent_score < 0
    or intent_score > engagement_score + 1e-9

union all

select account_id, 'accounts'
from {{ ref('accounts') }}
where fit_score < 0 or fit_score > 100 or fit_score is null
