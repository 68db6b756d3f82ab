{#-
  CONTRACT segment_lift: one row per segment of the catalog (not the suggested ones). Did membership
  change behaviour? Intent to treat: every entry into the segment
  (segment_member_changes) whose window of var lift_window_days has ended by
  as_of counts, whether or not the entity is still a member, in the group its
  holdout flag put it in. Converted = the segment's goal (meta.segment.goal: a
  completed order, or an event of the taxonomy) happened after entering and
  within the window; an account converts when any of its people does.

  Lift = treated rate - holdout rate, with a 95% interval by Newcombe's hybrid
  Wilson score method (Newcombe 1998, method 10), which stays honest for small
  rates and small groups where the plain normal interval does not. When either
  group has fewer than var lift_min_group_size matured entries, status is
  'not enough data' and lift and interval are null. Rates, lift and bounds are
  rounded to 4 decimals (0.01 percentage point).

  Money and time, each treated minus holdout with a 95% interval:
  - revenue per member: completed-order amount (summed as recorded, like
    monetary) within the window after entering, per matured entry (0 when
    none); Welch's normal interval on the two means; needs enough data as lift;
  - average order value: mean amount of those orders, per group; Welch's
    interval over the orders; needs var lift_min_converters orders per group;
  - days to convert: from entering to reaching the goal, among the entries
    that converted; the difference of the two medians, with the
    distribution-free standard error of each median from its order statistics
    (McKean and Schrader 1984; Price and Bonett 2002): se = (y(n-c+1) - y(c)) /
    (2 z), c = round((n + 1) / 2 - z sqrt(n) / 2); needs var
    lift_min_converters converters per group. Negative: the treated converted
    sooner.
-#}

{%- set z = 1.959963984540054 %}

with

changes as (

    select * from {{ ref('segment_member_changes') }}

),

orders as (

    select * from {{ ref('int_orders_attributed') }}
    where status = 'completed' and person_id is not null

),

events as (

    select * from {{ ref('int_events_attributed') }}
    where person_id is not null

),

people as (

    select * from {{ ref('people') }}

),

build as (

    select * from {{ ref('int_build_context') }}

),

segments as (

    select * from {{ ref('segments') }}
    where status <> 'suggested'

),

entries as (

    select
        changes.segment_id,
        changes.entity_id,
        changes.is_holdout,
        changes.changed_at as entered_at,
        {{ dbt.dateadd('day', var('lift_window_days'), 'changes.changed_at') }} <= build.as_of as has_matured

    from changes
    cross join build
    where changes.change = 'entered'

),

-- every time a person reached a goal some segment measures
person_goals as (

    select
        orders.person_id,
        'order' as goal,
        orders.ordered_at as reached_at

    from orders

    union all

    select
        events.person_id,
        events.canonical_event as goal,
        events.event_at as reached_at

    from events
    inner join (select distinct goal from segments) as goals on events.canonical_event = goals.goal

),

goal_reached as (

    select
        segments.segment_id,
        person_goals.person_id as entity_id,
        person_goals.reached_at

    from person_goals
    inner join segments on person_goals.goal = segments.goal
    where segments.entity_type = 'person'

    union all

    select
        segments.segment_id,
        people.account_id as entity_id,
        person_goals.reached_at

    from person_goals
    inner join people on person_goals.person_id = people.person_id
    inner join segments on person_goals.goal = segments.goal
    where segments.entity_type = 'account'
        and people.account_id is not null

),

converted as (

    select
        entries.segment_id,
        entries.entity_id,
        entries.entered_at,
        entries.is_holdout,
        max(case when goal_reached.reached_at is not null then 1 else 0 end) as has_converted,
        min(goal_reached.reached_at) as converted_at

    from entries
    left join goal_reached
        on entries.segment_id = goal_reached.segment_id
        and entries.entity_id = goal_reached.entity_id
        and goal_reached.reached_at > entries.entered_at
        and goal_reached.reached_at <= {{ dbt.dateadd('day', var('lift_window_days'), 'entries.entered_at') }}
    where entries.has_matured
    group by 1, 2, 3, 4

),

pending as (

    select
        segment_id,
        count(*) as pending_entries

    from entries
    where not has_matured
    group by 1

),

-- completed orders of each entity: a person's own, an account's through its people
order_owners as (

    select
        'person' as entity_type,
        orders.person_id as entity_id,
        orders.order_id,
        cast(orders.amount as double) as amount,
        orders.ordered_at

    from orders

    union all

    select
        'account' as entity_type,
        people.account_id as entity_id,
        orders.order_id,
        cast(orders.amount as double) as amount,
        orders.ordered_at

    from orders
    inner join people on orders.person_id = people.person_id
    where people.account_id is not null

),

window_orders as (

    select
        converted.segment_id,
        converted.entity_id,
        converted.entered_at,
        converted.is_holdout,
        order_owners.order_id,
        order_owners.amount

    from converted
    inner join segments on converted.segment_id = segments.segment_id
    inner join order_owners
        on segments.entity_type = order_owners.entity_type
        and converted.entity_id = order_owners.entity_id
        and order_owners.ordered_at > converted.entered_at
        and order_owners.ordered_at <= {{ dbt.dateadd('day', var('lift_window_days'), 'converted.entered_at') }}

),

