{#-
  Dormant fit accounts (draft): accounts that match the ideal customer profile
  (fit_score at or above var segment_fit_min_score) and had people, but none of
  them has been seen in the last var segment_dormant_days days: win-back
  targets. Layers: firmographic fit + past relationship + silence.
  Ranked by fit.
-#}

with

account_scores as (

    select * from {{ ref('account_scores') }}

),

people as (

    select * from {{ ref('people') }}
    where account_id is not null

),

build as (

    select * from {{ ref('int_build_context') }}

),

last_seen as (

    select
        account_id,
        max(last_seen_at) as last_seen_at

    from people
    group by 1

),

final as (

    select
        account_scores.account_id as entity_id,
        cast(account_scores.fit_score as double) as score

    from account_scores
    inner join last_seen on account_scores.account_id = last_seen.account_id
    cross join build
    where account_scores.fit_score >= {{ var('segment_fit_min_score') }}
        and last_seen.last_seen_at < {{ dbt.dateadd('day', -1 * var('segment_dormant_days'), 'build.as_of') }}

)

select * from final
