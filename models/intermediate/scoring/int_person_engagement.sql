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

decayed as (

    select
        activity.user_id,
        activity.anonymous_id,
        activity.email,
        taxonomy.is_intent,
        taxonomy.category,
        activity.events,
        -- the decayed weight of one event times the events, exact (a day's events counted in two batches
        -- of int_activity_daily give the same score as counted in one row)
        {{ customer_segments.exact_count_times(
            'activity.events',
            'taxonomy.weight * power(2.0, -1.0 * '
                ~ dbt.datediff('activity.activity_date', 'cast(build.as_of as date)', 'day')
                ~ ' / taxonomy.half_life_days)'
        ) }} as decayed_weight

    from activity
    inner join taxonomy
        on activity.canonical_event = taxonomy.canonical_event
    cross join build
    where activity.activity_date <= cast(build.as_of as date)
        -- retention: days older than var retention_days before as_of are not used
        and activity.activity_date >= cast({{ customer_segments.retention_cutoff() }} as date)

),

callers as (

    -- summed per caller first (about one caller per ten daily rows at 10M events), so the person is
    -- looked up once per caller, not once per day and event; the scores stay exact sums of the same
    -- rounded terms (exact_partial_sum), so a person's score does not depend on how they were grouped
    select
        user_id,
        anonymous_id,
        email,
        {{ customer_segments.exact_partial_sum('decayed_weight') }} as engagement_score,
        {{ customer_segments.exact_partial_sum('case when is_intent then decayed_weight else 0 end') }} as intent_score,
        -- the channel mix: raw counts (not decayed) of the retained activity up to as_of
        sum(case when category not in ('product', 'email', 'identity') then events else 0 end) as web_events,
        sum(case when category = 'email' then events else 0 end) as email_events,
        sum(case when category = 'product' then events else 0 end) as product_events

    from decayed
    group by user_id, anonymous_id, email

),

attributed as (

    select
        coalesce(by_user.person_id, by_anonymous.person_id, by_email.person_id) as person_id,
        callers.*

    from callers
    {{ customer_segments.join_caller_person('identifiers') }}
    left join identifiers as by_email
        on by_email.identifier_type = 'email'
        and callers.email = by_email.identifier_value

),

final as (

    select
        person_id,
        -- exact sums: the same scores whatever order the rows are added in (rebuilds change nothing)
        {{ customer_segments.exact_total('engagement_score') }} as engagement_score,
        {{ customer_segments.exact_total('intent_score') }} as intent_score,
        sum(web_events) as web_events,
        sum(email_events) as email_events,
        sum(product_events) as product_events

    from attributed
    where person_id is not null
    group by 1

)

select * from final
