{#- One row per raw third-party intent signal (an account's domain researching a topic, scored 0-100), with its verdict.
    Incremental on DuckDB: an unchanged input is not read again (macros/incremental_flat_inputs.sql); a table on Spark. -#}
{{ customer_segments.flat_staging_config('intent_signals') }}


{%- set columns = ['account_domain', 'topic', 'score', 'observed_at'] %}

with

source as (

    {{ customer_segments.raw_table_rows(source('raw', 'intent_signals'), columns, kept_when_unchanged=true) }}

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
        -- a leading www. is the same domain (as accounts.domain drops it): before the copies are found
        case
            when lower(trim(account_domain)) like 'www.%' then nullif(substr(lower(trim(account_domain)), 5), '')
            else nullif(lower(trim(account_domain)), '')
        end as account_domain,
        nullif(trim(topic), '') as topic,
        try_cast(trim(score) as double) as score,
        not {{ customer_segments.is_blank('observed_at') }} as has_observed_at_text,
        {{ customer_segments.to_utc_timestamp('observed_at') }} as observed_at

    from source

),

checked as (

    select
        *,
        case
            when read_error is not null then read_error
            when has_extra_fields then 'too_many_fields'
            when account_domain is null then 'missing_account_domain'
            when topic is null then 'missing_topic'
            -- not a number, or outside the contract's 0-100 (NaN fails both comparisons)
            when score is null or not (score >= 0 and score <= 100) then 'invalid_score'
            when not has_observed_at_text then 'missing_observed_at'
            when observed_at is null then 'invalid_timestamp'
            {{ customer_segments.timestamp_range_checks('observed_at') }}
        end as quarantine_reason

    from typed

),

copies as (

    select
        *,
        row_number() over (
            partition by quarantine_reason is null, account_domain, lower(topic), observed_at
            order by score desc, source_file, line_number
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
        account_domain,
        topic,
        score,
        observed_at,
        quarantine_reason,
        case when quarantine_reason is null and copy_number > 1 then 'duplicate_intent_signal' end as duplicate_reason

    from copies

)

select * from final
