{#-
  The map's name_key must already be in key form (lower-case letters and digits only, the same
  normalization stg_segment__events applies to raw names); a key like 'Page Viewed' would never match.
-#}

select
    message_type,
    name_key,
    {{ customer_segments.name_key('name_key') }} as expected_key

from {{ ref('event_name_map') }}
where name_key is not null
    and name_key <> {{ customer_segments.name_key('name_key') }}
