{#-
  Every piece of evidence that puts a person in an account, one row per
  (person, account, method), ranked into the person's account by precedence:
    1 crm          the person's CRM contact belongs to the account;
    2 group_call   a group call of the person names the account (groupId = account_id);
    3 email_domain an email of the person is at the account's domain (free-mail
                   domains from the free_mail_domains seed never count);
    4 reverse_ip   the person's events came from the account's office network
                   (ip_ranges) at least var account_reverse_ip_min_events times:
                   this is how anonymous visitors are put in accounts.
  Within a method: more evidence first, then the smaller account id.
  is_primary marks the one link people.account_id uses.
-#}
{{ customer_segments.after_quality_gate() }}

with

person_ids as (

    select * from {{ ref('int_identity_person_ids') }}

),

contacts as (

    select * from {{ ref('int_crm_contacts_deduplicated') }}

),

accounts as (

    select * from {{ ref('int_crm_accounts_deduplicated') }}

),

free_mail as (

    select lower(domain) as domain from {{ ref('free_mail_domains') }}

),

events as (

    select * from {{ ref('int_events_attributed') }}
    where person_id is not null

),

ip_ranges as (

    select * from {{ ref('stg_reverse_ip__ip_ranges') }}
    where quarantine_reason is null
        and duplicate_reason is null

),

crm_links as (

    select
        person_ids.person_id,
        contacts.account_id,
        'crm' as method,
        1 as precedence,
        count(*) as evidence_count,
        {{ customer_segments.string_agg_ordered('contacts.contact_id', "', '", 'contacts.contact_id') }} as evidence

    from person_ids
    inner join contacts
        on person_ids.identifier_type = 'crm_contact_id'
        and person_ids.identifier_value = contacts.contact_id
    inner join accounts
        on contacts.account_id = accounts.account_id
    group by 1, 2

),

group_links as (

    select
        events.person_id,
        accounts.account_id,
        'group_call' as method,
        2 as precedence,
        count(*) as evidence_count,
        'groupId ' || accounts.account_id as evidence

    from events
    inner join accounts
        on trim(events.group_id) = accounts.account_id
    where events.message_type = 'group'
    group by 1, 2

),

person_domains as (

    select
        person_id,
        substr(identifier_value, {{ dbt.position("'@'", 'identifier_value') }} + 1) as domain,
        count(*) as emails

    from person_ids
    where identifier_type = 'email'
    group by 1, 2

),

domain_links as (

    select
        person_domains.person_id,
        accounts.account_id,
        'email_domain' as method,
        3 as precedence,
        sum(person_domains.emails) as evidence_count,
        'email at ' || min(person_domains.domain) as evidence

    from person_domains
    inner join accounts
        on person_domains.domain = lower(accounts.domain)
    left join free_mail
        on person_domains.domain = free_mail.domain
    where free_mail.domain is null
    group by 1, 2

),

addresses as (

    -- each address once, parsed once: 605k addresses against 2.1M (person, address) pairs among 11M events
    -- at 10M events; only the events of addresses in an office network are then counted per person
    select
        ip,
        {{ customer_segments.ipv4_to_number('ip') }} as ip_number

    from (select distinct ip from events where ip is not null) as distinct_addresses

),

hex_digits as (

    select 0 as digit union all select 1 union all select 2 union all select 3
    union all select 4 union all select 5 union all select 6 union all select 7
    union all select 8 union all select 9 union all select 10 union all select 11
    union all select 12 union all select 13 union all select 14 union all select 15

),

block_offsets as (

    select high.digit * 16 + low.digit as block_offset
    from hex_digits as high
    cross join hex_digits as low

),

range_blocks as (

    -- Each range once per /24 block it covers (up to 256 blocks, a /16), so a person's ip finds
    -- its ranges by equality on the block: a range join of every ip against every range took
    -- 90 s at 10M events. Wider ranges are joined by range (wide_ranges).
    select
        ip_ranges.account_domain,
        ip_ranges.range_start_number,
        ip_ranges.range_end_number,
        cast(floor(ip_ranges.range_start_number / 256) as bigint) + block_offsets.block_offset as ip_block

    from ip_ranges
    inner join block_offsets
        on block_offsets.block_offset
            <= cast(floor(ip_ranges.range_end_number / 256) as bigint) - cast(floor(ip_ranges.range_start_number / 256) as bigint)
    where cast(floor(ip_ranges.range_end_number / 256) as bigint) - cast(floor(ip_ranges.range_start_number / 256) as bigint) < 256

),

wide_ranges as (

    select * from ip_ranges
    where cast(floor(range_end_number / 256) as bigint) - cast(floor(range_start_number / 256) as bigint) >= 256

),

address_matches as (

    -- one row per (address, range it falls in): an address in two ranges counts for both, as before
    select
        addresses.ip,
        range_blocks.account_domain

    from addresses
    inner join range_blocks
        on cast(floor(addresses.ip_number / 256) as bigint) = range_blocks.ip_block
        and addresses.ip_number between range_blocks.range_start_number and range_blocks.range_end_number

    union all

    select
        addresses.ip,
        wide_ranges.account_domain

    from addresses
    inner join wide_ranges
        on addresses.ip_number between wide_ranges.range_start_number and wide_ranges.range_end_number

),

person_ips as (

    -- the events from an office network, per person and address
    select
        person_id,
        ip,
        count(*) as events

    from events
    where ip in (select ip from address_matches)
    group by person_id, ip

),

ip_matches as (

    select
        person_ips.person_id,
        person_ips.events,
        address_matches.account_domain

    from person_ips
    inner join address_matches
        on person_ips.ip = address_matches.ip

),

ip_links as (

    select
        ip_matches.person_id,
        accounts.account_id,
        'reverse_ip' as method,
        4 as precedence,
        sum(ip_matches.events) as evidence_count,
        'events from the office network of ' || min(ip_matches.account_domain) as evidence

    from ip_matches
    inner join accounts
        on ip_matches.account_domain = lower(accounts.domain)
    group by 1, 2
    having sum(ip_matches.events) >= {{ var('account_reverse_ip_min_events') }}

),

links as (

    select * from crm_links
    union all
    select * from group_links
    union all
    select * from domain_links
    union all
    select * from ip_links

),

final as (

    select
        person_id,
        account_id,
        method,
        precedence,
        evidence_count,
        evidence,
        row_number() over (
            partition by person_id
            order by precedence, evidence_count desc, account_id
        ) = 1 as is_primary

    from links

)

select * from final
