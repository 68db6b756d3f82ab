{#-
  on-run-start: check the knobs (docs/knobs.md) before anything is built, and
  stop with one message listing every bad value and what it should be, instead
  of a cast error deep in a model or, worse, a build that runs with a share of
  10 meaning 10%. Each rule: (var, kind, lowest, highest); kinds are 'int',
  'number', 'share' (a number from lowest to highest, where 0.10 means 10%),
  'timestamp' (ISO-8601: 'YYYY-MM-DD', 'YYYY-MM-DD HH:MM[:SS[.f]]' with a space
  or a 'T', optionally with 'Z' or an offset such as +02:00, which is converted
  to UTC; null allowed for as_of; see utc_timestamp_text) and 'bool'. None
  means no bound.
-#}
{% macro var_rules() -%}
    {{ return([
        ('as_of', 'timestamp', none, none),
        ('min_valid_event_at', 'timestamp', none, none),
        ('min_valid_record_at', 'timestamp', none, none),
        ('max_order_amount', 'number', 0, none),
        ('max_employee_count', 'number', 0, none),
        ('max_annual_revenue', 'number', 0, none),
        ('max_clock_skew_hours', 'number', 0, none),
        ('double_fire_window_ms', 'int', 0, none),
        ('max_raw_line_bytes', 'int', 1024, 268435456),
        ('dq_max_quarantine_rate', 'share', 0, 1),
        ('dq_max_duplicate_rate', 'share', 0, 1),
        ('dq_min_identified_share', 'share', 0, 1),
        ('dq_max_unknown_event_share', 'share', 0, 1),
        ('dq_max_history_days', 'int', 1, none),
        ('dq_max_out_of_window_share', 'share', 0, 1),
        ('dq_max_bounce_rate', 'share', 0, 1),
        ('dq_max_staleness_hours', 'number', 0, none),
        ('dq_max_volume_change', 'number', 0, none),
        ('dq_max_spoiled_line_share', 'share', 0, 1),
        ('dq_min_rows_for_rates', 'int', 0, none),
        ('dq_max_firmographics_age_days', 'int', 1, none),
        ('dq_max_stale_accounts_share', 'share', 0, 1),
        ('dq_max_contact_age_days', 'int', 1, none),
        ('dq_max_stale_contacts_share', 'share', 0, 1),
        ('identity_max_user_ids_per_person', 'int', 1, none),
        ('account_reverse_ip_min_events', 'int', 1, none),
        ('identity_max_iterations', 'int', 1, none),
        ('lifecycle_new_days', 'int', 1, none),
        ('lifecycle_active_days', 'int', 1, none),
        ('lifecycle_dormant_days', 'int', 1, none),
        ('activation_window_days', 'int', 1, none),
        ('predictions_min_customers', 'int', 1, none),
        ('predictions_horizon_days', 'int', 1, none),
        ('engaged_person_min_score', 'number', 0, none),
        ('buying_committee_min_roles', 'int', 1, none),
        ('buying_committee_max_roles', 'int', 1, none),
        ('third_party_intent_half_life_days', 'number', 0.001, none),
        ('technographics_max_age_days', 'int', 1, none),
        ('segment_catalog_min_active', 'int', 0, none),
        ('segment_catalog_max_active', 'int', 1, none),
        ('segment_fit_min_score', 'number', 0, 100),
        ('segment_account_min_intent_score', 'number', 0, none),
        ('segment_recent_days', 'int', 1, none),
        ('segment_pricing_min_views', 'int', 1, none),
        ('segment_at_risk_max_p_alive', 'share', 0, 1),
        ('segment_top_customers_share', 'share', 0, 1),
        ('segment_pql_min_engagement_score', 'number', 0, none),
        ('segment_dormant_days', 'int', 1, none),
        ('segment_cart_recent_days', 'int', 1, none),
        ('segment_cart_abandon_hours', 'number', 0, none),
        ('segment_person_min_intent_score', 'number', 0, none),
        ('segment_max_overlap_share', 'share', 0, 1),
        ('holdout_share', 'share', 0, 0.5),
        ('lift_window_days', 'int', 1, none),
        ('lift_min_group_size', 'int', 1, none),
        ('lift_min_converters', 'int', 2, none),
        ('segment_suggestions_k_min', 'int', 2, none),
        ('segment_suggestions_k_max', 'int', 2, none),
        ('segment_suggestions_min_people', 'int', 1, none),
        ('segment_suggestions_seed', 'int', 0, none),
        ('publish_direct_identifiers', 'bool', none, none),
        ('retention_days', 'int', 1, none),
    ]) }}
{%- endmacro %}


{#- The problems of the current vars, one sentence each (empty when all are good). -#}
{% macro var_problems() -%}
    {%- set problems = [] -%}
    {%- for name, kind, lowest, highest in customer_segments.var_rules() -%}
        {%- set value = var(name, none) -%}
        {%- if kind == 'timestamp' -%}
            {%- if value is not none and customer_segments.utc_timestamp_text(value) is none -%}
                {%- do problems.append(name ~ " must be a date or timestamp like '2026-10-31' or '2026-10-31 23:59:59', got " ~ value
                    ~ " (ISO-8601 also with a T and an offset, '2026-10-31T23:59:59Z' or '2026-10-31T23:59:59+02:00', read as UTC)") -%}
            {%- endif -%}
        {%- elif kind == 'bool' -%}
            {%- if value is not boolean -%}
                {%- do problems.append(name ~ " must be true or false, got " ~ value) -%}
            {%- endif -%}
        {%- elif value is boolean or value is not number or (kind == 'int' and value | int != value) -%}
            {%- do problems.append(name ~ " must be " ~ ('a whole number' if kind == 'int' else 'a number') ~ ", got " ~ value) -%}
        {%- elif (lowest is not none and value < lowest) or (highest is not none and value > highest) -%}
            {%- set range = ('from ' ~ lowest ~ ' to ' ~ highest) if highest is not none else (lowest ~ ' or more') -%}
            {%- do problems.append(name ~ " must be " ~ range ~ ", got " ~ value
                ~ ("; it is a share: 0.10 means 10%" if kind == 'share' and value > 1 else '')) -%}
        {%- endif -%}
    {%- endfor -%}
    {#- the knobs that are mappings: identifier type -> limit, entity type -> size, check -> severity -#}
    {%- for name, lowest in [('identity_max_user_ids_per_value', 1), ('segment_min_members', 0)] -%}
        {%- set value = var(name, {}) -%}
        {%- if value is not mapping -%}
            {%- do problems.append(name ~ " must be a mapping like {email: 2}, got " ~ value) -%}
        {%- else -%}
            {%- for key, limit in value.items() if limit is boolean or limit is not number or limit | int != limit or limit < lowest -%}
                {%- do problems.append(name ~ "." ~ key ~ " must be a whole number, " ~ lowest ~ " or more, got " ~ limit) -%}
            {%- endfor -%}
        {%- endif -%}
    {%- endfor -%}
    {%- set severities = var('dq_severity', {}) -%}
    {%- if severities is not mapping -%}
        {%- do problems.append("dq_severity must be a mapping of check name to warn or fail, got " ~ severities) -%}
    {%- else -%}
        {%- for check, severity in severities.items() if severity not in ('warn', 'fail') -%}
            {%- do problems.append("dq_severity." ~ check ~ " must be warn or fail, got " ~ severity) -%}
        {%- endfor -%}
    {%- endif -%}
    {%- if var('event_input_shape', 'files') not in customer_segments.event_input_shapes() -%}
        {%- do problems.append("event_input_shape must be one of " ~ customer_segments.event_input_shapes() | join(', ')
            ~ ", got " ~ var('event_input_shape', 'files')) -%}
    {%- endif -%}
    {%- for name in ['source_freshness_warn_after_hours', 'source_freshness_error_after_hours'] -%}
        {%- set value = var(name, none) -%}
        {%- if value is not none and (value is boolean or value is not number or value <= 0) -%}
            {%- do problems.append(name ~ " must be a number of hours above 0, or null for no threshold, got " ~ value) -%}
        {%- endif -%}
    {%- endfor -%}
    {%- set pairs = [('lifecycle_active_days', 'lifecycle_dormant_days'), ('segment_catalog_min_active', 'segment_catalog_max_active'),
                     ('segment_suggestions_k_min', 'segment_suggestions_k_max'),
                     ('buying_committee_min_roles', 'buying_committee_max_roles')] -%}
    {%- for low, high in pairs -%}
        {%- set low_value, high_value = var(low, none), var(high, none) -%}
        {%- if low_value is number and high_value is number and low_value > high_value -%}
            {%- do problems.append(low ~ " (" ~ low_value ~ ") must not be above " ~ high ~ " (" ~ high_value ~ ")") -%}
        {%- endif -%}
    {%- endfor -%}
    {{ return(problems) }}
{%- endmacro %}


{% macro validate_vars() -%}
    {%- if execute -%}
        {%- set problems = customer_segments.var_problems() -%}
        {%- if problems -%}
            {{ exceptions.raise_compiler_error(
                "Invalid vars (defaults in dbt_project.yml, overrides from --vars):\n  - "
                ~ problems | join("\n  - ")
                ~ "\nFix them and build again; docs/knobs.md says what each one means.") }}
        {%- endif -%}
    {%- endif -%}
    {{ return('') }}
{%- endmacro %}


{#-
  A timestamp var (kind 'timestamp' above) as UTC text 'YYYY-MM-DD HH:MM:SS'
  (with '.ffffff' when it has fractions of a second), or none when it is not
  an ISO-8601 date or timestamp of a real day and time. Accepted: a date; a
  time after a space or a 'T', with minutes, optionally seconds and
  fractions; 'Z' or an offset (+02, +0200, +02:00), which is subtracted, so
  '2026-10-31T01:00:00+02:00' is '2026-10-30 23:00:00'. Without an offset the
  time is read as UTC (the project's time zone). YAML may hand a date or a
  datetime object instead of text: both read the same way.
-#}
{% macro utc_timestamp_text(value) -%}
    {%- set found = modules.re.match(
        '^(\\d{4})-(\\d{2})-(\\d{2})(?:[ T](\\d{2}):(\\d{2})(?::(\\d{2})(?:\\.(\\d+))?)?(Z|[+-]\\d{2}(?::?\\d{2})?)?)?$',
        (value | string).strip() | upper) -%}
    {%- if not found -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set year, month, day = found.group(1) | int, found.group(2) | int, found.group(3) | int -%}
    {%- set hour, minute, second = (found.group(4) or 0) | int, (found.group(5) or 0) | int, (found.group(6) or 0) | int -%}
    {%- set microsecond = ((found.group(7) or '') ~ '000000')[:6] | int -%}
    {%- set leap = year % 4 == 0 and (year % 100 != 0 or year % 400 == 0) -%}
    {%- set month_days = [31, 29 if leap else 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31] -%}
    {%- if year < 2 or year > 9998 or month < 1 or month > 12 or day < 1 or day > month_days[month - 1]
            or hour > 23 or minute > 59 or second > 59 -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set offset = (found.group(8) or 'Z').replace(':', '') -%}
    {%- set offset_minutes = 0 -%}
    {%- if offset != 'Z' -%}
        {%- set offset_hours, offset_rest = offset[1:3] | int, (offset[3:5] or 0) | int -%}
        {%- if offset_hours > 23 or offset_rest > 59 -%}
            {{ return(none) }}
        {%- endif -%}
        {%- set offset_minutes = (offset_hours * 60 + offset_rest) * (-1 if offset[0] == '-' else 1) -%}
    {%- endif -%}
    {%- set moment = modules.datetime.datetime(year, month, day, hour, minute, second, microsecond)
        - modules.datetime.timedelta(minutes=offset_minutes) -%}
    {{ return(moment.strftime('%Y-%m-%d %H:%M:%S' ~ ('.%f' if microsecond else ''))) }}
{%- endmacro %}


{#- A timestamp var as a SQL timestamp literal in UTC (see utc_timestamp_text), for models and macros. -#}
{% macro timestamp_var(name) -%}
    {%- set text = customer_segments.utc_timestamp_text(var(name)) -%}
    {%- if text is none and not execute -%}
        {#- parsing: validate_vars (on-run-start) reports a bad value with all the others -#}
        {%- set text = '1970-01-01 00:00:00' -%}
    {%- elif text is none -%}
        {{ exceptions.raise_compiler_error(name ~ " must be a date or timestamp like '2026-10-31' or '2026-10-31T23:59:59Z', got " ~ var(name)) }}
    {%- endif -%}
    cast('{{ text }}' as timestamp)
{%- endmacro %}
