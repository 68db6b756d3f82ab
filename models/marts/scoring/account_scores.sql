{#- CONTRACT account_scores: one row per account, its people's engagement and intent rolled up. -#}

with

accounts as (

    select * from {{ ref('accounts') }}

),

people as (

    select * from {{ ref('people') }}

),

person_scores as (

    select * from {{ ref('person_scores') }}

),

build as (

    select * from {{ ref('int_build_context') }}

),

rolled_up as (

    select
        people.account_id,
        sum(person_scores.intent_score) as intent_score,
        sum(person_scores.engagement_score) as engagement_score,
        sum(case when person_scores.engagement_score >= {{ var('engaged_person_min_score') }} then 1 else 0 end) as engaged_people

    from people
    inner join person_scores on people.person_id = person_scores.person_id
    where people.account_id is not null
    group by 1

),

final as (

    select
        accounts.account_id,
        build.as_of,
        accounts.fit_score,
        coalesce(rolled_up.intent_score, 0) as intent_score,
        coalesce(rolled_up.engaged_people, 0) as engaged_people,
        coalesce(rolled_up.engagement_score, 0) as engagement_score

    from accounts
    cross join build
    left join rolled_up on accounts.account_id = rolled_up.account_id

)

select * from final
