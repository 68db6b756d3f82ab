{#-
  Who is in which active catalog segment at this build's as_of: one row per
  (segment_id, entity_id) of every model of the catalog whose status is
  'active' (drafts, retired and suggested segments reach nobody), and, for
  person segments, only people whose consent allows the segment's purpose:
  with lawful_basis 'consent' people who granted it (people.consent_<purpose>
  true), with 'legitimate_interest' everyone but people who refused or
  withdrew it (false); and, for person segments, nobody with a row of
  suppressions matching one of the segment's channels (meta channels) and its
  purpose ('all' matches any): unsubscribers leave email segments, people who
  refused analytics every segment, do-not-sell people ads segments. Each row has its
  ranking score, the segment's priority and last_reviewed_at, and the holdout flag: a stable
  hash bucket of salt|segment_id|entity_id below var holdout_share, so the
  same entity stays in or out of a segment's holdout across builds.
  segment_member_changes compares this with the previous build;
  segment_members adds when each member entered.
  A mart, not published (segment_members is the public table): the catalog
  rules it unions are marts, written against the published scores.
-#}

{%- set active = [] %}
{%- for definition in customer_segments.segment_catalog() if definition.status == 'active' %}
    {%- do active.append(definition) %}
{%- endfor %}

with

people as (

    select * from {{ ref('people') }}

),

suppressions as (

    select * from {{ ref('suppressions') }}

),

{% for definition in active %}
{{ definition.model_name }} as (

    select * from {{ ref(definition.model_name) }}

),

{% endfor -%}
{#- dbt sees every catalog model as a dependency, active or not (the list is static) -#}
{%- for model_name in customer_segments.segment_models() %}
-- depends_on: {{ ref(model_name) }}
{%- endfor %}

unioned as (
{%- for definition in active %}

    select
        '{{ definition.segment_id }}' as segment_id,
        '{{ definition.entity_type }}' as entity_type,
        cast(entity_id as {{ dbt.type_string() }}) as entity_id,
        cast(score as double) as score,
        {{ definition.priority }} as priority,
        cast('{{ definition.last_reviewed_at }}' as date) as last_reviewed_at

    from {{ definition.model_name }}
    {%- if definition.entity_type == 'person' %}
    inner join people on {{ definition.model_name }}.entity_id = people.person_id
    {%- if definition.lawful_basis == 'legitimate_interest' %}
    where coalesce(people.consent_{{ definition.purpose }}, true)
    {%- else %}
    where coalesce(people.consent_{{ definition.purpose }}, false)
    {%- endif %}
        and people.person_id not in (
            select person_id from suppressions
            where channel in ('all'{% for channel in definition.channels %}, {{ customer_segments.sql_string(channel) }}{% endfor %})
                and purpose in ('all', {{ customer_segments.sql_string(definition.purpose) }})
        )
    {%- endif %}
    {% if not loop.last %}union all{% endif %}
{%- endfor %}
{%- if not active %}

    select
        cast(null as {{ dbt.type_string() }}) as segment_id,
        cast(null as {{ dbt.type_string() }}) as entity_type,
        cast(null as {{ dbt.type_string() }}) as entity_id,
        cast(null as double) as score,
        cast(null as integer) as priority,
        cast(null as date) as last_reviewed_at
    where 1 = 0
{%- endif %}

),

final as (

    select
        segment_id,
        entity_type,
        entity_id,
        score,
        priority,
        last_reviewed_at,
        {{ customer_segments.stable_bucket("'" ~ var('holdout_salt') ~ "|' || segment_id || '|' || entity_id") }}
            < {{ (var('holdout_share') * 10000) | int }} as is_holdout

    from unioned

)

select * from final
