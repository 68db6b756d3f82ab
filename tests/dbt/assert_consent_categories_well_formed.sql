{#-
  The category ids of seed consent_categories are read from an event's
  context.consent.categoryPreferences with the JSON path `$.<category_id>`
  (stg_segment__consent_preferences): an id with a space, dot or quote would
  be a different path and match nothing, so a refusal under it would be
  silently ignored. Each id must be letters, digits and `_`.
-#}
select category_id, purpose
from {{ ref('consent_categories') }}
where category_id is null
    or not {{ customer_segments.regex_matches('category_id', '^[A-Za-z0-9_]+$') }}
