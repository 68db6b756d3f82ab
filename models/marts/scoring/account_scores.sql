{#-
  CONTRACT account_scores: one row per account: its fit (accounts.fit_score),
  its people's engagement and intent rolled up, how many of them are engaged,
  and buying-committee coverage: the distinct roles (job titles, from the CRM
  contact, else from identify traits) among the engaged people.
-#}

with

accounts as (

    select * from {{ ref('accounts') }}

),

people as (

    select * from {{ ref('people') }}

),

person_scores as (

    select * from {{ ref('person_scores') }}

),

identifiers as (

    select * from {{ ref('int_identity_person_ids') }}

),

contacts as (

    select * from {{ ref('int_crm_contacts_deduplicated') }}

),

identify_titles as (

    select
        identifiers.person_id,
        max(nullif(trim(events.title), '')) as title

    from {{ ref('int_events_deduplicated') }} as events
    inner join identifiers
        on identifiers.identifier_type = 'user_id'
        and identifiers.identifier_value = {{ customer_segments.identity_value('user_id', 'events.user_id') }}
    where events.message_type = 'identify'
    group by 1

),

crm_titles as (

    select identifiers.person_id, max(nullif(trim(contacts.title), '')) as title
    from contacts
    inner join identifiers
        on identifiers.identifier_type = 'crm_contact_id'
        and identifiers.identifier_value = contacts.contact_id
    group by 1

),

build as (

    select * from {{ ref('int_build_context') }}

),

rolled_up as (

    select
        people.account_id,
        {{ customer_segments.exact_sum('person_scores.intent_score') }} as intent_score,
        {{ customer_segments.exact_sum('person_scores.engagement_score') }} as engagement_score,
        count(*) as people,
        sum(case when person_scores.engagement_score >= {{ var('engaged_person_min_score') }} then 1 else 0 end) as engaged_people,
        count(distinct case
            when person_scores.engagement_score >= {{ var('engaged_person_min_score') }}
                then lower(coalesce(crm_titles.title, identify_titles.title))
        end) as engaged_roles

    from people
    inner join person_scores on people.person_id = person_scores.person_id
    left join crm_titles on people.person_id = crm_titles.person_id
    left join identify_titles on people.person_id = identify_titles.person_id
    where people.account_id is not null
    group by 1

),

final as (

    select
        accounts.account_id,
        build.as_of,
        accounts.fit_score,
        coalesce(rolled_up.intent_score, 0) as intent_score,
        coalesce(rolled_up.engaged_people, 0) as engaged_people,
        coalesce(rolled_up.engagement_score, 0) as engagement_score,
        coalesce(rolled_up.people, 0) as people,
        coalesce(rolled_up.engaged_roles, 0) as engaged_roles

    from accounts
    cross join build
    left join rolled_up on accounts.account_id = rolled_up.account_id

)

select * from final
