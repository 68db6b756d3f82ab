{#- CONTRACT person_identifiers: one row per (identifier_type, identifier_value) with its person. -#}

with

identifiers as (

    select * from {{ ref('int_identifiers_assigned') }}

),

final as (

    select
        person_id,
        identifier_type,
        identifier_value,
        first_seen_at,
        last_seen_at

    from identifiers

)

select * from final
