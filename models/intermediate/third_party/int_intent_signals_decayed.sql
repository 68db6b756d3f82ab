{#-
  Third-party intent per account domain at the build's as_of. Each usable
  signal (stg_third_party__intent_signals) observed up to as_of counts its
  score (0-100) decayed by its age:
      score * 2 ^ (-age_days / var third_party_intent_half_life_days)
  (age in whole days, as the first-party scores count it). A topic's intent is
  its strongest decayed signal, the domain's intent its strongest topic's: a
  vendor scores each topic on its own scale, so scores are not added up.
  Ties go to the alphabetically first topic.
-#}

with

signals as (

    select * from {{ ref('stg_third_party__intent_signals') }}
    where quarantine_reason is null and duplicate_reason is null

),

build as (

    select * from {{ ref('int_build_context') }}

),

decayed as (

    select
        signals.account_domain,
        lower(signals.topic) as topic,
        signals.observed_at,
        signals.score * power(
            0.5,
            1.0 * {{ dbt.datediff('cast(signals.observed_at as date)', 'cast(build.as_of as date)', 'day') }}
                / {{ var('third_party_intent_half_life_days') }}
        ) as decayed_score

    from signals
    cross join build
    where signals.observed_at <= build.as_of

),

topics as (

    select
        account_domain,
        topic,
        max(decayed_score) as topic_score

    from decayed
    group by 1, 2

),

ranked_topics as (

    select
        account_domain,
        topic,
        topic_score,
        row_number() over (partition by account_domain order by topic_score desc, topic) as topic_rank

    from topics

),

domains as (

    select
        account_domain,
        count(distinct topic) as topics,
        max(observed_at) as last_observed_at

    from decayed
    group by 1

),

final as (

    select
        domains.account_domain,
        ranked_topics.topic_score as intent_score,
        ranked_topics.topic as top_topic,
        domains.topics,
        domains.last_observed_at

    from domains
    inner join ranked_topics
        on domains.account_domain = ranked_topics.account_domain
        and ranked_topics.topic_rank = 1

)

select * from final
