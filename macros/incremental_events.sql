{#-
  How the usable events (int_events_deduplicated) follow the judged lines
  (stg_segment__events) without a pass over all history.

  stg_segment__events stamps every line it judges with `judged_at`: the start
  of the build that judged it, and always later than any line it judged
  before (a clock set back cannot reuse an old stamp). An incremental build of
  int_events_deduplicated then:
  1. deletes (pre-hook `forget_events_judged_again`) its rows of lines judged
     since its newest `judged_at`, its rows of file versions staging no longer
     holds (files deleted or rewritten), and its rows older than the retention
     cutoff (as_of moved on);
  2. appends the usable lines among those judged since, and the usable lines
     older than its oldest row that are inside the retention window (as_of or
     retention_days moved back).
  Step 2 reads the newest stamp and the oldest event the table had before
  step 1 (`events_consumed_until`, `events_held_from`, rendered when dbt
  compiles the model, before its pre-hook runs), so every line is taken
  exactly once: a row step 1 deletes was judged again (taken again by its
  new stamp), is of a file version staging no longer holds, or is older than
  the retention cutoff. Step 1 compares each row with its own stamp, so it
  holds however often it runs. Both steps compare stamps with literals, so
  DuckDB skips the row groups of lines judged long ago.
-#}

{#- The judged_at stamp of the lines stg_segment__events judges in this build. -#}
{% macro judged_at_value() -%}
    {%- set started = "cast('" ~ run_started_at.strftime('%Y-%m-%d %H:%M:%S.%f') ~ "' as timestamp)" -%}
    {%- if is_incremental() -%}
        greatest({{ started }}, coalesce(
            (select {{ dbt.dateadd('second', 1, 'max(judged_at)') }} from {{ this }}), {{ started }}))
    {%- else -%}
        {{ started }}
    {%- endif -%}
{%- endmacro %}

{#- SQL literal: the newest judged_at the incremental model `relation` holds (a time before any build when it is empty). -#}
{% macro events_consumed_until(relation) -%}
    {%- set newest = none -%}
    {%- if execute -%}
        {%- set newest = run_query('select cast(max(judged_at) as varchar) from ' ~ relation).columns[0].values()[0] -%}
    {%- endif -%}
    {{ return("cast('" ~ (newest or '1900-01-01 00:00:00') ~ "' as timestamp)") }}
{%- endmacro %}

{#- SQL literal: the oldest event_at the incremental model `relation` holds; none when it is empty. -#}
{% macro events_held_from(relation) -%}
    {%- set oldest = none -%}
    {%- if execute -%}
        {%- set oldest = run_query('select cast(min(event_at) as varchar) from ' ~ relation).columns[0].values()[0] -%}
    {%- endif -%}
    {{ return(none if oldest is none else "cast('" ~ oldest ~ "' as timestamp)") }}
{%- endmacro %}

{#- Pre-hook of int_events_deduplicated: step 1 above. Nothing on a full build. -#}
{% macro forget_events_judged_again(events_relation) -%}
    {%- if not (execute and is_incremental()) -%}{{ return('') }}{%- endif -%}
    {#- a row whose line was judged after it was taken (a row's own stamp, so running this twice changes nothing) -#}
    {%- set judged_again -%}
        exists (
            select 1 from {{ events_relation }} as judged
            where judged.judged_at > {{ customer_segments.events_consumed_until(this) }}
                and judged.judged_at > {{ this }}.judged_at
                and judged.source_file = {{ this }}.source_file
                and judged.line_number = {{ this }}.line_number
        )
    {%- endset -%}
    {%- do run_query(customer_segments.delete_where(this, judged_again)) -%}
    {%- do run_query(customer_segments.delete_where(this, 'event_at < ' ~ customer_segments.retention_cutoff())) -%}
    {{ return(customer_segments.forget_lines_of_old_file_versions(events_relation)) }}
{%- endmacro %}
