{#-
  The record that erasures happened, without what was erased: one row per
  erased identifier, as a salted sha256 (macro erasure_hash, var
  erasure_salt) of its type and normalized value, with when it was requested
  and erased. Staging reads it to suppress rows of erased people that arrive
  later (macro not_erased), so a reload of old events stays erased.
  Append-only history: full_refresh = false.
-#}
{{ config(
    materialized='incremental',
    incremental_strategy='append',
    full_refresh=false,
    on_schema_change='fail',
) }}

with

targets as (

    select * from {{ ref('int_erasure_targets') }}
    where identifier_type <> 'person_id'

),

hashed as (

    select
        identifier_type,
        {{ customer_segments.erasure_hash('identifier_type', 'identifier_value') }} as identifier_hash,
        min(requested_at) as requested_at

    from targets
    group by 1, 2

),

final as (

    select
        hashed.identifier_type,
        hashed.identifier_hash,
        hashed.requested_at,
        cast('{{ run_started_at.strftime("%Y-%m-%d %H:%M:%S") }}' as timestamp) as erased_at,
        '{{ invocation_id }}' as build_id

    from hashed
    {%- if is_incremental() %}
    where hashed.identifier_hash not in (select identifier_hash from {{ this }})
    {%- endif %}

)

select * from final
