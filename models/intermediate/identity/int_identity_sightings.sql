{#-
  Every sighting of an identifier in a usable input, normalized (trimmed; emails
  lower-cased), with what it was seen together with. One row per (record,
  identifier, partner): a record with a user id and an anonymous id yields the
  link between them; an identifier seen alone yields a row with no partner, so
  every identifier is a node of the graph even when nothing links it.

  Links and their sources (strength order in the identity_edge_sources seed):
  - alias: previousId -> userId. previousId is an anonymous id when some call
    uses it as anonymousId, else a retired user id.
  - identify: an identify call's userId and anonymousId; the email in its traits
    and the caller (userId, else anonymousId).
  - event: any other call carrying both userId and anonymousId.
  - device: context.device.id and the caller (userId, else anonymousId).
  - order: an order's user id and email.  crm_contact: a contact id and its email.
  Email events and orders or events with a single identifier add lone nodes.
-#}
{{ customer_segments.after_quality_gate() }}

with

events as (

    -- the calls of the usable events per combination of ids (already normalized), summed over the days
    -- first: every branch below maps a combination to its sightings alone, so this is the same sum, and
    -- the branches read a quarter of the rows (443k combinations of 1.8M daily rows at 2M events: the
    -- model's SQL 2.3-2.9 s -> 1.6 s)
    select
        message_type,
        user_id,
        anonymous_id,
        device_id,
        email,
        previous_id,
        sum(calls) as calls,
        min(first_called_at) as first_at,
        max(last_called_at) as last_at

    from {{ ref('int_identity_calls_daily') }}
    group by message_type, user_id, anonymous_id, device_id, email, previous_id

),

orders as (

    select
        ordered_at as seen_at,
        {{ customer_segments.identity_value('user_id', 'user_id') }} as user_id,
        {{ customer_segments.identity_value('email', 'email') }} as email

    from {{ ref('int_orders_deduplicated') }}

),

contacts as (

    select
        updated_at as seen_at,
        {{ customer_segments.identity_value('crm_contact_id', 'contact_id') }} as contact_id,
        {{ customer_segments.identity_value('email', 'email') }} as email

    from {{ ref('int_crm_contacts_deduplicated') }}

),

email_events as (

    select
        occurred_at as seen_at,
        {{ customer_segments.identity_value('email', 'email') }} as email

    from {{ ref('int_email_events_deduplicated') }}

),

anonymous_ids as (

    select distinct anonymous_id from events where anonymous_id is not null

),

aliases as (

    select
        events.calls,
        events.first_at,
        events.last_at,
        events.user_id,
        case when anonymous_ids.anonymous_id is not null then 'anonymous_id' else 'user_id' end as previous_type,
        case
            when anonymous_ids.anonymous_id is not null then events.previous_id
            else {{ customer_segments.identity_value('user_id', 'events.previous_id') }}
        end as previous_id

    from events
    left join anonymous_ids
        on events.previous_id = anonymous_ids.anonymous_id
    where events.message_type = 'alias'
        and events.user_id is not null
        and events.previous_id is not null

),

sightings as (

    -- user id <-> anonymous id on the same call
    select
        case when message_type = 'identify' then 'identify' else 'event' end as source,
        'user_id' as identifier_type, user_id as identifier_value,
        'anonymous_id' as partner_type, anonymous_id as partner_value,
        calls, first_at, last_at
    from events
    where user_id is not null and anonymous_id is not null

    union all
    -- lone ids of a call (anonymous id and user id are covered above when both are present)
    select 'event', 'user_id', user_id, cast(null as {{ dbt.type_string() }}), cast(null as {{ dbt.type_string() }}), calls, first_at, last_at
    from events
    where user_id is not null and anonymous_id is null

    union all
    select 'event', 'anonymous_id', anonymous_id, null, null, calls, first_at, last_at
    from events
    where anonymous_id is not null and user_id is null

    union all
    -- traits.email and the caller
    select
        'identify',
        case when user_id is not null then 'user_id' else 'anonymous_id' end,
        coalesce(user_id, anonymous_id),
        'email', email, calls, first_at, last_at
    from events
    where email is not null and coalesce(user_id, anonymous_id) is not null

    union all
    -- context.device.id and the caller
    select
        'device',
        case when user_id is not null then 'user_id' else 'anonymous_id' end,
        coalesce(user_id, anonymous_id),
        'device_id', device_id, calls, first_at, last_at
    from events
    where device_id is not null and coalesce(user_id, anonymous_id) is not null

    union all
    select 'alias', 'user_id', user_id, previous_type, previous_id, calls, first_at, last_at
    from aliases
    where previous_id is not null

    union all
    select 'order', 'user_id', user_id, 'email', email, 1, seen_at, seen_at
    from orders
    where user_id is not null and email is not null

    union all
    select 'order', 'user_id', user_id, null, null, 1, seen_at, seen_at
    from orders
    where user_id is not null and email is null

    union all
    select 'order', 'email', email, null, null, 1, seen_at, seen_at
    from orders
    where user_id is null and email is not null

    union all
    select 'crm_contact', 'crm_contact_id', contact_id, 'email', email, 1, seen_at, seen_at
    from contacts
    where contact_id is not null and email is not null

    union all
    select 'email_event', 'email', email, null, null, 1, seen_at, seen_at
    from email_events
    where email is not null

),

final as (

    select
        source,
        identifier_type,
        identifier_value,
        partner_type,
        partner_value,
        sum(calls) as sightings,
        min(first_at) as first_seen_at,
        max(last_at) as last_seen_at

    from sightings
    group by 1, 2, 3, 4, 5

)

select * from final
