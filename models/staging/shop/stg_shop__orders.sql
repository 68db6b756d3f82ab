{#- One row per raw order row: typed, with its quarantine or duplicate verdict. -#}

{#- Incremental on DuckDB: an unchanged orders input is not read again (macros/incremental_flat_inputs.sql); a table on Spark. -#}
{{ customer_segments.flat_staging_config('orders') }}


{%- set columns = ['order_id', 'user_id', 'email', 'amount', 'currency', 'ordered_at', 'status'] %}

with

source as (

    {{ customer_segments.raw_table_rows(source('raw', 'orders'), ['order_id', 'amount', 'ordered_at', 'status'], ['user_id', 'email', 'currency'], kept_when_unchanged=true) }}

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
        nullif(trim(order_id), '') as order_id,
        nullif(trim(user_id), '') as user_id,
        {{ customer_segments.clean_email('email') }} as email,
        not {{ customer_segments.is_blank('email') }} as has_email_text,
        try_cast(trim(amount) as decimal(18, 2)) as amount,
        upper(nullif(trim(currency), '')) as currency,
        {{ customer_segments.to_utc_timestamp('ordered_at') }} as ordered_at,
        lower(trim(status)) as status

    from source

),

checked as (

    select
        *,
        case
            when read_error is not null then read_error
            when has_extra_fields then 'too_many_fields'
            when order_id is null then 'missing_order_id'
            when has_email_text and email is null then 'invalid_email'
            when user_id is null and email is null then 'missing_identifier'
            when amount is null then 'invalid_amount'
            when amount < 0 then 'negative_amount'
            {{ customer_segments.amount_range_check('amount', 'max_order_amount', 'amount_out_of_range') }}
            when status is null or status not in ('completed', 'refunded', 'cancelled') then 'invalid_status'
            when ordered_at is null then 'invalid_timestamp'
            {{ customer_segments.timestamp_range_checks('ordered_at') }}
        end as quarantine_reason

    from typed

),

copies as (

    select
        *,
        row_number() over (
            partition by quarantine_reason is null, order_id
            order by source_file, line_number
        ) as copy_number

    from checked

),

final as (

    select
        source_file,
        judged_with,
        line_number,
        line_count,
        raw_row,
        order_id,
        user_id,
        email,
        amount,
        currency,
        ordered_at,
        status,
        quarantine_reason,
        case when quarantine_reason is null and copy_number > 1 then 'duplicate_order_id' end as duplicate_reason

    from copies
    -- rows of people erased in earlier builds stay out (docs/privacy.md)
    where {{ customer_segments.not_erased('copies', [('user_id', 'user_id'), ('email', 'email')]) }}

)

select * from final
