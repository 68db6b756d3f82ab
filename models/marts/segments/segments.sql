{#-
  CONTRACT segments: one row per segment definition: every model of the
  catalog (macro segment_models(), whatever its status) with its current
  member count, plus the clusters of segment_suggestions as
  status 'suggested' (reviewed by a person before anyone promotes one into the
  catalog; they never have members). The catalog definitions are the models'
  meta.segment, gathered by macro segment_catalog(); definition_hash changes
  whenever a segment's SQL or meta does.
-#}

with

members as (

    select * from {{ ref('segment_members') }}

),

definitions as (
{%- for d in customer_segments.segment_catalog() %}

    select
        '{{ d.segment_id }}' as segment_id,
        {{ customer_segments.sql_string(d.name) }} as name,
        '{{ d.entity_type }}' as entity_type,
        {{ customer_segments.sql_string(d.owner) }} as owner,
        {{ customer_segments.sql_string(d.motion) }} as motion,
        {{ customer_segments.sql_string(d.measurement_plan) }} as measurement_plan,
        {{ d.review_cadence_days }} as review_cadence_days,
        cast('{{ d.last_reviewed_at }}' as date) as last_reviewed_at,
        '{{ d.status }}' as status,
        {{ d.priority }} as priority,
        {{ customer_segments.sql_string(d.goal) }} as goal,
        '{{ d.purpose }}' as purpose,
        '{{ d.lawful_basis }}' as lawful_basis,
        {{ customer_segments.sql_string(d.channels | join(',')) }} as channels,
        {{ d.high_value_micro_segment }} as high_value_micro_segment,
        '{{ d.model_name }}' as model_name,
        '{{ d.definition_hash }}' as definition_hash,
        {{ customer_segments.sql_string(d.description) }} as profile,
        cast(null as {{ dbt.type_string() }}) as suggested_rule
    {% if not loop.last %}union all{% endif %}
{%- endfor %}

),

suggestions as (

    select
        segment_id,
        name,
        entity_type,
        cast(null as {{ dbt.type_string() }}) as owner,
        cast(null as {{ dbt.type_string() }}) as motion,
        cast(null as {{ dbt.type_string() }}) as measurement_plan,
        cast(null as integer) as review_cadence_days,
        cast(null as date) as last_reviewed_at,
        status,
        cast(null as integer) as priority,
        cast(null as {{ dbt.type_string() }}) as goal,
        cast(null as {{ dbt.type_string() }}) as purpose,
        cast(null as {{ dbt.type_string() }}) as lawful_basis,
        cast(null as {{ dbt.type_string() }}) as channels,
        false as high_value_micro_segment,
        'segment_suggestions' as model_name,
        {{ dbt.hash("segment_id || '|' || suggested_rule") }} as definition_hash,
        profile || ' (' || cast(member_count as {{ dbt.type_string() }}) || ' people)' as profile,
        suggested_rule

    from {{ ref('segment_suggestions') }}

),

all_definitions as (

    select * from definitions
    union all
    select * from suggestions

),

member_counts as (

    select
        segment_id,
        count(*) as member_count,
        cast(sum(case when is_holdout then 1 else 0 end) as bigint) as holdout_count

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
        coalesce(member_counts.holdout_count, 0) as holdout_count,
        definitions.priority,
        definitions.goal,
        definitions.purpose,
        definitions.lawful_basis,
        definitions.channels,
        definitions.high_value_micro_segment,
        definitions.model_name,
        definitions.definition_hash,
        definitions.profile,
        definitions.suggested_rule

    from all_definitions as definitions
    left join member_counts on definitions.segment_id = member_counts.segment_id

)

select * from final
