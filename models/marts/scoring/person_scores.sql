{#-
  CONTRACT person_scores: one row per person. RFM and the recency-weighted
  scores are computed in SQL; p_alive and expected_purchases_90d are filled
  by the predicted-purchases model (BG/NBD) and are null until it lands.
-#}

with

people as (

    select person_id from {{ ref('people') }}

),

rfm as (

    select * from {{ ref('int_person_rfm') }}

),

engagement as (

    select * from {{ ref('int_person_engagement') }}

),

build as (

    select * from {{ ref('int_build_context') }}

),

final as (

    select
        people.person_id,
        build.as_of,
        rfm.recency_days,
        coalesce(rfm.frequency, 0) as frequency,
        coalesce(rfm.monetary, 0) as monetary,
        rfm.r_score,
        rfm.f_score,
        rfm.m_score,
        coalesce(rfm.rfm_segment, 'No purchases') as rfm_segment,
        coalesce(engagement.engagement_score, 0) as engagement_score,
        coalesce(engagement.intent_score, 0) as intent_score,
        cast(null as double) as p_alive,
        cast(null as double) as expected_purchases_90d

    from people
    cross join build
    left join rfm on people.person_id = rfm.person_id
    left join engagement on people.person_id = engagement.person_id

)

select * from final
