{#-
  The consent in force per person and purpose: the latest record over all the
  person's identifiers (on a tie, a withdrawal wins), when it was made, and
  when the person last granted the purpose (null: never). people turns these
  into its consent flags; suppressions compares email unsubscribes with the
  latest marketing grant.
-#}
{{ customer_segments.after_quality_gate() }}

with

consent as (

    select * from {{ ref('int_consent_latest') }}

),

identifiers as (

    select * from {{ ref('int_identity_person_ids') }}

),

person_records as (

    select
        identifiers.person_id,
        consent.purpose,
        consent.is_granted,
        consent.recorded_at,
        max(case when consent.is_granted then consent.recorded_at end) over (
            partition by identifiers.person_id, consent.purpose
        ) as latest_grant_at,
        row_number() over (
            partition by identifiers.person_id, consent.purpose
            order by consent.recorded_at desc, consent.is_granted asc
        ) as recency_rank

    from consent
    inner join identifiers
        on consent.subject_type = identifiers.identifier_type
        and consent.subject_value = identifiers.identifier_value

),

final as (

    select
        person_id,
        purpose,
        is_granted,
        recorded_at,
        latest_grant_at

    from person_records
    where recency_rank = 1

)

select * from final
