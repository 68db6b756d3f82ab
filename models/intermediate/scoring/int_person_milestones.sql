{#-
  Product-usage milestones per person: when they were first active and when
  they first did an activation event (var activation_events, default
  Feature_Used); activated = that happened within var activation_window_days
  (30) of their first activity. Only events up to as_of count. Summed from
  each person's callers (int_events_per_caller), not from every event.
-#}
{{ customer_segments.after_quality_gate() }}

with

callers as (

    select * from {{ ref('int_events_per_caller') }}
    where events_by_as_of > 0

),

caller_people as (

    select
        coalesce(by_user.person_id, by_anonymous.person_id) as person_id,
        callers.first_event_by_as_of_at,
        callers.first_activation_at

    from callers
    {{ customer_segments.join_caller_person(ref('int_identity_person_ids')) }}

),

firsts as (

    select
        person_id,
        min(first_event_by_as_of_at) as first_active_at,
        min(first_activation_at) as first_activation_at

    from caller_people
    where person_id is not null
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
