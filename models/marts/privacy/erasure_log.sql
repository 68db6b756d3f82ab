{#-
  The record that erasures happened, without what was erased: one row per
  erased identifier, as a salted sha256 (macro erasure_hash) of its type and
  normalized value, with when it was requested and erased. Staging reads it to
  suppress rows of erased people that arrive later (macro not_erased), so a
  reload of old events stays erased: as source warehouse_state.erasure_log
  (models/staging/_warehouse_state__sources.yml), the table as it is when the
  build starts, since a ref from staging to this mart would be a cycle.
  Rows are appended only by the purge (macro purge_erased_people, on-run-end),
  in the transaction that deletes the person's data: a request is logged once
  its purge has committed, never before. This model only keeps the table's
  shape (it appends nothing); on-run-start creates it (macro ensure_erasure_log).
  Append-only history: full_refresh = false.
-#}
{{ config(
    materialized='incremental',
    incremental_strategy='append',
    full_refresh=false,
    on_schema_change='fail',
) }}

with

final as (

    select
        cast(null as {{ dbt.type_string() }}) as identifier_type,
        cast(null as {{ dbt.type_string() }}) as identifier_hash,
        cast(null as timestamp) as requested_at,
        cast(null as timestamp) as erased_at,
        cast(null as {{ dbt.type_string() }}) as build_id

)

select * from final
where 1 = 0
