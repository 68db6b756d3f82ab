{#- One row per raw email event row (ESP export): typed, with its quarantine or duplicate verdict. -#}

{#- Incremental on DuckDB: an unchanged email_events input is not read again (macros/incremental_flat_inputs.sql); a table on Spark. -#}
{{ customer_segments.flat_staging_config('email_events') }}


{%- set columns = ['email_event_id', 'email', 'campaign_id', 'event_type', 'occurred_at', 'url'] %}

with

source as (

    {{ customer_segments.raw_table_rows(source('raw', 'email_events'), ['email_event_id', 'email', 'event_type', 'occurred_at'], ['campaign_id', 'url'], kept_when_unchanged=true) }}

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
        nullif(trim(email_event_id), '') as email_event_id,
        {{ customer_segments.clean_email('email') }} as email,
        nullif(trim(campaign_id), '') as campaign_id,
        lower(trim(event_type)) as event_type,
        {{ customer_segments.to_utc_timestamp('occurred_at') }} as occurred_at,
        nullif(trim(url), '') as url

    from source

),

checked as (

    select
        *,
        case
            when read_error is not null then read_error
            when has_extra_fields then 'too_many_fields'
            when email_event_id is null then 'missing_email_event_id'
            when email is null then 'invalid_email'
            when event_type is null
                or event_type not in ('delivered', 'open', 'click', 'bounce', 'unsubscribe', 'spam')
                then 'invalid_event_type'
            when occurred_at is null then 'invalid_timestamp'
            {{ customer_segments.timestamp_range_checks('occurred_at') }}
        end as quarantine_reason

    from typed

),

copies as (

    select
        *,
        row_number() over (
            partition by quarantine_reason is null, email_event_id
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
        email_event_id,
        email,
        campaign_id,
        event_type,
        occurred_at,
        url,
        quarantine_reason,
        case when quarantine_reason is null and copy_number > 1 then 'duplicate_email_event_id' end as duplicate_reason

    from copies
    -- rows of people erased in earlier builds stay out (docs/privacy.md)
    where {{ customer_segments.not_erased('copies', [('email', 'email')]) }}

)

select * from final
