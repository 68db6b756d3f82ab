{#-
  CONTRACT sync_log: one row per batch `segments sync` sends to a destination
  (customer_segments/activation, docs/activation.md). Rows are written only by
  sync, never by dbt: a batch is inserted as `pending` with its idempotency key
  (`batch`) before it is sent, and set to `delivered` in the transaction that
  moves the destination's cursor once the receiver acknowledged it (`failed`:
  its last attempt failed; the next sync sends it again with the same key).
  This model only keeps the table's shape, key and docs (it appends nothing).
  Append-only history: full_refresh = false, so no dbt build drops it. Like
  every model past staging it waits for the quality gate (a first build
  whose gate fails creates it at the next good build; sync runs only then).
-#}
{{ customer_segments.after_quality_gate() }}
{{ config(
    materialized='incremental',
    incremental_strategy='append',
    full_refresh=false,
    on_schema_change='fail',
) }}

with

final as (

    select
        cast(null as {{ dbt.type_string() }}) as destination,
        cast(null as {{ dbt.type_string() }}) as build_id,
        cast(null as {{ dbt.type_string() }}) as segment_id,
        cast(null as {{ dbt.type_string() }}) as batch,
        cast(null as integer) as entered,
        cast(null as integer) as exited,
        cast(null as {{ dbt.type_string() }}) as status,
        cast(null as timestamp) as synced_at,
        cast(null as integer) as attempts,
        cast(null as {{ dbt.type_string() }}) as region

)

select * from final
where 1 = 0
