{#-
  Product-qualified leads (draft): people who reached the activation milestone
  and use the product (engagement_score at or above var
  segment_pql_min_engagement_score) but have never completed an order, at an
  account that fits (fit_score at or above var segment_fit_min_score) or with
  no known account. Layers: product usage + not a customer + fit.
  Ranked by engagement.
-#}

with

scores as (

    select * from {{ ref('person_scores') }}

),

people as (

    select * from {{ ref('people') }}

),

accounts as (

    select * from {{ ref('accounts') }}

),

final as (

    select
        scores.person_id as entity_id,
        scores.engagement_score as score

    from scores
    inner join people on scores.person_id = people.person_id
    left join accounts on people.account_id = accounts.account_id
    where scores.is_activated
        and scores.frequency = 0
        and scores.engagement_score >= {{ var('segment_pql_min_engagement_score') }}
        and (accounts.account_id is null or accounts.fit_score >= {{ var('segment_fit_min_score') }})

)

select * from final
