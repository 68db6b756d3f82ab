{#-
  CONTRACT suppressions: one row per person and (channel, purpose) the person
  must not be reached on or used for, with the reason and since when
  (docs/privacy.md, "Suppressions"):
    analytics_refused   all / all        analytics consent refused or withdrawn: not profiled
    consent_withdrawn   all / <purpose>  marketing or personalization refused or withdrawn
    do_not_sell         ads / all        data_sharing refused (also a GPC signal on an event)
    unsubscribed        email / marketing  an email unsubscribe at or after the latest marketing grant
    spam_complaint      email / marketing  a spam complaint at or after the latest marketing grant
    bounced             email / all      an address of the person is undeliverable
  `all` matches every channel or purpose. A person segment keeps nobody with a
  row matching one of its channels and its purpose (segment_members_current);
  a delivery reads the same rows. When two reasons meet on one (channel, purpose),
  the earliest wins (then the first by name).
-#}
{{ customer_segments.after_quality_gate() }}

with

consent as (

    select * from {{ ref('int_person_consent') }}

),

opt_outs as (

    select * from {{ ref('int_email_opt_outs') }}

),

identifiers as (

    select * from {{ ref('int_identity_person_ids') }}
    where identifier_type = 'email'

),

marketing as (

    select person_id, latest_grant_at from consent where purpose = 'marketing'

),

consent_suppressions as (

    select
        person_id,
        case when purpose = 'data_sharing' then 'ads' else 'all' end as channel,
        case when purpose in ('analytics', 'data_sharing') then 'all' else purpose end as purpose,
        case purpose
            when 'analytics' then 'analytics_refused'
            when 'data_sharing' then 'do_not_sell'
            else 'consent_withdrawn'
        end as reason,
        recorded_at as since

    from consent
    where not is_granted

),

email_suppressions as (

    select
        identifiers.person_id,
        'email' as channel,
        case when opt_outs.signal = 'bounced' then 'all' else 'marketing' end as purpose,
        opt_outs.signal as reason,
        opt_outs.since

    from opt_outs
    inner join identifiers
        on identifiers.identifier_value = {{ customer_segments.identity_value('email', 'opt_outs.email') }}
    left join marketing on identifiers.person_id = marketing.person_id
    -- a grant after the unsubscribe or complaint opts the person in again
    where opt_outs.signal = 'bounced'
        or marketing.latest_grant_at is null
        or opt_outs.since >= marketing.latest_grant_at

),

candidates as (

    select * from consent_suppressions
    union all
    select * from email_suppressions

),

ranked as (

    select
        *,
        row_number() over (partition by person_id, channel, purpose order by since, reason) as reason_rank

    from candidates

),

final as (

    select
        person_id,
        channel,
        purpose,
        reason,
        since

    from ranked
    where reason_rank = 1

)

select * from final
