{#-
  Range checks for the flat inputs (orders, CRM, consent, email events), as
  stg_segment__events has them for events: `case` branches that quarantine a
  value no real record can have (docs/quality.md). A date in year 0001 or
  9999 would otherwise count as a real order and move every BG/NBD fit.
    timestamp_range_checks(column)  timestamp_too_old   before var min_valid_record_at
                                    timestamp_in_future later than the build's start + var max_clock_skew_hours
    amount_range_check(column, var_name, reason)  a number above var(var_name)
  A null value passes (its own check says whether null is allowed).
-#}
{% macro timestamp_range_checks(column) -%}
            when {{ column }} < {{ customer_segments.timestamp_var('min_valid_record_at') }}
                then 'timestamp_too_old'
            when {{ column }} > {{ dbt.dateadd(
                    'hour',
                    var('max_clock_skew_hours'),
                    "cast('" ~ run_started_at.strftime('%Y-%m-%d %H:%M:%S') ~ "' as timestamp)") }}
                then 'timestamp_in_future'
{%- endmacro %}

{% macro amount_range_check(column, var_name, reason) -%}
            when {{ column }} > {{ var(var_name) }}
                then '{{ reason }}'
{%- endmacro %}
