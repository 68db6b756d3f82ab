{#-
  Everything to erase in this build, in plain text, for the purge that runs at
  the end of the build (macro purge_erased_people, on-run-end) and empties
  this table again. From each valid erasure request not erased before (its
  hash is not in erasure_log yet): the requested identifier, and, when the
  identity graph knows it, every identifier of the same person and every
  person id that person had before a merge (identity_person_merges).
-#}
{{ customer_segments.after_quality_gate() }}

{%- set log = customer_segments.erasure_log_relation() %}

with

requests as (

    select * from {{ ref('stg_privacy__erasure_requests') }}
    where quarantine_reason is null
        and duplicate_reason is null

),

identifiers as (

    select * from {{ ref('int_identity_person_ids') }}

),

merges as (

    select * from {{ ref('identity_person_merges') }}

),

requested as (

    select
        subject_type as identifier_type,
        case when subject_type = 'email' then lower(trim(subject_value)) else trim(subject_value) end as identifier_value,
        min(requested_at) as requested_at

    from requests
    group by 1, 2

),

new_requests as (

    select * from requested
    {%- if log is not none %}
    where {{ customer_segments.erasure_hash('identifier_type', 'identifier_value') }}
        not in (select identifier_hash from {{ log }})
    {%- endif %}

),

erased_people as (

    select
        identifiers.person_id,
        min(new_requests.requested_at) as requested_at

    from new_requests
    inner join identifiers
        on new_requests.identifier_type = identifiers.identifier_type
        and new_requests.identifier_value = identifiers.identifier_value
    group by 1

),

targets as (

    -- every identifier of an erased person
    select
        identifiers.person_id,
        identifiers.identifier_type,
        identifiers.identifier_value,
        erased_people.requested_at

    from erased_people
    inner join identifiers on erased_people.person_id = identifiers.person_id

    union all

    -- the requested identifiers themselves, also when the graph does not know them (yet)
    select
        cast(null as {{ dbt.type_string() }}) as person_id,
        identifier_type,
        identifier_value,
        requested_at

    from new_requests

    union all

    -- ids the person had before merges, which history tables may still hold
    select
        merges.old_person_id as person_id,
        'person_id' as identifier_type,
        merges.old_person_id as identifier_value,
        erased_people.requested_at

    from merges
    inner join erased_people on merges.new_person_id = erased_people.person_id

),

final as (

    select distinct
        person_id,
        identifier_type,
        identifier_value,
        requested_at

    from targets

)

select * from final