entry_revenue as (

    select
        converted.segment_id,
        converted.is_holdout,
        coalesce(sum(window_orders.amount), 0) as revenue

    from converted
    left join window_orders
        on converted.segment_id = window_orders.segment_id
        and converted.entity_id = window_orders.entity_id
        and converted.entered_at = window_orders.entered_at
    group by converted.segment_id, converted.entity_id, converted.entered_at, converted.is_holdout

),

revenue_groups as (

    select
        segment_id,
        avg(case when not is_holdout then revenue end) as treated_revenue_per_member,
        avg(case when is_holdout then revenue end) as holdout_revenue_per_member,
        var_samp(case when not is_holdout then revenue end) as treated_revenue_variance,
        var_samp(case when is_holdout then revenue end) as holdout_revenue_variance

    from entry_revenue
    group by 1

),

order_groups as (

    select
        segment_id,
        cast(sum(case when not is_holdout then 1 else 0 end) as bigint) as treated_orders,
        cast(sum(case when is_holdout then 1 else 0 end) as bigint) as holdout_orders,
        avg(case when not is_holdout then amount end) as treated_average_order_value,
        avg(case when is_holdout then amount end) as holdout_average_order_value,
        var_samp(case when not is_holdout then amount end) as treated_order_value_variance,
        var_samp(case when is_holdout then amount end) as holdout_order_value_variance

    from window_orders
    group by 1

),

-- days from entering to the goal of each converted entry, ranked within its group
conversion_days as (

    select
        segment_id,
        is_holdout,
        days,
        row_number() over (partition by segment_id, is_holdout order by days) as position,
        count(*) over (partition by segment_id, is_holdout) as converters

    from (
        select
            segment_id,
            is_holdout,
            {{ dbt.datediff('entered_at', 'converted_at', 'second') }} / 86400.0 as days
        from converted
        where has_converted = 1
    ) as conversions

),

-- per group: the median and the positions c and n - c + 1 of the order statistics that bound it
median_positions as (

    select
        *,
        greatest(1, cast(round((converters + 1) / 2.0 - {{ z }} * sqrt(converters) / 2.0) as bigint)) as low_position

    from conversion_days

),

medians as (

    select
        segment_id,
        is_holdout,
        max(converters) as converters,
        avg(case when position in (floor((converters + 1) / 2.0), ceil((converters + 1) / 2.0)) then days end) as median_days,
        (max(case when position = converters - low_position + 1 then days end)
            - max(case when position = low_position then days end)) / (2 * {{ z }}) as median_days_se

    from median_positions
    group by 1, 2

),

time_groups as (

    select
        segment_id,
        max(case when not is_holdout then converters end) as treated_converters,
        max(case when is_holdout then converters end) as holdout_converters,
        max(case when not is_holdout then median_days end) as treated_median_days_to_convert,
        max(case when is_holdout then median_days end) as holdout_median_days_to_convert,
        max(case when not is_holdout then median_days_se end) as treated_median_days_se,
        max(case when is_holdout then median_days_se end) as holdout_median_days_se

    from medians
    group by 1

),

groups as (

    select
        segment_id,
        cast(sum(case when not is_holdout then 1 else 0 end) as bigint) as treated_size,
        cast(sum(case when is_holdout then 1 else 0 end) as bigint) as holdout_size,
        cast(sum(case when not is_holdout then has_converted else 0 end) as bigint) as treated_conversions,
        cast(sum(case when is_holdout then has_converted else 0 end) as bigint) as holdout_conversions

    from converted
    group by 1

),

rates as (

    select
        segments.segment_id,
        segments.goal,
        coalesce(groups.treated_size, 0) as treated_size,
        coalesce(groups.holdout_size, 0) as holdout_size,
        coalesce(groups.treated_conversions, 0) as treated_conversions,
        coalesce(groups.holdout_conversions, 0) as holdout_conversions,
        coalesce(pending.pending_entries, 0) as pending_entries,
        case when groups.treated_size > 0 then 1.0 * groups.treated_conversions / groups.treated_size end as treated_conversion_rate,
        case when groups.holdout_size > 0 then 1.0 * groups.holdout_conversions / groups.holdout_size end as holdout_conversion_rate,
        revenue_groups.treated_revenue_per_member,
        revenue_groups.holdout_revenue_per_member,
        revenue_groups.treated_revenue_variance,
        revenue_groups.holdout_revenue_variance,
        coalesce(order_groups.treated_orders, 0) as treated_orders,
        coalesce(order_groups.holdout_orders, 0) as holdout_orders,
        order_groups.treated_average_order_value,
        order_groups.holdout_average_order_value,
        order_groups.treated_order_value_variance,
        order_groups.holdout_order_value_variance,
        coalesce(time_groups.treated_converters, 0) as treated_converters,
        coalesce(time_groups.holdout_converters, 0) as holdout_converters,
        time_groups.treated_median_days_to_convert,
        time_groups.holdout_median_days_to_convert,
        time_groups.treated_median_days_se,
        time_groups.holdout_median_days_se

    from segments
    left join groups on segments.segment_id = groups.segment_id
    left join pending on segments.segment_id = pending.segment_id
    left join revenue_groups on segments.segment_id = revenue_groups.segment_id
    left join order_groups on segments.segment_id = order_groups.segment_id
    left join time_groups on segments.segment_id = time_groups.segment_id

),

