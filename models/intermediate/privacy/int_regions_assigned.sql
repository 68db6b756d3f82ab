{#-
  Where each account's and each person's data may live (data residency), by
  the rules of seed region_rules: an account by its country; a person by their
  primary account's region, else by the top-level domain of an email of
  theirs (the lowest rule priority wins, so one EU address makes the person
  EU). No rule matches: no row (people.region and accounts.region are null).
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

email_matches as (

    select
        emails.person_id,
        rules.region,
        row_number() over (partition by emails.person_id order by rules.priority, rules.region) as match_rank

    from emails
    inner join rules
        on rules.rule_type = 'email_tld'
        and rules.match_value = regexp_extract(lower(trim(emails.identifier_value)), '[.]([a-z0-9-]+)$', 1)

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
        email_matches.person_id,
        email_matches.region,
        'email_tld' as region_source

    from email_matches
    left join account_links on email_matches.person_id = account_links.person_id
    left join account_regions on account_links.account_id = account_regions.account_id
    where email_matches.match_rank = 1
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
