{#-
  How many usable rows the retention window (var retention_days before as_of)
  kept out of this build, per input: the build summary and build_audit say it,
  so nothing disappears silently.
-#}
{{ customer_segments.after_quality_gate() }}

with

events as (

    select event_at from {{ ref('stg_segment__events') }}
    where quarantine_reason is null
        and duplicate_reason is null

),

email_events as (

    select occurred_at from {{ ref('stg_email__events') }}
    where quarantine_reason is null
        and duplicate_reason is null

),

final as (

    select
        'events' as source,
        {{ customer_segments.retention_cutoff() }} as retained_from,
        count(*) as ignored_rows

    from events
    where event_at < {{ customer_segments.retention_cutoff() }}

    union all

    select
        'email_events' as source,
        {{ customer_segments.retention_cutoff() }} as retained_from,
        count(*) as ignored_rows

    from email_events
    where occurred_at < {{ customer_segments.retention_cutoff() }}

)

select * from final
