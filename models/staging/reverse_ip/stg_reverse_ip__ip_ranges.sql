{#- One row per raw reverse-IP range: numeric bounds, with its quarantine or duplicate verdict. -#}

{%- set columns = ['range_start', 'range_end', 'account_domain'] %}

with

source as (

    {{ customer_segments.raw_table_rows(source('raw', 'ip_ranges'), columns) }}

),

typed as (

    select
        source_file,
        line_number,
        -- a record the reader could not split into fields (raw_table_rows: _read_error) keeps its text
        coalesce(_raw_text, {{ customer_segments.row_as_json(columns) }}) as raw_row,
        line_count,
        _read_error as read_error,
        _extra_fields is not null as has_extra_fields,
        trim(range_start) as range_start,
        trim(range_end) as range_end,
        {{ customer_segments.ipv4_to_number('range_start') }} as range_start_number,
        {{ customer_segments.ipv4_to_number('range_end') }} as range_end_number,
        nullif(lower(trim(account_domain)), '') as account_domain

    from source

),

checked as (

    select
        *,
        case
            when read_error is not null then read_error
            when has_extra_fields then 'too_many_fields'
            when range_start_number is null or range_end_number is null then 'invalid_ip'
            when range_end_number < range_start_number then 'invalid_ip_range'
            when account_domain is null then 'missing_account_domain'
        end as quarantine_reason

    from typed

),

copies as (

    select
        *,
        row_number() over (
            partition by quarantine_reason is null, range_start_number, range_end_number, account_domain
            order by source_file, line_number
        ) as copy_number

    from checked

),

final as (

    select
        source_file,
        line_number,
        line_count,
        raw_row,
        range_start,
        range_end,
        range_start_number,
        range_end_number,
        account_domain,
        quarantine_reason,
        case when quarantine_reason is null and copy_number > 1 then 'duplicate_ip_range' end as duplicate_reason

    from copies

)

select * from final
