{#-
  Recency-weighted engagement and intent per person, from daily activity
  (int_activity_daily, built incrementally; no rescan of raw history):
  score = sum(events * weight * 2 ^ (-age_days / half_life_days)) over the days
  up to as_of, age_days = whole days from the activity's day to as_of's day,
  weight and half-life per canonical event from the event_taxonomy seed.
  Intent sums only the events the seed marks is_intent. Email opens and clicks
  count (Email_Opened, Email_Clicked); other email events do not.
  The channel mix counts the same retained days' events (not decayed) by the
  seed's category: 'product' is product, 'email' is email, 'identity' is
  nothing, every other category is web.
  A day's activity belongs to the person of its user id, else of its anonymous
  id, else of its email (the same rule as int_events_attributed).
-#}
{{ customer_segments.after_quality_gate() }}

with

activity as (

    select * from {{ ref('int_activity_daily') }}

),

identifiers as (

    select * from {{ ref('int_identity_person_ids') }}

),

taxonomy as (

    select * from {{ ref('event_taxonomy') }}

),

build as (

    select * from {{ ref('int_build_context') }}

),

attributed as (

    select
        coalesce(by_user.person_id, by_anonymous.person_id, by_email.person_id) as person_id,
        activity.canonical_event,
        activity.activity_date,
        activity.events

    from activity
    left join identifiers as by_user
        on by_user.identifier_type = 'user_id'
        and activity.user_id = by_user.identifier_value
    left join identifiers as by_anonymous
        on by_anonymous.identifier_type = 'anonymous_id'
        and activity.anonymous_id = by_anonymous.identifier_value
    left join identifiers as by_email
        on by_email.identifier_type = 'email'
        and activity.email = by_email.identifier_value

),

decayed as (

    select
        attributed.person_id,
        taxonomy.is_intent,
        taxonomy.category,
        attributed.events,
        attributed.events * taxonomy.weight * power(
            2.0,
            -1.0 * {{ dbt.datediff('attributed.activity_date', 'cast(build.as_of as date)', 'day') }} / taxonomy.half_life_days
        ) as decayed_weight

    from attributed
    inner join taxonomy
        on attributed.canonical_event = taxonomy.canonical_event
    cross join build
    where attributed.person_id is not null
        and attributed.activity_date <= cast(build.as_of as date)
        -- retention: days older than var retention_days before as_of are not used
        and attributed.activity_date >= cast({{ customer_segments.retention_cutoff() }} as date)

),

final as (

    select
        person_id,
        -- exact_sum: the same scores whatever order the rows are added in (rebuilds change nothing)
        {{ customer_segments.exact_sum('decayed_weight') }} as engagement_score,
        {{ customer_segments.exact_sum('case when is_intent then decayed_weight else 0 end') }} as intent_score,
        -- the channel mix: raw counts (not decayed) of the retained activity up to as_of
        sum(case when category not in ('product', 'email', 'identity') then events else 0 end) as web_events,
        sum(case when category = 'email' then events else 0 end) as email_events,
        sum(case when category = 'product' then events else 0 end) as product_events

    from decayed
    group by 1

)

select * from final
