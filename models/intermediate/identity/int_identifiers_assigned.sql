{#-
  One row per identifier with the root it belongs to (foundation pass, one hop):
  a user id is its own root; an anonymous id, device id or email seen with a
  user id belongs to the smallest such user id; otherwise an anonymous id or an
  email is its own root and a device follows its anonymous ids. A CRM contact
  follows its email. person_id is a hash of the root, so it is stable.
-#}
{{ customer_segments.after_quality_gate() }}

with

observed as (

    select * from {{ ref('int_identifiers_observed') }}

),

contacts as (

    select * from {{ ref('int_crm_contacts_deduplicated') }}

),

direct as (

    select
        identifier_type,
        identifier_value,
        min(linked_user_id) as user_root,
        min(seen_at) as first_seen_at,
        max(seen_at) as last_seen_at

    from observed
    group by 1, 2

),

anonymous_roots as (

    select
        identifier_value as anonymous_id,
        coalesce('user_id:' || user_root, 'anonymous_id:' || identifier_value) as root

    from direct
    where identifier_type = 'anonymous_id'

),

device_roots as (

    select
        observed.identifier_value as device_id,
        min(anonymous_roots.root) as root

    from observed
    inner join anonymous_roots
        on observed.linked_anonymous_id = anonymous_roots.anonymous_id
    where observed.identifier_type = 'device_id'
    group by 1

),

identifier_roots as (

    select
        direct.identifier_type,
        direct.identifier_value,
        direct.first_seen_at,
        direct.last_seen_at,
        case
            when direct.identifier_type = 'user_id' then 'user_id:' || direct.identifier_value
            when direct.user_root is not null then 'user_id:' || direct.user_root
            when direct.identifier_type = 'device_id'
                then coalesce(device_roots.root, 'device_id:' || direct.identifier_value)
            else direct.identifier_type || ':' || direct.identifier_value
        end as root

    from direct
    left join device_roots
        on direct.identifier_type = 'device_id'
        and direct.identifier_value = device_roots.device_id

),

contact_roots as (

    select
        'crm_contact_id' as identifier_type,
        contacts.contact_id as identifier_value,
        contacts.updated_at as first_seen_at,
        contacts.updated_at as last_seen_at,
        coalesce(identifier_roots.root, 'email:' || contacts.email) as root

    from contacts
    left join identifier_roots
        on identifier_roots.identifier_type = 'email'
        and identifier_roots.identifier_value = contacts.email

),

unioned as (

    select identifier_type, identifier_value, first_seen_at, last_seen_at, root from identifier_roots
    union all
    select identifier_type, identifier_value, first_seen_at, last_seen_at, root from contact_roots

),

final as (

    select
        {{ customer_segments.person_id_from_root('root') }} as person_id,
        identifier_type,
        identifier_value,
        root,
        first_seen_at,
        last_seen_at

    from unioned

)

select * from final
