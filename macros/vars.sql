{#-
  on-run-start: check the knobs (README "Knobs") before anything is built, and
  stop with one message listing every bad value and what it should be, instead
  of a cast error deep in a model or, worse, a build that runs with a share of
  10 meaning 10%. Each rule: (var, kind, lowest, highest); kinds are 'int',
  'number', 'share' (a number from lowest to highest, where 0.10 means 10%),
  'timestamp' ('YYYY-MM-DD' or 'YYYY-MM-DD HH:MM[:SS]', null allowed for
  as_of) and 'bool'. None means no bound.
-#}
{% macro var_rules() -%}
    {{ return([
        ('as_of', 'timestamp', none, none),
        ('min_valid_event_at', 'timestamp', none, none),
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
        ('identity_max_user_ids_per_person', 'int', 1, none),
        ('account_reverse_ip_min_events', 'int', 1, none),
        ('identity_max_iterations', 'int', 1, none),
        ('lifecycle_new_days', 'int', 1, none),
        ('lifecycle_active_days', 'int', 1, none),
        ('lifecycle_dormant_days', 'int', 1, none),
        ('activity_lookback_days', 'int', 0, none),
        ('activation_window_days', 'int', 1, none),
        ('predictions_min_customers', 'int', 1, none),
        ('predictions_horizon_days', 'int', 1, none),
        ('engaged_person_min_score', 'number', 0, none),
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
        ('holdout_share', 'share', 0, 0.5),
        ('lift_window_days', 'int', 1, none),
        ('lift_min_group_size', 'int', 1, none),
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
    {%- set timestamp_pattern = '^\\d{4}-\\d{2}-\\d{2}( \\d{2}:\\d{2}(:\\d{2}(\\.\\d+)?)?)?$' -%}
    {%- for name, kind, lowest, highest in customer_segments.var_rules() -%}
        {%- set value = var(name, none) -%}
        {%- if kind == 'timestamp' -%}
            {%- if value is not none and not modules.re.match(timestamp_pattern, value | string) -%}
                {%- do problems.append(name ~ " must be a date or timestamp like '2026-10-31' or '2026-10-31 23:59:59', got " ~ value) -%}
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
    {%- set pairs = [('lifecycle_active_days', 'lifecycle_dormant_days'), ('segment_catalog_min_active', 'segment_catalog_max_active'),
                     ('segment_suggestions_k_min', 'segment_suggestions_k_max')] -%}
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
                ~ "\nFix them and build again; README \"Knobs\" says what each one means.") }}
        {%- endif -%}
    {%- endif -%}
    {{ return('') }}
{%- endmacro %}
