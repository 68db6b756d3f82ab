{#- One row per raw erasure request: typed, with its quarantine or duplicate verdict. -#}

{%- set columns = ['subject_type', 'subject_value', 'requested_at'] %}

with

source as (

    {{ customer_segments.raw_table_rows(source('raw', 'erasure_requests'), ['subject_type', 'subject_value'], ['requested_at']) }}

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
        lower(trim(subject_type)) as subject_type,
        case
            when lower(trim(subject_type)) = 'email' then {{ customer_segments.clean_email('subject_value') }}
            else nullif(trim(subject_value), '')
        end as subject_value,
        not {{ customer_segments.is_blank('requested_at') }} as has_requested_at_text,
        {{ customer_segments.to_utc_timestamp('requested_at') }} as requested_at

    from source

),

checked as (

    select
        *,
        case
            when read_error is not null then read_error
            when has_extra_fields then 'too_many_fields'
            when subject_type is null or subject_type not in ('user_id', 'anonymous_id', 'email') then 'invalid_subject_type'
            when subject_value is null then 'missing_subject_value'
            when has_requested_at_text and requested_at is null then 'invalid_timestamp'
        end as quarantine_reason

    from typed

),

copies as (

    select
        *,
        row_number() over (
            partition by quarantine_reason is null, subject_type, subject_value
            order by requested_at, source_file, line_number
        ) as copy_number

    from checked

),

final as (

    select
        source_file,
        line_number,
        line_count,
        raw_row,
        subject_type,
        subject_value,
        requested_at,
        quarantine_reason,
        case when quarantine_reason is null and copy_number > 1 then 'duplicate_erasure_request' end as duplicate_reason

    from copies

)

select * from final
