{#-
  Every keyword of seed job_title_keywords must be in word form (what macro title_words makes of
  a title: lower-case letters and digits, single spaces), else it never matches; and it must say
  something (a seniority or a department), each with a rank above 0, and a rank of 0 where it says none.
-#}

select
    keyword,
    seniority,
    seniority_rank,
    department,
    department_rank

from {{ ref('job_title_keywords') }}
where {{ customer_segments.title_words('keyword') }} <> ' ' || keyword || ' '
    or (seniority is null and department is null)
    or (seniority is null) <> (coalesce(seniority_rank, 0) = 0)
    or (department is null) <> (coalesce(department_rank, 0) = 0)
