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
  the retention cutoff. Step 1 takes the lines judged after the newest stamp
  the table holds when it runs, so it holds however often it runs. Both steps
  compare stamps with literals, so DuckDB skips the row groups of lines
  judged long ago.
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
{#- With `read_until_model` (a one-row model of `consumed_until`, built after `relation` in each build), the
    later of the two: a model whose rows are sparse (consent stated by few events, or none) would otherwise read
    every line judged since its newest row, all history when it has none. -#}
{% macro events_consumed_until(relation, read_until_model=none) -%}
    {%- set newest = none -%}
    {%- if execute -%}
        {%- set newest_sql = 'select max(judged_at) from ' ~ relation -%}
        {%- set mark = customer_segments.model_relation(read_until_model) if read_until_model else none -%}
        {%- if mark is not none -%}
            {%- set newest_sql = 'select greatest(coalesce((' ~ newest_sql ~ "), cast('1900-01-01' as timestamp)), "
                ~ "coalesce((select max(consumed_until) from " ~ mark ~ "), cast('1900-01-01' as timestamp)))" -%}
        {%- endif -%}
        {%- set newest = run_query('select cast((' ~ newest_sql ~ ') as varchar)').columns[0].values()[0] -%}
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
    {%- set old_versions = customer_segments.forget_lines_judged_again(events_relation) -%}
    {%- do run_query(customer_segments.delete_where(this, 'event_at < ' ~ customer_segments.retention_cutoff())) -%}
    {{ return(old_versions) }}
{%- endmacro %}

{#-
  Pre-hook of a model that keeps rows of judged event lines by their stamp
  (int_events_deduplicated, stg_segment__consent_preferences): delete its rows
  of lines judged after they were taken, and (the statement it returns) its
  rows of file versions staging no longer holds. Nothing on a full build.
  Every row holds a stamp no later than the newest one (`events_consumed_until`,
  read now), so a line judged after that stamp was judged after its row was
  taken: running this twice changes nothing. Matched by (file, line) with IN:
  DuckDB runs it as a semi-join on the few lines judged since, where the
  same test written as a correlated EXISTS with the stamps compared row by
  row took seconds at 2M events.
-#}
{% macro forget_lines_judged_again(events_relation, read_until_model=none) -%}
    {%- if not (execute and is_incremental()) -%}{{ return('') }}{%- endif -%}
    {%- set judged_again -%}
        (source_file, line_number) in (
            select source_file, line_number from {{ events_relation }}
            where judged_at > {{ customer_segments.events_consumed_until(this, read_until_model) }}
        )
    {%- endset -%}
    {%- do run_query(customer_segments.delete_where(this, judged_again)) -%}
    {{ return(customer_segments.forget_lines_of_old_file_versions(events_relation)) }}
{%- endmacro %}
