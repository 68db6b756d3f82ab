{#- Champions: bought recently, often and for a lot (RFM segment Champions). Ranked by spend. -#}

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

)

select * from final
