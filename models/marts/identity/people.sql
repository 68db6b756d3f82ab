{#-
  CONTRACT people: one row per person, with account, activity window, lifecycle
  stage, consent per purpose, and the persona (seniority, department) read
  from the job title (int_person_titles_classified; null when unknown, and
  for people who refused analytics, who are not profiled). email is the sha256 of the address unless var
  publish_direct_identifiers is true (docs/privacy.md).
-#}
{{ customer_segments.after_quality_gate() }}

with

identifiers as (

    select * from {{ ref('int_identity_person_ids') }}

),

callers as (

    select * from {{ ref('int_events_per_caller') }}

),

orders as (

    select * from {{ ref('int_orders_attributed') }}

),

consent as (

    select * from {{ ref('int_person_consent') }}

),

personas as (

    select * from {{ ref('int_person_titles_classified') }}

),

build as (

    select * from {{ ref('int_build_context') }}

),

regions as (

    select * from {{ ref('int_regions_assigned') }}
    where entity_type = 'person'

),

person_emails as (

    select person_id, min(identifier_value) as email
    from identifiers
    where identifier_type = 'email'
    group by 1

),

activity as (

    -- the events of each caller (int_events_per_caller) with the person they belong to
    select
        coalesce(by_user.person_id, by_anonymous.person_id) as person_id,
        min(callers.first_event_at) as first_seen_at,
        max(callers.last_event_at) as last_seen_at
    from callers
    {{ customer_segments.join_caller_person('identifiers') }}
    where coalesce(by_user.person_id, by_anonymous.person_id) is not null
    group by 1

    union all

    select person_id, min(ordered_at), max(ordered_at)
    from orders
    where person_id is not null
    group by 1

),

person_activity as (

    select person_id, min(first_seen_at) as first_seen_at, max(last_seen_at) as last_seen_at
    from activity
    group by 1

),

account_links as (

    select * from {{ ref('int_person_account_links') }}
    where is_primary

),

consent_flags as (

    select
        person_id,
        max(case when purpose = 'analytics' then is_granted end) as consent_analytics,
        max(case when purpose = 'marketing' then is_granted end) as consent_marketing,
        max(case when purpose = 'personalization' then is_granted end) as consent_personalization,
        max(case when purpose = 'data_sharing' then is_granted end) as consent_data_sharing

    from consent
    group by 1

),

people as (

    select distinct person_id from identifiers

),

final as (

    select
        people.person_id,
        account_links.account_id,
        account_links.method as account_link_method,
        {{ customer_segments.published_identifier("'email'", 'person_emails.email') }} as email,
        person_activity.first_seen_at,
        person_activity.last_seen_at,
        case
            when person_activity.last_seen_at is null then 'churned'
            when person_activity.first_seen_at
                >= {{ dbt.dateadd('day', -1 * var('lifecycle_new_days'), 'build.as_of') }} then 'new'
            when person_activity.last_seen_at
                >= {{ dbt.dateadd('day', -1 * var('lifecycle_active_days'), 'build.as_of') }} then 'active'
            when person_activity.last_seen_at
                >= {{ dbt.dateadd('day', -1 * var('lifecycle_dormant_days'), 'build.as_of') }} then 'dormant'
            else 'churned'
        end as lifecycle_stage,
        consent_flags.consent_analytics,
        consent_flags.consent_marketing,
        consent_flags.consent_personalization,
        consent_flags.consent_data_sharing,
        regions.region,
        -- a person who refused analytics is not profiled: no persona either
        case when coalesce(consent_flags.consent_analytics, true) then personas.seniority end as seniority,
        case when coalesce(consent_flags.consent_analytics, true) then personas.department end as department

    from people
    cross join build
    left join person_emails on people.person_id = person_emails.person_id
    left join person_activity on people.person_id = person_activity.person_id
    left join account_links on people.person_id = account_links.person_id
    left join consent_flags on people.person_id = consent_flags.person_id
    left join regions on people.person_id = regions.entity_id
    left join personas on people.person_id = personas.person_id

)

select * from final
