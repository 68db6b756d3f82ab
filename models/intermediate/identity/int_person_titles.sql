{#-
  One row per person with a job title: the latest title the person gave in an
  identify call's traits, and the title of their CRM contact. The person's own
  latest word wins (a CRM title can lag a promotion); the CRM title stands in
  for people who never gave one.
-#}

with

identifiers as (

    select * from {{ ref('int_identity_person_ids') }}

),

events as (

    select * from {{ ref('int_events_deduplicated') }}

),

contacts as (

    select * from {{ ref('int_crm_contacts_deduplicated') }}

),

identify_titles_ranked as (

    select
        identifiers.person_id,
        nullif(trim(events.title), '') as title,
        row_number() over (
            partition by identifiers.person_id
            order by events.event_at desc, events.message_id desc
        ) as title_rank

    from events
    inner join identifiers
        on identifiers.identifier_type = 'user_id'
        and identifiers.identifier_value = {{ customer_segments.identity_value('user_id', 'events.user_id') }}
    where events.message_type = 'identify'
        and nullif(trim(events.title), '') is not null

),

identify_titles as (

    select person_id, title
    from identify_titles_ranked
    where title_rank = 1

),

crm_titles as (

    select identifiers.person_id, max(nullif(trim(contacts.title), '')) as title
    from contacts
    inner join identifiers
        on identifiers.identifier_type = 'crm_contact_id'
        and identifiers.identifier_value = contacts.contact_id
    group by 1

),

final as (

    select
        coalesce(identify_titles.person_id, crm_titles.person_id) as person_id,
        identify_titles.title as identify_title,
        crm_titles.title as crm_title,
        coalesce(identify_titles.title, crm_titles.title) as title

    from identify_titles
    full outer join crm_titles
        on identify_titles.person_id = crm_titles.person_id
    where coalesce(identify_titles.title, crm_titles.title) is not null

)

select * from final
