{#-
  Person-level signals segment rules and suggested segments read, one row per
  person with at least one attributed event up to as_of:
  - cart: when the person last added to cart or started checkout (var
    segment_cart_events) and last completed an order, up to as_of; the
    cart-abandoner rule (seg_cart_abandoners) compares the two;
  - cold start: the first touch's referrer domain (the earliest event whose
    referrer is another site than the page it landed on; 'www.' dropped) and
    the first touch's campaign source and medium (the earliest event carrying
    a campaign source): known from the first visit, before any score has data;
  - channel mix: the share of the person's retained activity on the web, in
    email (opens, clicks) and in the product (int_person_engagement).
  The events' part comes from each person's callers (int_events_per_caller,
  which sums them up to as_of), not from every event.
-#}
{{ customer_segments.after_quality_gate() }}

with

callers as (

    select * from {{ ref('int_events_per_caller') }}
    where events_by_as_of > 0

),

orders as (

    select * from {{ ref('int_orders_attributed') }}
    where status = 'completed' and person_id is not null

),

engagement as (

    select * from {{ ref('int_person_engagement') }}

),

build as (

    select * from {{ ref('int_build_context') }}

),

{#- each caller's row (its events up to as_of, int_events_per_caller) with the person it belongs to -#}
caller_people as (

    select
        coalesce(by_user.person_id, by_anonymous.person_id) as person_id,
        callers.last_cart_at,
        callers.first_referrer_at,
        callers.first_referrer_message_id,
        callers.first_referrer_domain,
        callers.first_campaign_at,
        callers.first_campaign_message_id,
        callers.first_campaign_source,
        callers.first_campaign_medium

    from callers
    {{ customer_segments.join_caller_person(ref('int_identity_person_ids')) }}

),

seen as (

    select
        person_id,
        max(last_cart_at) as last_cart_at

    from caller_people
    where person_id is not null
    group by 1

),

last_orders as (

    select
        orders.person_id,
        max(orders.ordered_at) as last_order_at

    from orders
    cross join build
    where orders.ordered_at <= build.as_of
    group by 1

),

{#- the person's earliest touch over their callers' earliest ones: earliest by (event_at, message_id) -#}
first_referrers as (

    select
        person_id,
        first_referrer_domain as referrer_domain,
        row_number() over (partition by person_id order by first_referrer_at, first_referrer_message_id) as touch_rank

    from caller_people
    where person_id is not null
        and first_referrer_at is not null

),

first_campaigns as (

    select
        person_id,
        first_campaign_source as campaign_source,
        first_campaign_medium as campaign_medium,
        row_number() over (partition by person_id order by first_campaign_at, first_campaign_message_id) as touch_rank

    from caller_people
    where person_id is not null
        and first_campaign_at is not null

),

final as (

    select
        seen.person_id,
        seen.last_cart_at,
        last_orders.last_order_at,
        first_referrers.referrer_domain as first_referrer_domain,
        first_campaigns.campaign_source as first_campaign_source,
        first_campaigns.campaign_medium as first_campaign_medium,
        coalesce(engagement.web_events, 0) as web_events,
        coalesce(engagement.email_events, 0) as email_events,
        coalesce(engagement.product_events, 0) as product_events,
        {%- for channel in ['web', 'email', 'product'] %}
        case when engagement.web_events + engagement.email_events + engagement.product_events > 0
            then round(1.0 * engagement.{{ channel }}_events
                / (engagement.web_events + engagement.email_events + engagement.product_events), 4)
        end as {{ channel }}_share,
        {%- endfor %}
        case
            when coalesce(engagement.web_events + engagement.email_events + engagement.product_events, 0) = 0 then null
            when engagement.product_events >= engagement.web_events and engagement.product_events >= engagement.email_events then 'product'
            when engagement.email_events > engagement.web_events then 'email'
            else 'web'
        end as main_channel

    from seen
    left join last_orders on seen.person_id = last_orders.person_id
    left join first_referrers on seen.person_id = first_referrers.person_id and first_referrers.touch_rank = 1
    left join first_campaigns on seen.person_id = first_campaigns.person_id and first_campaigns.touch_rank = 1
    left join engagement on seen.person_id = engagement.person_id

)

select * from final
