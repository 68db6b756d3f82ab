{#-
  RFM per person from completed orders (refunded and cancelled orders do not
  count). Each score is 1-5, 5 best (most recent, most frequent, highest
  spend), from the share of the other buyers whose value is strictly worse:
  under 20% -> 1, 20-40% -> 2, 40-60% -> 3, 60-80% -> 4, 80% or more -> 5
  (1 + floor(5 * percent_rank), whole-number arithmetic, capped at 5). Equal
  values have the same rank, so a tie never straddles a quintile boundary and
  equal customers get equal scores; a tie takes the score of its lowest
  position, so the lowest value always scores 1 and a value shared by more
  than a fifth of buyers skips scores. With one buyer, or when all buyers are
  equal on a measure, everyone scores 1 on it. The named segment comes from
  the rfm_segment_map seed, on the three scores.
-#}

with

orders as (

    select * from {{ ref('int_orders_attributed') }}
    where status = 'completed'
        and person_id is not null

),

build as (

    select * from {{ ref('int_build_context') }}

),

segment_map as (

    select * from {{ ref('rfm_segment_map') }}

),

per_person as (

    select
        orders.person_id,
        {{ dbt.datediff('max(orders.ordered_at)', 'max(build.as_of)', 'day') }} as recency_days,
        count(*) as frequency,
        sum(orders.amount) as monetary

    from orders
    cross join build
    where orders.ordered_at <= build.as_of
    group by 1

),

ranked as (

    -- rank = 1 + buyers with a strictly worse value (ties share it)
    select
        *,
        rank() over (order by recency_days desc) - 1 as worse_recency,
        rank() over (order by frequency) - 1 as worse_frequency,
        rank() over (order by monetary) - 1 as worse_monetary,
        count(*) over () - 1 as other_buyers

    from per_person

),

scored as (

    -- 1 + floor(5 x the share of the other buyers that are worse), at most 5; a lone buyer gets 1
    select
        *,
        case
            when other_buyers = 0 then 1
            else least(5, 1 + cast(floor(5.0 * worse_recency / other_buyers) as integer))
        end as r_score,
        case
            when other_buyers = 0 then 1
            else least(5, 1 + cast(floor(5.0 * worse_frequency / other_buyers) as integer))
        end as f_score,
        case
            when other_buyers = 0 then 1
            else least(5, 1 + cast(floor(5.0 * worse_monetary / other_buyers) as integer))
        end as m_score

    from ranked

),

final as (

    select
        scored.person_id,
        scored.recency_days,
        scored.frequency,
        scored.monetary,
        scored.r_score,
        scored.f_score,
        scored.m_score,
        segment_map.rfm_segment

    from scored
    left join segment_map
        on scored.r_score between segment_map.r_score_min and segment_map.r_score_max
        and scored.f_score between segment_map.f_score_min and segment_map.f_score_max
        and scored.m_score between segment_map.m_score_min and segment_map.m_score_max

)

select * from final
