{#-
  CONTRACT accounts: one row per CRM account, with firmographics and fit_score.
  fit_score (0-100) comes from the ICP rules in seed icp_rules: per attribute
  (industry, employee_count, annual_revenue, country, and from the optional
  technographics input technology and technology_category) the best-scoring
  matching rule counts, and the attributes add up (capped at 100).
  technographic_fit_points is the technographic attributes' share: without a
  technographics file it is 0 and fit_score is the firmographic fit alone. Text rules match
  case-insensitively; numeric rules match min_value <= value <= max_value
  (an empty bound is open). An unknown attribute value scores 0 for it.
  updated_at and firmographics_age_days (days before as_of) say how fresh the
  firmographics are, for motions that must not act on stale ones.
-#}
{{ customer_segments.after_quality_gate() }}

with

accounts as (

    select * from {{ ref('int_crm_accounts_deduplicated') }}

),

build as (

    select * from {{ ref('int_build_context') }}

),

rules as (

    select * from {{ ref('icp_rules') }}

),

regions as (

    select * from {{ ref('int_regions_assigned') }}
    where entity_type = 'account'

),

technologies as (

    select * from {{ ref('int_technographics_deduplicated') }}

),

matches as (

    select
        accounts.account_id,
        rules.attribute,
        max(rules.points) as points

    from accounts
    inner join rules
        on (rules.attribute = 'industry' and lower(accounts.industry) = lower(rules.text_value))
        or (rules.attribute = 'country' and lower(accounts.country) = lower(rules.text_value))
        or (rules.attribute = 'employee_count'
            and accounts.employee_count >= coalesce(rules.min_value, accounts.employee_count)
            and accounts.employee_count <= coalesce(rules.max_value, accounts.employee_count))
        or (rules.attribute = 'annual_revenue'
            and accounts.annual_revenue >= coalesce(rules.min_value, accounts.annual_revenue)
            and accounts.annual_revenue <= coalesce(rules.max_value, accounts.annual_revenue))
    group by 1, 2

),

technographic_matches as (

    select
        accounts.account_id,
        rules.attribute,
        max(rules.points) as points

    from accounts
    inner join technologies
        on accounts.domain = technologies.account_domain
    inner join rules
        on (rules.attribute = 'technology' and lower(technologies.technology) = lower(rules.text_value))
        or (rules.attribute = 'technology_category' and lower(technologies.category) = lower(rules.text_value))
    group by 1, 2

),

all_matches as (

    select account_id, attribute, points from matches
    union all
    select account_id, attribute, points from technographic_matches

),

fit as (

    select
        account_id,
        sum(points) as points,
        sum(case when attribute in ('technology', 'technology_category') then points else 0 end) as technographic_points

    from all_matches
    group by 1

),

final as (

    select
        accounts.account_id,
        accounts.account_name,
        accounts.domain,
        accounts.industry,
        accounts.employee_count,
        accounts.annual_revenue,
        accounts.country,
        cast(least(coalesce(fit.points, 0), 100) as double) as fit_score,
        cast(coalesce(fit.technographic_points, 0) as double) as technographic_fit_points,
        accounts.updated_at,
        {{ dbt.datediff('accounts.updated_at', 'build.as_of', 'day') }} as firmographics_age_days,
        regions.region

    from accounts
    cross join build
    left join fit
        on accounts.account_id = fit.account_id
    left join regions
        on accounts.account_id = regions.entity_id

)

select * from final
