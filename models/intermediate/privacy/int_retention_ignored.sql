{#-
  How many usable rows the retention window (var retention_days before as_of)
  kept out of this build, per input: the build summary and build_audit say it,
  so nothing disappears silently.
-#}
{{ customer_segments.after_quality_gate() }}

with

cutoff as (

    -- computed once: without var as_of it scans stg_segment__events for the latest event
    select {{ customer_segments.retention_cutoff() }} as retained_from

),

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
        cutoff.retained_from,
        count(events.event_at) as ignored_rows

    from cutoff
    left join events on events.event_at < cutoff.retained_from
    group by 1, 2

    union all

    select
        'email_events' as source,
        cutoff.retained_from,
        count(email_events.occurred_at) as ignored_rows

    from cutoff
    left join email_events on email_events.occurred_at < cutoff.retained_from
    group by 1, 2

)

select * from final
