{#-
  Usable email events: not quarantined, one row per email_event_id, within the
  retention window (var retention_days before as_of; int_retention_ignored
  counts the older ones).
-#}

with

email_events as (

    select * from {{ ref('stg_email__events') }}
    where quarantine_reason is null
        and duplicate_reason is null
        and occurred_at >= {{ customer_segments.retention_cutoff() }}

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
