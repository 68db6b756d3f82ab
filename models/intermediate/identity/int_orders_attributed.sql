{#- Usable orders with the person they belong to (by user id, else by email). -#}
{{ customer_segments.after_quality_gate() }}

with

orders as (

    select * from {{ ref('int_orders_deduplicated') }}

),

identifiers as (

    select * from {{ ref('int_identity_person_ids') }}

),

final as (

    select
        coalesce(by_user.person_id, by_email.person_id) as person_id,
        orders.order_id,
        orders.amount,
        orders.currency,
        orders.ordered_at,
        orders.status

    from orders
    left join identifiers as by_user
        on by_user.identifier_type = 'user_id'
        and {{ customer_segments.identity_value('user_id', 'orders.user_id') }} = by_user.identifier_value
    left join identifiers as by_email
        on by_email.identifier_type = 'email'
        and {{ customer_segments.identity_value('email', 'orders.email') }} = by_email.identifier_value

)

select * from final
