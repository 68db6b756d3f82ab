{#-
  Data-quality warning: the predicted-purchases fit was withheld in whole or in part
  (person_scores.fit_status is not `fitted: ...`). The build goes on with null predictions (a small
  or oddly shaped purchase history must not fail a scheduled build); this says why, once per status.
-#}
{#- on Spark there are no predictions at all (no dbt Python models): nothing to warn about each build -#}
{{ config(severity='warn', enabled=target.type == 'duckdb') }}

select fit_status, count(*) as buyers
from {{ ref('person_scores') }}
where fit_status is not null
    and fit_status not like 'fitted: %'
group by fit_status
