{#-
  Row accounting per input: every raw row is exactly one of usable, duplicate
  or quarantined. A dbt test checks raw_rows = usable + duplicates + quarantined,
  and the build summary prints this table. raw_lines counts the physical
  lines the rows span: more than raw_rows when quoted CSV fields hold
  newlines, and spoiled_lines the lines that rows spoiled by an unbalanced
  quote (or other CSV error) swallowed beyond their first, which the gate
  judges (int_dq_metrics: <source>_spoiled_line_share).
-#}

with

{% for staged in customer_segments.staged_sources() %}
{{ staged.source }}_rows as (

    select
        '{{ staged.source }}' as source,
        count(*) as raw_rows,
        sum(case when quarantine_reason is null and duplicate_reason is null then 1 else 0 end) as usable_rows,
        sum(case when duplicate_reason is not null then 1 else 0 end) as duplicate_rows,
        sum(case when quarantine_reason is not null then 1 else 0 end) as quarantined_rows,
        count(distinct source_file) as files_read,
        sum({{ staged.lines }}) as raw_lines,
        sum(case when quarantine_reason in ('unbalanced_quote', 'malformed_csv') then {{ staged.lines }} - 1 else 0 end)
            as spoiled_lines

    from {{ ref(staged.model) }}

),
{% endfor %}

final as (
{% for staged in customer_segments.staged_sources() %}
    select
        source,
        raw_rows,
        coalesce(usable_rows, 0) as usable_rows,
        coalesce(duplicate_rows, 0) as duplicate_rows,
        coalesce(quarantined_rows, 0) as quarantined_rows,
        files_read,
        coalesce(raw_lines, 0) as raw_lines,
        coalesce(spoiled_lines, 0) as spoiled_lines
    from {{ staged.source }}_rows
    {% if not loop.last %}union all{% endif %}
{% endfor %}
)

select * from final
