{#-
  The terms of seed sensitive_attributes are matched as whole words by
  assert_segment_rules_use_no_sensitive_attributes, in texts reduced to
  lower-case letters, digits and `_`: a term in any other form (capitals,
  spaces, a hyphen) would never match and would protect nothing. Each term
  must be lower-case letters, digits and `_`, optionally ending in `*`.
-#}
select term, category, kind
from {{ ref('sensitive_attributes') }}
where term is null
    or not {{ customer_segments.regex_matches('term', '^[a-z0-9_]+[*]?$') }}
