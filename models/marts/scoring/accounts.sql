{#- CONTRACT accounts: one row per CRM account, with firmographics and fit_score (null until the ICP rules land). -#}
{{ customer_segments.after_quality_gate() }}

with

accounts as (

    select * from {{ ref('int_crm_accounts_deduplicated') }}

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
        cast(null as double) as fit_score

    from accounts

)

select * from final
