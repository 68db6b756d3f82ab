{#-
  One row per person with a job title: the title's seniority and department by
  seed job_title_keywords. The title is reduced to its lower-case words
  (macro title_words: 'Sr. Dir., Engineering' -> 'sr dir engineering'); each
  keyword matches as whole words. Per attribute the matching keyword of the
  highest rank decides; when keywords of that rank disagree ('VP Sales and
  Marketing': sales or marketing?) or nothing matches, the attribute is null:
  unknown, never a guess.
-#}

with

titles as (

    select * from {{ ref('int_person_titles') }}

),

keywords as (

    select * from {{ ref('job_title_keywords') }}

),

worded as (

    select
        person_id,
        title,
        {{ customer_segments.title_words('title') }} as title_words

    from titles

),

distinct_titles as (

    -- classified once per distinct title, not once per person: many people share a title
    select distinct title_words from worded

),

matched as (

    select
        distinct_titles.title_words,
        -- empty cells are null when seeded, but '' where a unit test reads the seed file
        nullif(trim(keywords.seniority), '') as seniority,
        keywords.seniority_rank,
        nullif(trim(keywords.department), '') as department,
        keywords.department_rank

    from distinct_titles
    inner join keywords
        on distinct_titles.title_words like '% ' || lower(trim(keywords.keyword)) || ' %'

),

seniority_ranked as (

    select
        title_words,
        seniority,
        dense_rank() over (partition by title_words order by seniority_rank desc) as rank_order

    from matched
    where seniority is not null

),

seniority_picked as (

    select
        title_words,
        case when count(distinct seniority) = 1 then max(seniority) end as seniority

    from seniority_ranked
    where rank_order = 1
    group by 1

),

department_ranked as (

    select
        title_words,
        department,
        dense_rank() over (partition by title_words order by department_rank desc) as rank_order

    from matched
    where department is not null

),

department_picked as (

    select
        title_words,
        case when count(distinct department) = 1 then max(department) end as department

    from department_ranked
    where rank_order = 1
    group by 1

),

final as (

    select
        worded.person_id,
        worded.title,
        trim(worded.title_words) as title_words,
        seniority_picked.seniority,
        department_picked.department

    from worded
    left join seniority_picked on worded.title_words = seniority_picked.title_words
    left join department_picked on worded.title_words = department_picked.title_words

)

select * from final
