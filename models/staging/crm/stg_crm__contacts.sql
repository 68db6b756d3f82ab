{#- One row per raw CRM contact row: typed, with its quarantine or duplicate verdict.
    Several rows for one contact_id are versions of it: the latest updated_at wins. -#}

{#- Incremental on DuckDB: an unchanged crm_contacts input is not read again (macros/incremental_flat_inputs.sql); a table on Spark. -#}
{{ customer_segments.flat_staging_config('crm_contacts') }}


{%- set columns = ['contact_id', 'email', 'title', 'account_id', 'email_status', 'updated_at'] %}

with

source as (

    {{ customer_segments.raw_table_rows(source('raw', 'crm_contacts'), ['contact_id', 'email'], ['title', 'account_id', 'email_status', 'updated_at'], kept_when_unchanged=true) }}

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
        nullif(trim(contact_id), '') as contact_id,
        {{ customer_segments.clean_email('email') }} as email,
        nullif(trim(title), '') as title,
        nullif(trim(account_id), '') as account_id,
        coalesce(lower(nullif(trim(email_status), '')), 'unknown') as email_status,
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
            when contact_id is null then 'missing_contact_id'
            when email is null then 'invalid_email'
            when email_status not in ('valid', 'bounced', 'unknown') then 'invalid_email_status'
            when has_updated_at_text and updated_at is null then 'invalid_timestamp'
            {{ customer_segments.timestamp_range_checks('updated_at') }}
        end as quarantine_reason

    from typed

),

versions as (

    select
        *,
        row_number() over (
            partition by quarantine_reason is null, contact_id
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
        contact_id,
        email,
        title,
        account_id,
        email_status,
        updated_at,
        quarantine_reason,
        case when quarantine_reason is null and version_rank > 1 then 'duplicate_contact_id' end as duplicate_reason

    from versions
    -- rows of people erased in earlier builds stay out (docs/privacy.md)
    where {{ customer_segments.not_erased('versions', [('crm_contact_id', 'contact_id'), ('email', 'email')]) }}

)

select * from final
