{#-
  RFM per person from completed orders (refunded and cancelled orders do not
  count). Scores 1-5 by quintile (ntile over a total order, ties broken by
  person_id so the result is deterministic); 5 is best: most recent, most
  frequent, highest spend. The named segment comes from the rfm_segment_map
  seed, on R and the rounded mean of F and M.
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

scored as (

    select
        *,
        ntile(5) over (order by recency_days desc, person_id) as r_score,
        ntile(5) over (order by frequency, person_id) as f_score,
        ntile(5) over (order by monetary, person_id) as m_score

    from per_person

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
        and cast(round((scored.f_score + scored.m_score) / 2.0, 0) as integer)
            between segment_map.fm_score_min and segment_map.fm_score_max

)

select * from final
