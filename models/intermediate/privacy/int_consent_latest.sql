{#- The latest usable consent record per subject and purpose (later records win; on a tie, a withdrawal wins). -#}

with

consent as (

    select * from {{ ref('stg_privacy__consent') }}
    where quarantine_reason is null
        and duplicate_reason is null

),

ranked as (

    select
        *,
        row_number() over (
            partition by subject_type, subject_value, purpose
            order by recorded_at desc, is_granted asc
        ) as recency_rank

    from consent

),

final as (

    select
        subject_type,
        subject_value,
        purpose,
        is_granted,
        recorded_at

    from ranked
    where recency_rank = 1

)

select * from final
