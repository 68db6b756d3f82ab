{#-
  Where each account's and each person's data may live (data residency), by
  the rules of seeds region_rules and region_ip_ranges: an account by its
  country; a person by their primary account's region, else by the networks
  their events came from (region_ip_ranges) and the top-level domains of their
  emails (region_rules): the lowest priority wins (so one EU signal makes the
  person EU), then an IP range before an email. No rule matches: no row
  (people.region and accounts.region are null).
-#}
{{ customer_segments.after_quality_gate() }}

with

accounts as (

    select * from {{ ref('int_crm_accounts_deduplicated') }}

),

account_links as (

    select * from {{ ref('int_person_account_links') }}
    where is_primary

),

emails as (

    select * from {{ ref('int_identity_person_ids') }}
    where identifier_type = 'email'

),

events as (

    select * from {{ ref('int_events_attributed') }}
    where person_id is not null
        and ip is not null

),

ip_ranges as (

    select
        {{ customer_segments.ipv4_to_number('range_start') }} as range_start_number,
        {{ customer_segments.ipv4_to_number('range_end') }} as range_end_number,
        region,
        priority
    from {{ ref('region_ip_ranges') }}

),

rules as (

    select
        rule_type,
        lower(trim(match_value)) as match_value,
        region,
        priority
    from {{ ref('region_rules') }}

),

account_regions as (

    select
        accounts.account_id,
        min(rules.region) as region

    from accounts
    inner join rules
        on rules.rule_type = 'country'
        and rules.match_value = lower(trim(accounts.country))
    group by 1

),

address_regions as (

    -- each address once, parsed once and matched against the ranges (605k addresses against 2.1M
    -- (person, address) pairs at 10M events): only the events of a matched address are read per person
    select
        addresses.ip,
        ip_ranges.region,
        ip_ranges.priority

    from (
        select
            ip,
            {{ customer_segments.ipv4_to_number('ip') }} as ip_number
        from (select distinct ip from events) as distinct_addresses
    ) as addresses
    inner join ip_ranges
        on addresses.ip_number between ip_ranges.range_start_number and ip_ranges.range_end_number

),

person_ip_regions as (

    select distinct
        events.person_id,
        address_regions.region,
        address_regions.priority

    from events
    inner join address_regions
        on events.ip = address_regions.ip

),

signals as (

    select
        person_id,
        region,
        priority,
        1 as source_rank,
        'ip_range' as region_source

    from person_ip_regions

    union all

    select
        emails.person_id,
        rules.region,
        rules.priority,
        2 as source_rank,
        'email_tld' as region_source

    from emails
    inner join rules
        on rules.rule_type = 'email_tld'
        and rules.match_value = regexp_extract(lower(trim(emails.identifier_value)), '[.]([a-z0-9-]+)$', 1)

),

person_matches as (

    select
        person_id,
        region,
        region_source,
        row_number() over (
            partition by person_id order by priority, source_rank, region
        ) as match_rank

    from signals

),

person_regions as (

    select
        account_links.person_id,
        account_regions.region,
        'account_country' as region_source

    from account_links
    inner join account_regions on account_links.account_id = account_regions.account_id

    union all

    select
        person_matches.person_id,
        person_matches.region,
        person_matches.region_source

    from person_matches
    left join account_links on person_matches.person_id = account_links.person_id
    left join account_regions on account_links.account_id = account_regions.account_id
    where person_matches.match_rank = 1
        and account_regions.account_id is null

),

final as (

    select
        'account' as entity_type,
        account_id as entity_id,
        region,
        'account_country' as region_source
    from account_regions

    union all

    select
        'person' as entity_type,
        person_id as entity_id,
        region,
        region_source
    from person_regions

)

select * from final