-- Wilson score interval of each rate: centre +- half width
wilson as (

    select
        *,
        treated_size >= {{ var('lift_min_group_size') }} and holdout_size >= {{ var('lift_min_group_size') }} as has_enough_data,
        treated_orders >= {{ var('lift_min_converters') }} and holdout_orders >= {{ var('lift_min_converters') }} as has_enough_orders,
        treated_converters >= {{ var('lift_min_converters') }} and holdout_converters >= {{ var('lift_min_converters') }} as has_enough_converters,
        {{ customer_segments.wilson_bound('treated_conversion_rate', 'treated_n', '-') }} as treated_low,
        {{ customer_segments.wilson_bound('treated_conversion_rate', 'treated_n', '+') }} as treated_high,
        {{ customer_segments.wilson_bound('holdout_conversion_rate', 'holdout_n', '-') }} as holdout_low,
        {{ customer_segments.wilson_bound('holdout_conversion_rate', 'holdout_n', '+') }} as holdout_high

    from (
        select
            *,
            cast(nullif(treated_size, 0) as double) as treated_n,
            cast(nullif(holdout_size, 0) as double) as holdout_n
        from rates
    ) as sized

),

final as (

    select
        segment_id,
        goal,
        {{ var('lift_window_days') }} as window_days,
        treated_size,
        holdout_size,
        treated_conversions,
        holdout_conversions,
        pending_entries,
        round(treated_conversion_rate, 4) as treated_conversion_rate,
        round(holdout_conversion_rate, 4) as holdout_conversion_rate,
        case when has_enough_data then round(treated_conversion_rate - holdout_conversion_rate, 4) end as lift,
        case when has_enough_data then round(
            treated_conversion_rate - holdout_conversion_rate
            - sqrt((treated_conversion_rate - treated_low) * (treated_conversion_rate - treated_low)
                + (holdout_high - holdout_conversion_rate) * (holdout_high - holdout_conversion_rate)),
            4
        ) end as lift_ci_low,
        case when has_enough_data then round(
            treated_conversion_rate - holdout_conversion_rate
            + sqrt((treated_high - treated_conversion_rate) * (treated_high - treated_conversion_rate)
                + (holdout_conversion_rate - holdout_low) * (holdout_conversion_rate - holdout_low)),
            4
        ) end as lift_ci_high,
        case when has_enough_data then 'measured' else 'not enough data' end as status,
        round(treated_revenue_per_member, 4) as treated_revenue_per_member,
        round(holdout_revenue_per_member, 4) as holdout_revenue_per_member,
{%- for bound, sign in [('', none), ('_ci_low', '-'), ('_ci_high', '+')] %}
        case when has_enough_data then round(
            treated_revenue_per_member - holdout_revenue_per_member
            {%- if sign %} {{ sign }} {{ z }} * sqrt(coalesce(treated_revenue_variance, 0) / treated_size + coalesce(holdout_revenue_variance, 0) / holdout_size){% endif %},
            4
        ) end as revenue_lift{{ bound }},
{%- endfor %}
        treated_orders,
        holdout_orders,
        round(treated_average_order_value, 4) as treated_average_order_value,
        round(holdout_average_order_value, 4) as holdout_average_order_value,
{%- for bound, sign in [('', none), ('_ci_low', '-'), ('_ci_high', '+')] %}
        case when has_enough_orders then round(
            treated_average_order_value - holdout_average_order_value
            {%- if sign %} {{ sign }} {{ z }} * sqrt(treated_order_value_variance / treated_orders + holdout_order_value_variance / holdout_orders){% endif %},
            4
        ) end as order_value_lift{{ bound }},
{%- endfor %}
        treated_converters,
        holdout_converters,
        round(treated_median_days_to_convert, 4) as treated_median_days_to_convert,
        round(holdout_median_days_to_convert, 4) as holdout_median_days_to_convert,
{%- for bound, sign in [('', none), ('_ci_low', '-'), ('_ci_high', '+')] %}
        case when has_enough_converters then round(
            treated_median_days_to_convert - holdout_median_days_to_convert
            {%- if sign %} {{ sign }} {{ z }} * sqrt(treated_median_days_se * treated_median_days_se + holdout_median_days_se * holdout_median_days_se){% endif %},
            4
        ) end as days_to_convert_lift{{ bound }}{% if not loop.last %},{% endif %}
{%- endfor %}

    from wilson

)

select * from final
