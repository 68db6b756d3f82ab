{#- High-intent visitors: recent strong buying signals (intent_score at or above var segment_high_intent_min_score). Ranked by intent. -#}

with

scores as (

    select * from {{ ref('person_scores') }}

),

final as (

    select
        person_id as entity_id,
        intent_score as score

    from scores
    where intent_score >= {{ var('segment_high_intent_min_score') }}

)

select * from final
