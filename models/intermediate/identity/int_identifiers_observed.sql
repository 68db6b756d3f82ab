{#-
  Every identifier value seen in any usable input, with when it was seen and the
  user id (if any) it was seen together with. One row per observation source;
  int_identifiers_assigned reduces it to one row per identifier.
  (Foundation pass: one-hop stitching. The identity-graph issue replaces the
  assignment with guarded connected components.)
-#}
{{ customer_segments.after_quality_gate() }}

with

events as (

    select * from {{ ref('int_events_deduplicated') }}

),

orders as (

    select * from {{ ref('int_orders_deduplicated') }}

),

contacts as (

    select * from {{ ref('int_crm_contacts_deduplicated') }}

),

email_events as (

    select * from {{ ref('int_email_events_deduplicated') }}

),

observations as (

    select 'user_id' as identifier_type, user_id as identifier_value, user_id as linked_user_id,
        cast(null as varchar) as linked_anonymous_id, event_at as seen_at
    from events where user_id is not null

    union all
    select 'anonymous_id', anonymous_id, user_id, anonymous_id, event_at
    from events where anonymous_id is not null

    union all
    -- alias: previousId is an earlier id of the same user
    select 'anonymous_id', previous_id, user_id, previous_id, event_at
    from events where message_type = 'alias' and previous_id is not null

    union all
    select 'device_id', device_id, user_id, anonymous_id, event_at
    from events where device_id is not null

    union all
    select 'email', email, user_id, anonymous_id, event_at
    from events where email is not null

    union all
    select 'user_id', user_id, user_id, cast(null as varchar), ordered_at
    from orders where user_id is not null

    union all
    select 'email', email, user_id, cast(null as varchar), ordered_at
    from orders where email is not null

    union all
    select 'email', email, cast(null as varchar), cast(null as varchar), occurred_at
    from email_events

    union all
    select 'email', email, cast(null as varchar), cast(null as varchar), updated_at
    from contacts

),

final as (

    select
        identifier_type,
        identifier_value,
        linked_user_id,
        linked_anonymous_id,
        seen_at

    from observations

)

select * from final
