{#-
  Cart abandoners: people whose last add-to-cart or checkout start (var
  segment_cart_events) happened in the last var segment_cart_recent_days days
  and at least var segment_cart_abandon_hours hours before as_of (time to
  finish buying), with no completed order at or after it. An order before the
  cart does not count: a customer who comes back and abandons is one too.
  Layers: commerce intent + the missing next step + recency.
  Ranked by intent_score.
-#}

with

signals as (

    select * from {{ ref('int_person_signals') }}

),

scores as (

    select * from {{ ref('person_scores') }}

),

build as (

    select * from {{ ref('int_build_context') }}

),

final as (

    select
        signals.person_id as entity_id,
        coalesce(scores.intent_score, 0) as score

    from signals
    cross join build
    left join scores on signals.person_id = scores.person_id
    where signals.last_cart_at > {{ dbt.dateadd('day', -1 * var('segment_cart_recent_days'), 'build.as_of') }}
        and signals.last_cart_at <= {{ dbt.dateadd('hour', -1 * var('segment_cart_abandon_hours'), 'build.as_of') }}
        and (signals.last_order_at is null or signals.last_order_at < signals.last_cart_at)

)

select * from final
