{#-
  build_audit_segments: one row per (build, segment): the hash of each
  segment definition (segments.definition_hash: md5 of a catalog model's SQL
  and meta.segment; for suggestions, of the id and rule) as every build saw
  it, with the segment's status. A long table rather than a JSON column of
  build_audit: "when did this segment's definition change?" is a plain
  filter and lag() in any BI tool, and it joins to segments by segment_id.
  Appended with build_audit (same build_id), same rules: full_refresh =
  false, no row for a build the gate stopped.
-#}
{{ config(
    materialized='incremental',
    incremental_strategy='append',
    full_refresh=false,
    on_schema_change='append_new_columns',
) }}

with

build as (

    select * from {{ ref('int_build_context') }}

),

segments as (

    select * from {{ ref('segments') }}

),

final as (

    select
        build.build_id,
        segments.segment_id,
        segments.status,
        segments.model_name,
        segments.definition_hash

    from segments
    cross join build

)

select * from final
{%- if is_incremental() %}
where build_id not in (select build_id from {{ this }})
{%- endif %}
