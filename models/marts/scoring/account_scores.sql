{#-
  CONTRACT account_scores: one row per account: its fit (accounts.fit_score,
  technographic points included), its people's engagement and intent rolled
  up, how many of them are engaged, buying-committee coverage, and
  third-party intent.
  engaged_roles: the distinct job titles (CRM contact, else identify traits)
  among the engaged people. committee_roles: the distinct personas
  (seniority and department, both known: int_person_titles_classified) among
  them, against the target range vars buying_committee_min_roles to
  buying_committee_max_roles (6-10: the B2B buying committee).
  third_party_intent_score: the account domain's decayed third-party intent
  (int_intent_signals_decayed), 0 without signals; kept apart from
  intent_score, which stays the sum of the people's first-party intent.
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

titles as (

    select * from {{ ref('int_person_titles') }}

),

intent_signals as (

    select * from {{ ref('int_intent_signals_decayed') }}

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
                then lower(coalesce(titles.crm_title, titles.identify_title))
        end) as engaged_roles,
        count(distinct case
            when person_scores.engagement_score >= {{ var('engaged_person_min_score') }}
                and people.seniority is not null
                and people.department is not null
                then people.seniority || '/' || people.department
        end) as committee_roles

    from people
    inner join person_scores on people.person_id = person_scores.person_id
    left join titles on people.person_id = titles.person_id
    where people.account_id is not null
    group by 1

),

committees as (

    select
        accounts.account_id,
        coalesce(rolled_up.committee_roles, 0) as committee_roles

    from accounts
    left join rolled_up on accounts.account_id = rolled_up.account_id

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
        coalesce(rolled_up.engaged_roles, 0) as engaged_roles,
        committees.committee_roles,
        cast(least(committees.committee_roles, {{ var('buying_committee_min_roles') }}) as double)
            / {{ var('buying_committee_min_roles') }} as committee_coverage,
        case
            when committees.committee_roles < {{ var('buying_committee_min_roles') }} then 'below_range'
            when committees.committee_roles > {{ var('buying_committee_max_roles') }} then 'above_range'
            else 'in_range'
        end as committee_status,
        accounts.technographic_fit_points,
        cast(coalesce(intent_signals.intent_score, 0) as double) as third_party_intent_score,
        intent_signals.top_topic as third_party_intent_topic

    from accounts
    cross join build
    inner join committees on accounts.account_id = committees.account_id
    left join rolled_up on accounts.account_id = rolled_up.account_id
    left join intent_signals on accounts.domain = intent_signals.account_domain

)

select * from final
