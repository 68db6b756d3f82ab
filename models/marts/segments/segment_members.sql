{#-
  CONTRACT segment_members: one row per (segment_id, entity_id) of every active
  catalog segment. is_holdout marks a stable share (var holdout_share) of each
  segment by hashing entity and segment with a salt (var holdout_salt).
  Foundation pass: entered_at is this build's as_of; the segments issue keeps
  it across builds.
-#}

with

build as (

    select * from {{ ref('int_build_context') }}

),

{% for model_name in customer_segments.segment_models() %}
{%- set definition = customer_segments.segment_definition(model_name) %}
{{ model_name }}_members as (

    select
        '{{ definition.get("segment_id", model_name) }}' as segment_id,
        '{{ definition.get("entity_type", "person") }}' as entity_type,
        entity_id,
        score,
        cast('{{ definition.get("last_reviewed_at", "1970-01-01") }}' as date) as last_reviewed_at,
        '{{ definition.get("status", "draft") }}' as status

    from {{ ref(model_name) }}

),
{% endfor %}

unioned as (
{% for model_name in customer_segments.segment_models() %}
    select * from {{ model_name }}_members
    {% if not loop.last %}union all{% endif %}
{% endfor %}
),

final as (

    select
        unioned.segment_id,
        unioned.entity_type,
        unioned.entity_id,
        build.as_of as entered_at,
        unioned.last_reviewed_at,
        {{ customer_segments.stable_bucket("'" ~ var('holdout_salt') ~ "|' || unioned.segment_id || '|' || unioned.entity_id") }}
            < {{ (var('holdout_share') * 10000) | int }} as is_holdout,
        unioned.score

    from unioned
    cross join build
    where unioned.status = 'active'

)

select * from final
