{#-
  One row per identifier seen in any usable input: a node of the identity graph,
  numbered (node_id) so the graph walk joins on integers, with when it was seen
  and whether it is junk (a placeholder or test value from the
  identity_junk_values seed, matched on the normalized value). Junk nodes stay
  here for the audit but never link anyone.
  node_id is the rank in (identifier_type, identifier_value) order:
  int_identity_person_ids orders by node_id where it means "type, then value".
-#}
{{ customer_segments.after_quality_gate() }}

with

{# each end of a sighting is read by its own import (a CTE read twice would be materialized whole first) #}
callers as (

    select identifier_type, identifier_value, sightings, first_seen_at, last_seen_at
    from {{ ref('int_identity_sightings') }}

),

partners as (

    select partner_type, partner_value, sightings, first_seen_at, last_seen_at
    from {{ ref('int_identity_sightings') }}
    where partner_value is not null

),

junk_values as (

    select * from {{ ref('identity_junk_values') }}

),

ends as (

    select identifier_type, identifier_value, sightings, first_seen_at, last_seen_at
    from callers

    union all

    select partner_type, partner_value, sightings, first_seen_at, last_seen_at
    from partners

),

identifiers as (

    select
        identifier_type,
        identifier_value,
        sum(sightings) as sightings,
        min(first_seen_at) as first_seen_at,
        max(last_seen_at) as last_seen_at

    from ends
    group by 1, 2

),

junk as (

    select distinct identifiers.identifier_type, identifiers.identifier_value
    from identifiers
    inner join junk_values
        on junk_values.identifier_type in ('*', identifiers.identifier_type)
        and lower(junk_values.identifier_value) = lower(identifiers.identifier_value)

),

final as (

    select
        row_number() over (order by identifiers.identifier_type, identifiers.identifier_value) as node_id,
        identifiers.identifier_type,
        identifiers.identifier_value,
        identifiers.sightings,
        identifiers.first_seen_at,
        identifiers.last_seen_at,
        junk.identifier_value is not null as is_junk

    from identifiers
    left join junk
        on identifiers.identifier_type = junk.identifier_type
        and identifiers.identifier_value = junk.identifier_value

)

select * from final
