{#-
  Pricing visitors without a demo request: people who viewed pricing at least
  var segment_pricing_min_views times in the last var segment_recent_days
  days, never requested a demo, never completed an order and are not activated
  product users (those are product_qualified_leads, served in the product: on
  the demo 76% of them were pricing visitors too, segment_overlaps).
  Layers: intent (pricing views) + the missing next step + not yet a customer.
  Ranked by intent_score.
-#}

with

events as (

    select * from {{ ref('int_events_attributed') }}
    where person_id is not null
    {%- if var('segment_pricing_min_views') | float > 0 %}
        -- only the two events the rule counts (a person without a pricing view cannot qualify): 2 of 23 kinds
        and canonical_event in ('Pricing_Viewed', 'Demo_Requested')
    {%- endif %}

),

scores as (

    select * from {{ ref('person_scores') }}

),

build as (

    select * from {{ ref('int_build_context') }}

),

event_counts as (

    select
        events.person_id,
        sum(case
            when events.canonical_event = 'Pricing_Viewed'
                and events.event_at > {{ dbt.dateadd('day', -1 * var('segment_recent_days'), 'build.as_of') }}
                then 1 else 0
        end) as recent_pricing_views,
        sum(case when events.canonical_event = 'Demo_Requested' then 1 else 0 end) as demo_requests

    from events
    cross join build
    where events.event_at <= build.as_of
    group by 1

),

final as (

    select
        scores.person_id as entity_id,
        scores.intent_score as score

    from scores
    inner join event_counts on scores.person_id = event_counts.person_id
    where event_counts.recent_pricing_views >= {{ var('segment_pricing_min_views') }}
        and event_counts.demo_requests = 0
        and scores.frequency = 0
        and not scores.is_activated

)

select * from final
