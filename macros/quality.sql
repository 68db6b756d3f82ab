{#-
  Put in every model that reads staged data for identity, scores or segments:
  it makes the model depend on the data-quality gate, so a failed gate stops
  it (and everything after it) from being rebuilt. A test checks that no
  model after staging escapes the gate.
-#}
{% macro after_quality_gate() -%}
-- depends_on: {{ ref('int_dq_gate') }}
{%- endmacro %}


{#-
  A metric as text the way the Great Expectations suite writes observed values
  (customer_segments.quality.suite._text): whole numbers without decimals,
  others with 6 significant digits (Python's %g). For int_dq_checks in SQL.
-#}
{% macro dq_number_text(value) -%}
    {{ return(adapter.dispatch('dq_number_text', 'customer_segments')(value)) }}
{%- endmacro %}
{% macro default__dq_number_text(value) -%}
    case
        when {{ value }} = floor({{ value }}) and abs({{ value }}) < 1e15 then cast(cast({{ value }} as bigint) as {{ dbt.type_string() }})
        else printf('%.6g', {{ value }})
    end
{%- endmacro %}
{% macro spark__dq_number_text(value) -%}
    {#- Java's %g keeps trailing zeros (0.00841220): strip them, and a bare decimal point -#}
    case
        when {{ value }} is null then null
        when {{ value }} = floor({{ value }}) and abs({{ value }}) < 1e15 then cast(cast({{ value }} as bigint) as string)
        else regexp_replace(regexp_replace(format_string('%.6g', {{ value }}), '([.][0-9]*?)0+(e|$)', '$1$2'), '[.](e|$)', '$1')
    end
{%- endmacro %}
