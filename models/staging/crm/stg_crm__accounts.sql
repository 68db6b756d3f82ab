{#- One row per raw CRM account row: typed, with its quarantine or duplicate verdict.
    Several rows for one account_id are versions of it: the latest updated_at wins. -#}

{#- Incremental on DuckDB: an unchanged accounts input is not read again (macros/incremental_flat_inputs.sql); a table on Spark. -#}
{{ customer_segments.flat_staging_config('accounts') }}


{%- set columns = ['account_id', 'name', 'domain', 'industry', 'employee_count', 'annual_revenue', 'country', 'updated_at'] %}

with

source as (

    {{ customer_segments.raw_table_rows(source('raw', 'accounts'), ['account_id', 'domain'], ['name', 'industry', 'employee_count', 'annual_revenue', 'country', 'updated_at'], kept_when_unchanged=true) }}

),

typed as (

    select
        source_file,
        judged_with,
        line_number,
        -- a record the reader could not split into fields (raw_table_rows: _read_error) keeps its text
        coalesce(_raw_text, {{ customer_segments.row_as_json(columns) }}) as raw_row,
        line_count,
        _read_error as read_error,
        _extra_fields is not null as has_extra_fields,
        nullif(trim(account_id), '') as account_id,
        nullif(trim(name), '') as account_name,
        nullif(lower(trim(domain)), '') as domain,
        nullif(trim(industry), '') as industry,
        not {{ customer_segments.is_blank('employee_count') }} as has_employee_count_text,
        try_cast(trim(employee_count) as bigint) as employee_count,
        not {{ customer_segments.is_blank('annual_revenue') }} as has_annual_revenue_text,
        try_cast(trim(annual_revenue) as decimal(20, 2)) as annual_revenue,
        upper(nullif(trim(country), '')) as country,
        not {{ customer_segments.is_blank('updated_at') }} as has_updated_at_text,
        {{ customer_segments.to_utc_timestamp('updated_at') }} as updated_at

    from source

),

checked as (

    select
        *,
        case
            when read_error is not null then read_error
            when has_extra_fields then 'too_many_fields'
            when account_id is null then 'missing_account_id'
            when has_employee_count_text and (employee_count is null or employee_count < 0) then 'invalid_employee_count'
            when has_annual_revenue_text and (annual_revenue is null or annual_revenue < 0) then 'invalid_annual_revenue'
            when has_updated_at_text and updated_at is null then 'invalid_timestamp'
            {{ customer_segments.amount_range_check('employee_count', 'max_employee_count', 'employee_count_out_of_range') }}
            {{ customer_segments.amount_range_check('annual_revenue', 'max_annual_revenue', 'annual_revenue_out_of_range') }}
            {{ customer_segments.timestamp_range_checks('updated_at') }}
        end as quarantine_reason

    from typed

),

versions as (

    select
        *,
        row_number() over (
            partition by quarantine_reason is null, account_id
            order by updated_at desc nulls last, source_file desc, line_number desc
        ) as version_rank

    from checked

),

final as (

    select
        source_file,
        judged_with,
        line_number,
        line_count,
        raw_row,
        account_id,
        account_name,
        case when domain like 'www.%' then substr(domain, 5) else domain end as domain,
        industry,
        employee_count,
        annual_revenue,
        country,
        updated_at,
        quarantine_reason,
        case when quarantine_reason is null and version_rank > 1 then 'duplicate_account_id' end as duplicate_reason

    from versions

)

select * from final
