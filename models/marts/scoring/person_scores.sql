{#-
  CONTRACT person_scores: one row per person. RFM, the recency-weighted scores
  and the milestones are computed in SQL; p_alive, expected_purchases_90d and
  expected_spend_90d come from the predicted-purchases Python model
  (person_predictions, BG/NBD + Gamma-Gamma) on every engine, and are null for
  people without purchases and when the fit is withheld (fit_status says why).
-#}

with

people as (

    select
        person_id,
        case when consent_analytics = false then 'analytics_refused' end as not_profiled_reason

    from {{ ref('people') }}

),

rfm as (

    select * from {{ ref('int_person_rfm') }}

),

engagement as (

    select * from {{ ref('int_person_engagement') }}

),

milestones as (

    select * from {{ ref('int_person_milestones') }}

),

predictions as (

    select person_id, p_alive, expected_purchases, expected_spend, fit_status from {{ ref('person_predictions') }}

),

build as (

    select * from {{ ref('int_build_context') }}

),

scored as (

    select
        people.person_id,
        people.not_profiled_reason,
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
        predictions.p_alive,
        predictions.expected_purchases as expected_purchases_90d,
        predictions.expected_spend as expected_spend_90d,
        predictions.fit_status,
        coalesce(milestones.is_activated, false) as is_activated,
        milestones.first_activation_at

    from people
    cross join build
    left join rfm on people.person_id = rfm.person_id
    left join engagement on people.person_id = engagement.person_id
    left join milestones on people.person_id = milestones.person_id
    left join predictions on people.person_id = predictions.person_id

),

final as (

    -- not profiled: every behavioural column null
    select
        person_id,
        as_of,
{%- for column in [
    'recency_days', 'frequency', 'monetary', 'r_score', 'f_score', 'm_score', 'rfm_segment',
    'engagement_score', 'intent_score', 'p_alive', 'expected_purchases_90d', 'expected_spend_90d',
    'fit_status', 'is_activated', 'first_activation_at',
] %}
        case when not_profiled_reason is null then {{ column }} end as {{ column }},
{%- endfor %}
        not_profiled_reason

    from scored

)

select * from final
