{#- Usable orders: not quarantined, one row per order_id. -#}

with

orders as (

    select * from {{ ref('stg_shop__orders') }}
    where quarantine_reason is null
        and duplicate_reason is null

),

final as (

    select
        order_id,
        user_id,
        email,
        amount,
        currency,
        ordered_at,
        status

    from orders

)

select * from final
