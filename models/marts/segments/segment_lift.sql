{#-
  CONTRACT segment_lift: per segment, conversion (a completed order within
  var lift_window_days after entering) of treated vs holdout members, the
  absolute lift with a 95% normal-approximation interval, and the sample sizes.
  When either group has fewer than var lift_min_group_size members the status
  is 'not enough data' and lift is null.
-#}

with

members as (

    select * from {{ ref('segment_members') }}
    where entity_type = 'person'

),

orders as (

    select * from {{ ref('int_orders_attributed') }}
    where status = 'completed'

),

segments as (

    select segment_id from {{ ref('segments') }}

),

converted as (

    select
        members.segment_id,
        members.entity_id,
        members.is_holdout,
        max(case
            when orders.ordered_at > members.entered_at
                and orders.ordered_at <= {{ dbt.dateadd('day', var('lift_window_days'), 'members.entered_at') }}
                then 1 else 0
        end) as has_converted

    from members
    left join orders on members.entity_id = orders.person_id
    group by 1, 2, 3

),

groups as (

    select
        segment_id,
        sum(case when not is_holdout then 1 else 0 end) as treated_size,
        sum(case when is_holdout then 1 else 0 end) as holdout_size,
        sum(case when not is_holdout then has_converted else 0 end) as treated_conversions,
        sum(case when is_holdout then has_converted else 0 end) as holdout_conversions

    from converted
    group by 1

),

rates as (

    select
        segments.segment_id,
        coalesce(groups.treated_size, 0) as treated_size,
        coalesce(groups.holdout_size, 0) as holdout_size,
        coalesce(groups.treated_conversions, 0) as treated_conversions,
        coalesce(groups.holdout_conversions, 0) as holdout_conversions,
        case when groups.treated_size > 0 then 1.0 * groups.treated_conversions / groups.treated_size end as treated_conversion_rate,
        case when groups.holdout_size > 0 then 1.0 * groups.holdout_conversions / groups.holdout_size end as holdout_conversion_rate

    from segments
    left join groups on segments.segment_id = groups.segment_id

),

final as (

    select
        segment_id,
        treated_size,
        holdout_size,
        treated_conversions,
        holdout_conversions,
        treated_conversion_rate,
        holdout_conversion_rate,
        case when enough then treated_conversion_rate - holdout_conversion_rate end as lift,
        case when enough then treated_conversion_rate - holdout_conversion_rate - 1.96 * standard_error end as lift_ci_low,
        case when enough then treated_conversion_rate - holdout_conversion_rate + 1.96 * standard_error end as lift_ci_high,
        case when enough then 'measured' else 'not enough data' end as status

    from (
        select
            *,
            treated_size >= {{ var('lift_min_group_size') }} and holdout_size >= {{ var('lift_min_group_size') }} as enough,
            sqrt(
                case when treated_size > 0 then treated_conversion_rate * (1 - treated_conversion_rate) / treated_size else 0 end
                + case when holdout_size > 0 then holdout_conversion_rate * (1 - holdout_conversion_rate) / holdout_size else 0 end
            ) as standard_error
        from rates
    ) as sized

)

select * from final
