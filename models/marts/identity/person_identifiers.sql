{#-
  CONTRACT person_identifiers: one row per (identifier_type, identifier_value)
  that belongs to a person, with its stable person_id (docs/identity.md).
  Junk and shared values belong to nobody and are not here; their links are in
  identity_rejected_edges. Emails (var direct_identifier_types) are published
  as sha256 unless var publish_direct_identifiers is true (docs/privacy.md).
-#}
{{ customer_segments.after_quality_gate() }}

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
