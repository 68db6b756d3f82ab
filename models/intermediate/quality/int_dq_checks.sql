{{ config(enabled=target.type != 'duckdb') }}
{#-
  The data-quality suite in SQL, for engines where dbt cannot run the Great
  Expectations suite (a dbt Python model, python_models/intermediate/quality/int_dq_checks.py:
  DuckDB runs it, dbt-spark's session method cannot). Same expectations, names,
  severities and columns, one row per expectation, so dq_results and int_dq_gate
  read either: the metric checks judge int_dq_metrics against the dq_* vars
  (a null metric passes: not measurable in this build), the table checks count
  unexpected rows the way Great Expectations does (nulls are not unexpected,
  except for not_null; unique counts every copy of a repeated value).
  No data docs are written.
-#}

{%- set severity = var('dq_severity') %}
{%- set volume = var('dq_max_volume_change') | float %}
{#- (metric, minimum, maximum, description): the order and wording of customer_segments.quality.suite.metric_checks -#}
{%- set metric_checks = [
    ('events_usable_rows', 1, none, 'usable events in this build (the volume the next build compares with)'),
    ('events_identified_share_latest_day', var('dq_min_identified_share'), none, 'raw event lines of the newest day carrying an anonymousId or userId'),
    ('events_duplicate_rate', none, var('dq_max_duplicate_rate'), 'duplicate event lines / raw lines'),
    ('events_identified_share', var('dq_min_identified_share'), none, 'raw event lines with an anonymousId or userId'),
    ('events_unknown_name_share', none, var('dq_max_unknown_event_share'), 'usable events with a name the map does not know'),
    ('events_out_of_window_share', none, var('dq_max_out_of_window_share'), 'usable events outside the window around as_of'),
    ('events_duplicate_keys_after_dedup', none, 0, 'messageIds left twice after deduplication'),
    ('events_null_keys', none, 0, 'usable events without messageId or timestamp'),
    ('events_staleness_hours', none, var('dq_max_staleness_hours'), 'hours from the newest event to the build'),
    ('events_volume_change', -1 * volume, volume, 'usable events vs the previous build, relative'),
    ('crm_bounce_rate', none, var('dq_max_bounce_rate'), 'CRM contacts whose email bounced'),
    ('accounts_stale_firmographics_share', none, var('dq_max_stale_accounts_share'), 'priority accounts whose firmographics are older than dq_max_firmographics_age_days before as_of'),
    ('crm_contacts_stale_share', none, var('dq_max_stale_contacts_share'), 'CRM contacts not updated within dq_max_contact_age_days before as_of'),
] %}
{%- for source in ['events', 'orders', 'crm_contacts', 'accounts', 'email_events', 'consent', 'erasure_requests', 'ip_ranges', 'technographics', 'intent_signals'] %}
    {%- do metric_checks.append((source ~ '_quarantine_rate', none, var('dq_max_quarantine_rate'), source ~ ': quarantined / raw rows')) %}
{%- endfor %}
{%- for source in ['events', 'orders', 'crm_contacts', 'accounts', 'email_events', 'consent', 'erasure_requests', 'ip_ranges', 'technographics', 'intent_signals'] %}
    {%- do metric_checks.append((source ~ '_spoiled_line_share', none, var('dq_max_spoiled_line_share'), source ~ ': lines swallowed by rows an unbalanced quote spoiled / physical lines')) %}
{%- endfor %}

{#- (table, check, column, argument): the table checks of customer_segments.quality.suite, in its order -#}
{%- set message_types = ['track', 'page', 'screen', 'identify', 'alias', 'group'] %}
{%- set table_checks = [
    ('event_types', 'in_set', 'message_type', message_types),
    ('event_types', 'columns', none, (['message_type', 'canonical_event', 'events'], true)),
    ('orders', 'columns', none, (['order_id', 'user_id', 'email', 'amount', 'currency', 'ordered_at', 'status'], false)),
    ('orders', 'not_null', 'order_id', none),
    ('orders', 'unique', 'order_id', none),
    ('orders', 'in_set', 'status', ['completed', 'refunded', 'cancelled']),
    ('orders', 'at_least', 'amount', 0),
    ('orders', 'not_null', 'ordered_at', none),
    ('crm_contacts', 'not_null', 'contact_id', none),
    ('crm_contacts', 'unique', 'contact_id', none),
    ('crm_contacts', 'in_set', 'email_status', ['valid', 'bounced', 'unknown']),
    ('crm_contacts', 'regex', 'email', '^[^@\\s]+@[^@\\s]+$'),
    ('accounts', 'not_null', 'account_id', none),
    ('accounts', 'unique', 'account_id', none),
    ('accounts', 'at_least', 'employee_count', 0),
    ('email_event_types', 'in_set', 'event_type', ['delivered', 'open', 'click', 'bounce', 'unsubscribe', 'spam']),
    ('consent', 'in_set', 'purpose', ['analytics', 'marketing', 'personalization', 'data_sharing']),
    ('consent', 'in_set', 'subject_type', ['user_id', 'anonymous_id', 'email']),
    ('consent', 'not_null', 'recorded_at', none),
] %}
{%- set expectation_types = {
    'in_set': 'expect_column_values_to_be_in_set',
    'columns': 'expect_table_columns_to_match_set',
    'not_null': 'expect_column_values_to_not_be_null',
    'unique': 'expect_column_values_to_be_unique',
    'at_least': 'expect_column_values_to_be_between',
    'regex': 'expect_column_values_to_match_regex',
} %}
{%- set table_models = {
    'orders': 'int_orders_deduplicated',
    'crm_contacts': 'int_crm_contacts_deduplicated',
    'accounts': 'int_crm_accounts_deduplicated',
    'consent': 'int_consent_latest',
} %}


with

started as (

    select * from {{ ref('int_build_started') }}

),

metrics as (

    select * from {{ ref('int_dq_metrics') }}

),

event_types as (

    select message_type, canonical_event, count(*) as events
    from {{ ref('int_events_deduplicated') }}
    group by message_type, canonical_event

),

email_event_types as (

    select event_type, count(*) as email_events
    from {{ ref('int_email_events_deduplicated') }}
    group by event_type

),

{%- for name, model_name in table_models.items() %}

{{ name }} as (

    select * from {{ ref(model_name) }}

),
{%- endfor %}

metric_checks as (

    {%- for metric, minimum, maximum, description in metric_checks %}
    {%- if not loop.first %}
    union all
    {%- endif %}
    select
        {{ customer_segments.sql_string(metric) }} as metric,
        {{ customer_segments.sql_string(severity.get(metric, 'fail')) }} as severity,
        cast({{ 'null' if minimum is none else minimum | float }} as double) as minimum,
        cast({{ 'null' if maximum is none else maximum | float }} as double) as maximum,
        {%- if minimum is not none and maximum is not none %}
        {{ customer_segments.sql_string('between ' ~ '%g' | format(minimum | float) ~ ' and ' ~ '%g' | format(maximum | float)) }} as threshold,
        {%- elif minimum is not none %}
        {{ customer_segments.sql_string('>= ' ~ '%g' | format(minimum | float)) }} as threshold,
        {%- else %}
        {{ customer_segments.sql_string('<= ' ~ '%g' | format(maximum | float)) }} as threshold,
        {%- endif %}
        {{ customer_segments.sql_string(description) }} as description,
        {{ loop.index }} as check_order
    {%- endfor %}

),

metric_results as (

    select
        metric_checks.metric as expectation,
        metric_checks.severity,
        coalesce(
            (metric_checks.minimum is null or metrics.value >= metric_checks.minimum)
            and (metric_checks.maximum is null or metrics.value <= metric_checks.maximum),
            true
        ) as success,
        {{ customer_segments.dq_number_text('metrics.value') }} as observed_value,
        metric_checks.threshold,
        metric_checks.description
            || case when metrics.value is null then '; not measurable in this build' else '' end as details,
        metric_checks.check_order

    from metric_checks
    left join metrics
        on metrics.metric = metric_checks.metric

),

table_results as (

    {%- for table, check, column, argument in table_checks %}
    {%- if not loop.first %}
    union all
    {%- endif %}
    {%- set expectation = table ~ '.' ~ expectation_types[check] ~ ('(' ~ column ~ ')' if column else '') %}
    {%- set order = 100 + loop.index %}
    {%- if check == 'columns' %}
        {#- the table's columns, as the warehouse has them when this model runs -#}
        {%- set wanted, exact = argument %}
        {%- if table in table_models %}
            {%- set present = [] %}
            {%- if execute %}
                {%- for c in adapter.get_columns_in_relation(ref(table_models[table])) %}{%- do present.append(c.name | lower) %}{%- endfor %}
            {%- endif %}
        {%- else %}
            {%- set present = ['message_type', 'canonical_event', 'events'] %}
        {%- endif %}
        {%- set missing = wanted | reject('in', present) | list %}
        {%- set extra = present | reject('in', wanted) | list %}
    select
        {{ customer_segments.sql_string(expectation) }} as expectation,
        'fail' as severity,
        {{ 'true' if not missing and not (exact and extra) else 'false' }} as success,
        {{ customer_segments.sql_string("['" ~ present | sort | join("', '") ~ "']") }} as observed_value,
        {{ customer_segments.sql_string("column_set=['" ~ wanted | join("', '") ~ "']" ~ ('' if exact else ', exact_match=False')) }} as threshold,
        {{ customer_segments.sql_string(table ~ ': ') }} || cast(count(*) as {{ dbt.type_string() }}) || ' rows' as details,
        {{ order }} as check_order
    from {{ table }}
    {%- else %}
    select
        {{ customer_segments.sql_string(expectation) }} as expectation,
        'fail' as severity,
        coalesce(sum(is_unexpected), 0) = 0 as success,
        cast(coalesce(sum(is_unexpected), 0) as {{ dbt.type_string() }}) || ' unexpected of '
            || cast(count(*) as {{ dbt.type_string() }}) as observed_value,
        {%- if check == 'in_set' %}
        {{ customer_segments.sql_string("value_set=['" ~ argument | join("', '") ~ "']") }} as threshold,
        {%- elif check == 'at_least' %}
        {{ customer_segments.sql_string('min_value=' ~ (argument | float)) }} as threshold,
        {%- elif check == 'regex' %}
        {{ customer_segments.sql_string('regex=' ~ argument) }} as threshold,
        {%- else %}
        '' as threshold,
        {%- endif %}
        {{ customer_segments.sql_string(table ~ ': ') }} || cast(count(*) as {{ dbt.type_string() }}) || ' rows' as details,
        {{ order }} as check_order
    from (
        select
            case
                {%- if check == 'not_null' %}
                when {{ column }} is null then 1
                {%- elif check == 'in_set' %}
                when {{ column }} not in ({% for v in argument %}{{ customer_segments.sql_string(v) }}{{ ", " if not loop.last }}{% endfor %}) then 1
                {%- elif check == 'at_least' %}
                when {{ column }} < {{ argument }} then 1
                {%- elif check == 'regex' %}
                when not {{ customer_segments.regex_matches(column, argument) }} then 1
                {%- elif check == 'unique' %}
                when count(*) over (partition by {{ column }}) > 1 and {{ column }} is not null then 1
                {%- endif %}
                else 0
            end as is_unexpected
        from {{ table }}
    ) as judged
    {%- endif %}
    {%- endfor %}

),

final as (

    select
        started.build_id,
        started.built_at as checked_at,
        expectation,
        severity,
        success,
        observed_value,
        threshold,
        details

    from (
        select expectation, severity, success, observed_value, threshold, details, check_order from metric_results
        union all
        select expectation, severity, success, observed_value, threshold, details, check_order from table_results
    ) as results
    cross join started

)

select * from final
