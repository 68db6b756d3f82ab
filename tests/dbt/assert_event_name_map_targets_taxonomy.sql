{#- Every canonical_event the name map points to must exist in the taxonomy, else its events silently score nothing. -#}

select
    name_map.message_type,
    name_map.name_key,
    name_map.canonical_event

from {{ ref('event_name_map') }} as name_map
left join {{ ref('event_taxonomy') }} as taxonomy
    on name_map.canonical_event = taxonomy.canonical_event
where taxonomy.canonical_event is null
