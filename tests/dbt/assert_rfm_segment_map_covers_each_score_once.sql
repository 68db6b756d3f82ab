{#-
  int_person_rfm left-joins the map on r_score and round((f_score + m_score) / 2), both 1-5.
  Each of the 25 pairs must match exactly one row: no match leaves a buyer without a segment,
  two matches duplicate the buyer's row.
-#}

with

scores as (

    {% for score in range(1, 6) %}
    select {{ score }} as score {% if not loop.last %}union all{% endif %}
    {% endfor %}

),

pairs as (

    select r.score as r_score, fm.score as fm_score
    from scores as r
    cross join scores as fm

),

matches as (

    select
        pairs.r_score,
        pairs.fm_score,
        count(segment_map.rfm_segment) as matching_rows

    from pairs
    left join {{ ref('rfm_segment_map') }} as segment_map
        on pairs.r_score between segment_map.r_score_min and segment_map.r_score_max
        and pairs.fm_score between segment_map.fm_score_min and segment_map.fm_score_max
    group by 1, 2

)

select * from matches
where matching_rows <> 1
