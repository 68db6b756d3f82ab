{#-
  Recency-weighted engagement and intent per person:
  score = sum(weight * 2 ^ (-age_days / half_life_days)) over events up to as_of,
  with weight and half-life per canonical event from the event_taxonomy seed.
  Intent sums only the events the seed marks is_intent. Email opens and clicks
  count (Email_Opened, Email_Clicked); other email events do not.
-#}
{{ customer_segments.after_quality_gate() }}

with

events as (

    select person_id, canonical_event, event_at
    from {{ ref('int_events_attributed') }}
    where person_id is not null

),

email_events as (

    select * from {{ ref('int_email_events_deduplicated') }}

),

identifiers as (

    select * from {{ ref('int_identity_person_ids') }}
    where identifier_type = 'email'

),

taxonomy as (

    select * from {{ ref('event_taxonomy') }}

),

build as (

    select * from {{ ref('int_build_context') }}

),

email_activity as (

    select
        identifiers.person_id,
        case email_events.event_type when 'open' then 'Email_Opened' else 'Email_Clicked' end as canonical_event,
        email_events.occurred_at as event_at

    from email_events
    inner join identifiers
        on email_events.email = identifiers.identifier_value
    where email_events.event_type in ('open', 'click')

),

activity as (

    select * from events
    union all
    select * from email_activity

),

decayed as (

    select
        activity.person_id,
        taxonomy.is_intent,
        taxonomy.weight * power(
            2.0,
            -1.0 * {{ dbt.datediff('activity.event_at', 'build.as_of', 'second') }} / (86400.0 * taxonomy.half_life_days)
        ) as decayed_weight

    from activity
    inner join taxonomy
        on activity.canonical_event = taxonomy.canonical_event
    cross join build
    where activity.event_at <= build.as_of

),

final as (

    select
        person_id,
        sum(decayed_weight) as engagement_score,
        sum(case when is_intent then decayed_weight else 0 end) as intent_score

    from decayed
    group by 1

)

select * from final
