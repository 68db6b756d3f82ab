{#-
  Product-usage milestones per person: when they were first active and when
  they first did an activation event (var activation_events, default
  Feature_Used); activated = that happened within var activation_window_days
  (30) of their first activity. Only events up to as_of count.
-#}
{{ customer_segments.after_quality_gate() }}

with

events as (

    select * from {{ ref('int_events_attributed') }}
    where person_id is not null

),

build as (

    select * from {{ ref('int_build_context') }}

),

firsts as (

    select
        events.person_id,
        min(events.event_at) as first_active_at,
        min(case when events.canonical_event in (
            {%- for name in var('activation_events') %}'{{ name }}'{% if not loop.last %}, {% endif %}{% endfor -%}
        ) then events.event_at end) as first_activation_at

    from events
    cross join build
    where events.event_at <= build.as_of
    group by 1

),

final as (

    select
        person_id,
        first_active_at,
        first_activation_at,
        coalesce(
            first_activation_at <= {{ dbt.dateadd('day', var('activation_window_days'), 'first_active_at') }},
            false
        ) as is_activated

    from firsts

)

select * from final
