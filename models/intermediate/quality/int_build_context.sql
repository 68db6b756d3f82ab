{#-
  One row describing this build: its id, when it started (int_build_started), and `as_of`, the
  reference time every score and segment is computed at (var `as_of`, default:
  the latest usable event). Models cross join this instead of calling now(),
  so the same inputs and as_of always give the same outputs.
-#}
{{ customer_segments.after_quality_gate() }}

with

started as (

    select * from {{ ref('int_build_started') }}

),

events as (

    select * from {{ ref('int_events_deduplicated') }}

),

final as (

    -- one row, whatever the number of events: started has one row, as_of is a scalar
    select
        started.build_id,
        started.built_at,
        {%- if var('as_of') %}
        {{ customer_segments.timestamp_var('as_of') }} as as_of
        {%- else %}
        (select max(event_at) from events) as as_of
        {%- endif %}

    from started

)

select * from final
