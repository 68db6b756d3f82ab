{#- One row per raw consent record: typed, with its quarantine or duplicate verdict. -#}

{#- Incremental on DuckDB: an unchanged consent input is not read again (macros/incremental_flat_inputs.sql); a table on Spark. -#}
{{ customer_segments.flat_staging_config('consent') }}


{%- set columns = ['subject_type', 'subject_value', 'purpose', 'granted', 'recorded_at'] %}

with

source as (

    {{ customer_segments.raw_table_rows(source('raw', 'consent'), columns, kept_when_unchanged=true) }}

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
        lower(trim(subject_type)) as subject_type,
        case
            when lower(trim(subject_type)) = 'email' then {{ customer_segments.clean_email('subject_value') }}
            else nullif(trim(subject_value), '')
        end as subject_value,
        lower(trim(purpose)) as purpose,
        {{ customer_segments.parse_boolean('granted') }} as is_granted,
        {{ customer_segments.to_utc_timestamp('recorded_at') }} as recorded_at

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
            when purpose is null or purpose not in ('analytics', 'marketing', 'personalization', 'data_sharing') then 'invalid_purpose'
            when is_granted is null then 'invalid_granted'
            when recorded_at is null then 'invalid_timestamp'
            {{ customer_segments.timestamp_range_checks('recorded_at') }}
        end as quarantine_reason

    from typed

),

copies as (

    select
        *,
        row_number() over (
            partition by quarantine_reason is null, subject_type, subject_value, purpose, is_granted, recorded_at
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
        subject_type,
        subject_value,
        purpose,
        is_granted,
        recorded_at,
        quarantine_reason,
        case when quarantine_reason is null and copy_number > 1 then 'duplicate_consent_record' end as duplicate_reason

    from copies
    -- rows of people erased in earlier builds stay out (docs/privacy.md)
    where {{ customer_segments.not_erased('copies', [('column:subject_type', 'subject_value')]) }}

)

select * from final
