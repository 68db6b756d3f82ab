{#-
  One row per (account domain, technology) a vendor saw in use: the usable
  observations (stg_third_party__technographics) up to the build's as_of and
  no older than var technographics_max_age_days before it (a technology seen
  long ago may be gone), the technology's spelling of the latest observation,
  the category of the latest observation that gives one (a vendor row
  without a category does not erase it), and when it was first and last seen.
-#}

with

technographics as (

    select * from {{ ref('stg_third_party__technographics') }}
    where quarantine_reason is null and duplicate_reason is null

),

build as (

    select * from {{ ref('int_build_context') }}

),

current_observations as (

    select
        technographics.account_domain,
        lower(technographics.technology) as technology_key,
        technographics.technology,
        technographics.category,
        technographics.observed_at,
        row_number() over (
            partition by technographics.account_domain, lower(technographics.technology)
            order by technographics.observed_at desc, technographics.source_file desc, technographics.line_number desc
        ) as recency_rank

    from technographics
    cross join build
    where technographics.observed_at <= build.as_of
        and technographics.observed_at
            >= {{ dbt.dateadd('day', -1 * var('technographics_max_age_days'), 'build.as_of') }}

),

categories as (

    select
        account_domain,
        technology_key,
        category,
        row_number() over (
            partition by account_domain, technology_key
            order by observed_at desc, recency_rank
        ) as category_rank

    from current_observations
    where category is not null

),

spans as (

    select
        account_domain,
        technology_key,
        min(observed_at) as first_observed_at,
        max(observed_at) as last_observed_at,
        count(*) as observations

    from current_observations
    group by 1, 2

),

final as (

    select
        current_observations.account_domain,
        current_observations.technology_key,
        current_observations.technology,
        categories.category,
        spans.first_observed_at,
        spans.last_observed_at,
        spans.observations

    from current_observations
    inner join spans
        on current_observations.account_domain = spans.account_domain
        and current_observations.technology_key = spans.technology_key
    left join categories
        on current_observations.account_domain = categories.account_domain
        and current_observations.technology_key = categories.technology_key
        and categories.category_rank = 1
    where current_observations.recency_rank = 1

)

select * from final
