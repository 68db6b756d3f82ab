{#-
  The latest usable consent record per subject and purpose (later records win;
  on a tie, a withdrawal wins), from the consent file and from the consent
  preferences events carry (stg_segment__consent_preferences); `source` says
  which one the winning record came from.
-#}

with

consent_file as (

    select
        subject_type,
        subject_value,
        purpose,
        is_granted,
        recorded_at,
        'consent_file' as source

    from {{ ref('stg_privacy__consent') }}
    where quarantine_reason is null
        and duplicate_reason is null

),

event_preferences as (

    select subject_type, subject_value, purpose, is_granted, recorded_at, 'event' as source
    from {{ ref('stg_segment__consent_preferences') }}

),

consent as (

    select * from consent_file
    union all
    select * from event_preferences

),

ranked as (

    select
        *,
        row_number() over (
            partition by subject_type, subject_value, purpose
            order by recorded_at desc, is_granted asc, source
        ) as recency_rank

    from consent

),

final as (

    select
        subject_type,
        subject_value,
        purpose,
        is_granted,
        recorded_at,
        source

    from ranked
    where recency_rank = 1

)

select * from final
