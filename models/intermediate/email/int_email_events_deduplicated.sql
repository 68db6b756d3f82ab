{#- Usable email events: not quarantined, one row per email_event_id. -#}

with

email_events as (

    select * from {{ ref('stg_email__events') }}
    where quarantine_reason is null
        and duplicate_reason is null

),

final as (

    select
        email_event_id,
        email,
        campaign_id,
        event_type,
        occurred_at,
        url

    from email_events

)

select * from final
