{#-
  Every raw row that could not be used, with why (docs/contract.md, Outputs: quarantined_rows).
  `raw` is the row as text: the JSON line for events, the row's fields as a
  JSON object for flat files. source_file and line_number point at the row.
  quarantined_at is when the row's file was last written (its modification
  time, UTC): when the bad row arrived. It is a fact of the data, not of the
  build, so rebuilding the same files keeps it (a file rewritten in place gets
  its new time). The files are listed without reading them, as incremental
  staging does (raw_file_versions: '<size>:<epoch seconds>').
  Incremental on DuckDB for the event lines (macros/incremental_quarantine.sql):
  their raw lines are most of the bytes of stg_segment__events, and the rejected
  ones lie in every row group, so reading them took 5-7 s of every build at 10M
  events. A build keeps the event rows whose line staging still rejects for the
  same reason in the same file version, and reads the raw lines of the others
  only; the flat inputs' rows are small and taken whole every build. A table on Spark.
-#}
{{ config(
    materialized=('table' if target.type == 'spark' else 'incremental'),
    incremental_strategy='append',
    on_schema_change='append_new_columns',
    pre_hook="{{ customer_segments.forget_quarantined_changed(ref('stg_segment__events')) }}",
) }}

{%- set file_times = [] -%}
{%- for path, version in customer_segments.raw_file_versions('**/*') -%}
    {%- do file_times.append((customer_segments.relative_source_file(path),
        (modules.datetime.datetime(1970, 1, 1) + modules.datetime.timedelta(seconds=version.split(':')[-1] | int)).strftime('%Y-%m-%d %H:%M:%S'))) -%}
{%- endfor %}

with

started as (

    select * from {{ ref('int_build_started') }}

),

file_times as (

    {%- for source_file, modified_at in file_times %}
    select {{ customer_segments.sql_string(source_file) }} as source_file, cast('{{ modified_at }}' as timestamp) as modified_at
    {% if not loop.last %}union all{% endif %}
    {%- else %}
    select cast(null as {{ dbt.type_string() }}) as source_file, cast(null as timestamp) as modified_at
    {%- endfor %}

),

{% for staged in customer_segments.staged_sources() %}
{%- if staged.source == 'events' and is_incremental() %}
events_missing as (

    -- the rejected lines the table does not hold (the pre-hook deleted every row staging changed):
    -- found on the short columns, so the raw lines below are read only where they are (the join
    -- passes these keys' range down to the scan)
    select staged.source_file, staged.line_number
    from {{ ref(staged.model) }} as staged
    where staged.quarantine_reason is not null
        and not exists (
            select 1 from {{ this }} as held
            where held.source = 'events'
                and held.source_file = staged.source_file
                and held.line_number = staged.line_number
        )

),

events_rejected as (

    select
        'events' as source,
        staged.source_file,
        staged.source_file_version,
        staged.line_number,
        staged.{{ staged.raw }} as raw,
        staged.quarantine_reason as reason

    from {{ ref(staged.model) }} as staged
    inner join events_missing
        on staged.source_file = events_missing.source_file
        and staged.line_number = events_missing.line_number
    where staged.quarantine_reason is not null

),
{%- else %}
{{ staged.source }}_rejected as (

    select
        '{{ staged.source }}' as source,
        source_file,
        {{ 'source_file_version' if staged.source == 'events' else 'cast(null as ' ~ dbt.type_string() ~ ')' }} as source_file_version,
        line_number,
        {{ staged.raw }} as raw,
        quarantine_reason as reason

    from {{ ref(staged.model) }}
    where quarantine_reason is not null

),
{%- endif %}
{% endfor %}

unioned as (
{% for staged in customer_segments.staged_sources() %}
    select * from {{ staged.source }}_rejected
    {% if not loop.last %}union all{% endif %}
{% endfor %}
),

final as (

    select
        unioned.source,
        unioned.raw,
        unioned.reason,
        -- a file the listing missed (none should be) falls back to the build's start
        coalesce(file_times.modified_at, started.built_at) as quarantined_at,
        unioned.source_file,
        unioned.line_number,
        unioned.source_file_version

    from unioned
    left join file_times
        on unioned.source_file = file_times.source_file
    cross join started

)

select * from final
