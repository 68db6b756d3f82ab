{#-
  A raw row has exactly one verdict: usable, duplicate or quarantined. A row with both a
  quarantine_reason and a duplicate_reason would be counted twice by the row accounting.
  Checks every staging model of macro staged_sources(), so a new input is covered when it is added there.
-#}

{% for staged in customer_segments.staged_sources() %}
select
    '{{ staged.source }}' as source,
    source_file,
    line_number,
    quarantine_reason,
    duplicate_reason
from {{ ref(staged.model) }}
where quarantine_reason is not null
    and duplicate_reason is not null
{% if not loop.last %}union all{% endif %}
{% endfor %}
