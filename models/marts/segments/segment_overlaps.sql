{#-
  Do the active segments really differ? One row per pair of active segments of
  the same entity type (segment_id before other_segment_id): who is in both
  (current members, segment_members), as a share of the smaller segment and as
  Jaccard, and how each converts (all matured entries of segment_lift, treated
  and holdout together) with the difference's 95% interval (Newcombe's hybrid
  Wilson method, as segment_lift; it treats the two segments as independent,
  which shared members make a little too wide or narrow). is_over_limit flags
  pairs sharing more than var segment_max_overlap_share of the smaller one;
  test assert_segment_overlap_within_limit warns about them.
-#}

with

members as (

    select * from {{ ref('segment_members') }}

),

segments as (

    select * from {{ ref('segments') }}
    where status = 'active'

),

lift as (

    select * from {{ ref('segment_lift') }}

),

sizes as (

    select
        segments.segment_id,
        segments.entity_type,
        count(members.entity_id) as members

    from segments
    left join members on segments.segment_id = members.segment_id
    group by 1, 2

),

pairs as (

    select
        one.segment_id,
        other.segment_id as other_segment_id,
        one.entity_type,
        one.members,
        other.members as other_members

    from sizes as one
    inner join sizes as other
        on one.entity_type = other.entity_type
        and one.segment_id < other.segment_id

),

shared as (

    select
        one.segment_id,
        other.segment_id as other_segment_id,
        count(*) as shared_members

    from members as one
    inner join members as other
        on one.entity_type = other.entity_type
        and one.entity_id = other.entity_id
        and one.segment_id < other.segment_id
    group by 1, 2

),

conversion as (

    select
        segment_id,
        treated_size + holdout_size as entries,
        case when treated_size + holdout_size > 0
            then 1.0 * (treated_conversions + holdout_conversions) / (treated_size + holdout_size)
        end as conversion_rate

    from lift

),

joined as (

    select
        pairs.segment_id,
        pairs.other_segment_id,
        pairs.entity_type,
        cast(pairs.members as bigint) as members,
        cast(pairs.other_members as bigint) as other_members,
        cast(coalesce(shared.shared_members, 0) as bigint) as shared_members,
        one.conversion_rate,
        other.conversion_rate as other_conversion_rate,
        cast(nullif(one.entries, 0) as double) as n,
        cast(nullif(other.entries, 0) as double) as other_n,
        coalesce(one.entries, 0) >= {{ var('lift_min_group_size') }}
            and coalesce(other.entries, 0) >= {{ var('lift_min_group_size') }} as has_enough_data

    from pairs
    left join shared
        on pairs.segment_id = shared.segment_id
        and pairs.other_segment_id = shared.other_segment_id
    left join conversion as one on pairs.segment_id = one.segment_id
    left join conversion as other on pairs.other_segment_id = other.segment_id

),

wilson as (

    select
        *,
        {{ customer_segments.wilson_bound('conversion_rate', 'n', '-') }} as low,
        {{ customer_segments.wilson_bound('conversion_rate', 'n', '+') }} as high,
        {{ customer_segments.wilson_bound('other_conversion_rate', 'other_n', '-') }} as other_low,
        {{ customer_segments.wilson_bound('other_conversion_rate', 'other_n', '+') }} as other_high

    from joined

),

final as (

    select
        segment_id,
        other_segment_id,
        entity_type,
        members,
        other_members,
        shared_members,
        case when members > 0 and other_members > 0
            then round(1.0 * shared_members / least(members, other_members), 4)
        end as overlap_share,
        case when members + other_members - shared_members > 0
            then round(1.0 * shared_members / (members + other_members - shared_members), 4)
        end as jaccard,
        coalesce(members > 0 and other_members > 0
            and 1.0 * shared_members / least(members, other_members) > {{ var('segment_max_overlap_share') }}, false) as is_over_limit,
        round(conversion_rate, 4) as conversion_rate,
        round(other_conversion_rate, 4) as other_conversion_rate,
        case when has_enough_data then round(conversion_rate - other_conversion_rate, 4) end as conversion_rate_difference,
        case when has_enough_data then round(
            conversion_rate - other_conversion_rate
            - sqrt((conversion_rate - low) * (conversion_rate - low) + (other_high - other_conversion_rate) * (other_high - other_conversion_rate)),
            4
        ) end as conversion_rate_difference_ci_low,
        case when has_enough_data then round(
            conversion_rate - other_conversion_rate
            + sqrt((high - conversion_rate) * (high - conversion_rate) + (other_conversion_rate - other_low) * (other_conversion_rate - other_low)),
            4
        ) end as conversion_rate_difference_ci_high

    from wilson

)

select * from final
