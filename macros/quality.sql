{#-
  Put in every model that reads staged data for identity, scores or segments:
  it makes the model depend on the data-quality gate, so a failed gate stops
  it (and everything after it) from being rebuilt. A test checks that no
  model after staging escapes the gate.
-#}
{% macro after_quality_gate() -%}
-- depends_on: {{ ref('int_dq_gate') }}
{%- endmacro %}

