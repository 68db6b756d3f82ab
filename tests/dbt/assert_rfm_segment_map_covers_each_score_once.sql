{#-
  int_person_rfm left-joins the map on r_score, f_score and m_score, each 1-5.
  Each of the 125 triples must match exactly one row: no match leaves a buyer without a segment,
  two matches duplicate the buyer's row.
-#}

with

scores as (

    {% for score in range(1, 6) %}
    select {{ score }} as score {% if not loop.last %}union all{% endif %}
    {% endfor %}

),

triples as (

    select r.score as r_score, f.score as f_score, m.score as m_score
    from scores as r
    cross join scores as f
    cross join scores as m

),

matches as (

    select
        triples.r_score,
        triples.f_score,
        triples.m_score,
        count(segment_map.rfm_segment) as matching_rows

    from triples
    left join {{ ref('rfm_segment_map') }} as segment_map
        on triples.r_score between segment_map.r_score_min and segment_map.r_score_max
        and triples.f_score between segment_map.f_score_min and segment_map.f_score_max
        and triples.m_score between segment_map.m_score_min and segment_map.m_score_max
    group by 1, 2, 3

)

select * from matches
where matching_rows <> 1
