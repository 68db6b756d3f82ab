{#- Usable CRM contacts: not quarantined, the latest version of each contact_id. -#}

with

contacts as (

    select * from {{ ref('stg_crm__contacts') }}
    where quarantine_reason is null
        and duplicate_reason is null

),

final as (

    select
        contact_id,
        email,
        title,
        account_id,
        email_status,
        updated_at

    from contacts

)

select * from final
