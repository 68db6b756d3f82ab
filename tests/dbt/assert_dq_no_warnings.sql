{{ config(severity='warn') }}
{#-
  Data-quality checks with severity warn that did not pass in this build: the
  build goes on, and dbt reports this test as WARN with their number. The
  build summary and dq_results name them and their observed values.
-#}

select expectation, observed_value, threshold
from {{ ref('int_dq_checks') }}
where not success
    and severity = 'warn'
