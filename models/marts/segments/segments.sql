{#- CONTRACT segments: one row per segment definition of the catalog, with its current member count. -#}

with

members as (

    select * from {{ ref('segment_members') }}

),

definitions as (
{% for model_name in customer_segments.segment_models() %}
    {%- set d = customer_segments.segment_definition(model_name) %}
    select
        '{{ d.get("segment_id", model_name) }}' as segment_id,
        {{ customer_segments.sql_string(d.get("name", model_name)) }} as name,
        '{{ d.get("entity_type", "person") }}' as entity_type,
        {{ customer_segments.sql_string(d.get("owner", "")) }} as owner,
        {{ customer_segments.sql_string(d.get("motion", "")) }} as motion,
        {{ customer_segments.sql_string(d.get("measurement_plan", "")) }} as measurement_plan,
        {{ d.get("review_cadence_days", 0) | int }} as review_cadence_days,
        cast('{{ d.get("last_reviewed_at", "1970-01-01") }}' as date) as last_reviewed_at,
        '{{ d.get("status", "draft") }}' as status,
        '{{ model_name }}' as model_name
    {% if not loop.last %}union all{% endif %}
{% endfor %}
),

member_counts as (

    select segment_id, count(*) as member_count
    from members
    group by 1

),

final as (

    select
        definitions.segment_id,
        definitions.name,
        definitions.entity_type,
        definitions.owner,
        definitions.motion,
        definitions.measurement_plan,
        definitions.review_cadence_days,
        definitions.last_reviewed_at,
        definitions.status,
        coalesce(member_counts.member_count, 0) as member_count,
        definitions.model_name

    from definitions
    left join member_counts on definitions.segment_id = member_counts.segment_id

)

select * from final
