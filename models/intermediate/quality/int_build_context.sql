{#-
  One row describing this build: its id, when it started, and `as_of`, the
  reference time every score and segment is computed at (var `as_of`, default:
  the latest usable event). Models cross join this instead of calling now(),
  so the same inputs and as_of always give the same outputs.
-#}
{{ customer_segments.after_quality_gate() }}

with

events as (

    select * from {{ ref('int_events_deduplicated') }}

),

final as (

    -- one row, whatever the number of events: no FROM but the scalar subquery
    select
        '{{ invocation_id }}' as build_id,
        cast('{{ run_started_at.strftime("%Y-%m-%d %H:%M:%S") }}' as timestamp) as built_at,
        {%- if var('as_of') %}
        cast('{{ var("as_of") }}' as timestamp) as as_of
        {%- else %}
        (select max(event_at) from events) as as_of
        {%- endif %}

)

select * from final
