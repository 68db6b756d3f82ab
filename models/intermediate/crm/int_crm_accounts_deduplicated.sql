{#- Usable CRM accounts: not quarantined, the latest version of each account_id. -#}

with

accounts as (

    select * from {{ ref('stg_crm__accounts') }}
    where quarantine_reason is null
        and duplicate_reason is null

),

final as (

    select
        account_id,
        account_name,
        domain,
        industry,
        employee_count,
        annual_revenue,
        country,
        updated_at

    from accounts

)

select * from final
