{#-
  `unique`, on the changed slice of an incremental table: every value that a
  row written in this build holds (its `stamp` column, a build's start or
  later, says so) occurs once in the whole table. Rows older than the build
  were checked by the build that wrote them, so a scheduled build pays for
  what it wrote, not for the history; a duplicate between a new row and an
  old one is still found. `dbt build --full-refresh` (and every first build,
  where every row is new) checks every value.
-#}
{% test unique_among_changed(model, column_name, stamp) %}
{%- set build_started = "cast('" ~ run_started_at.strftime('%Y-%m-%d %H:%M:%S.%f') ~ "' as timestamp)" %}
select
    {{ column_name }} as unique_field,
    count(*) as n_records

from {{ model }}
where {{ column_name }} is not null
{%- if not flags.FULL_REFRESH %}
    and {{ column_name }} in (select {{ column_name }} from {{ model }} where {{ stamp }} >= {{ build_started }})
{%- endif %}
group by {{ column_name }}
having count(*) > 1
{% endtest %}
