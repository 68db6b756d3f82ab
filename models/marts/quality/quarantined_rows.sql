{#-
  Every raw row that could not be used, with why (docs/contract.md, Outputs: quarantined_rows).
  `raw` is the row as text: the JSON line for events, the row's fields as a
  JSON object for flat files. source_file and line_number point at the row.
  quarantined_at is when the row's file was last written (its modification
  time, UTC): when the bad row arrived. It is a fact of the data, not of the
  build, so rebuilding the same files keeps it (a file rewritten in place gets
  its new time). The files are listed without reading them, as incremental
  staging does (raw_file_versions: '<size>:<epoch seconds>').
-#}

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
{{ staged.source }}_rejected as (

    select
        '{{ staged.source }}' as source,
        source_file,
        line_number,
        {{ staged.raw }} as raw,
        quarantine_reason as reason

    from {{ ref(staged.model) }}
    where quarantine_reason is not null

),
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
        unioned.line_number

    from unioned
    left join file_times
        on unioned.source_file = file_times.source_file
    cross join started

)

select * from final
