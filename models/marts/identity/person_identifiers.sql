{#-
  CONTRACT person_identifiers: one row per (identifier_type, identifier_value)
  that belongs to a person, with its stable person_id (docs/identity.md).
  Junk and shared values belong to nobody and are not here; their links are in
  identity_rejected_edges. Emails (var direct_identifier_types) are published
  as sha256 unless var publish_direct_identifiers is true (docs/privacy.md).
  Incremental on DuckDB, by difference: a build writes only the rows that are
  new or differ from the table's (an identifier seen again, a person merged or
  split, the publish var changed), replacing the rows of the same identifier
  (delete+insert), and a post-hook deletes the identifiers that no longer
  belong to anyone (erased, now junk or shared, retained no more). So the
  table equals a rebuild, and its primary key index is not built again over
  every identifier each build. A table on Spark.
-#}
{{ customer_segments.after_quality_gate() }}
{{ config(
    materialized=('table' if target.type == 'spark' else 'incremental'),
    incremental_strategy='delete+insert',
    unique_key=['identifier_type', 'identifier_value'],
    on_schema_change='fail',
    post_hook="{{ customer_segments.forget_identifiers_gone(this, ref('int_identity_person_ids')) if is_incremental() else '' }}",
) }}

with

person_ids as (

    select * from {{ ref('int_identity_person_ids') }}

),

final as (

    select
        person_id,
        identifier_type,
        {{ customer_segments.published_identifier('identifier_type', 'identifier_value') }} as identifier_value,
        first_seen_at,
        last_seen_at

    from person_ids

)

select * from final
{%- if is_incremental() %}
-- only the rows that are new or changed (the post-hook deletes the identifiers gone)
except
select person_id, identifier_type, identifier_value, first_seen_at, last_seen_at from {{ this }}
{%- endif %}
