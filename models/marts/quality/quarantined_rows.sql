{#-
  Every raw row that could not be used, with why (CONTRACT: quarantined_rows).
  `raw` is the row as text: the JSON line for events, the row's fields as a
  JSON object for flat files. source_file and line_number point at the row.
-#}

with

{% for staged in customer_segments.staged_sources() %}
{{ staged.source }}_rejected as (

    select
        '{{ staged.source }}' as source,
        source_file,
        line_number,
        {{ staged.raw }} as raw,
        quarantine_reason as reason

    from {{ ref(staged.model) }}
    where quarantine_reason is not null

),
{% endfor %}

unioned as (
{% for staged in customer_segments.staged_sources() %}
    select * from {{ staged.source }}_rejected
    {% if not loop.last %}union all{% endif %}
{% endfor %}
),

final as (

    select
        source,
        raw,
        reason,
        cast('{{ run_started_at.strftime("%Y-%m-%d %H:%M:%S") }}' as timestamp) as quarantined_at,
        source_file,
        line_number

    from unioned

)

select * from final
