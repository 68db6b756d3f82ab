{{ config(severity='warn') }}
{#-
  The holdout is a hash-based random share (var holdout_share) of each segment. For a segment with
  at least 200 members the observed share should lie within holdout_share +- 3 standard errors,
  sqrt(p * (1 - p) / n); outside that (about 3 in 1000 by chance) the hashing or the salt is
  suspect. A warning, not an error: it is a statistical check.
-#}

{%- set p = var('holdout_share') | float %}

with

members as (

    select * from {{ ref('segment_members') }}

),

shares as (

    select
        segment_id,
        count(*) as members,
        sum(case when is_holdout then 1 else 0 end) as holdout_members,
        1.0 * sum(case when is_holdout then 1 else 0 end) / count(*) as holdout_share

    from members
    group by 1
    having count(*) >= 200

)

select
    segment_id,
    members,
    holdout_members,
    holdout_share,
    {{ p }} as expected_share,
    3 * sqrt({{ p }} * (1 - {{ p }}) / members) as tolerance

from shares
where abs(holdout_share - {{ p }}) > 3 * sqrt({{ p }} * (1 - {{ p }}) / members)
