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
-#}


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
        max(case when goal_reached.reached_at is not null then 1 else 0 end) as has_converted

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
        case when groups.holdout_size > 0 then 1.0 * groups.holdout_conversions / groups.holdout_size end as holdout_conversion_rate

    from segments
    left join groups on segments.segment_id = groups.segment_id
    left join pending on segments.segment_id = pending.segment_id

),

-- Wilson score interval of each rate: centre +- half width
wilson as (

    select
        *,
        treated_size >= {{ var('lift_min_group_size') }} and holdout_size >= {{ var('lift_min_group_size') }} as has_enough_data,
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
        case when has_enough_data then 'measured' else 'not enough data' end as status

    from wilson

)

select * from final
