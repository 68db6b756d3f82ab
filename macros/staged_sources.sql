{#-
  The staging models that read raw inputs, with the contract's name for each
  source. Quarantine and row accounting loop over this one list, so a new
  input is added in one place.
-#}
{% macro staged_sources() -%}
    {{ return([
        {'source': 'events', 'model': 'stg_segment__events', 'raw': 'raw_line'},
        {'source': 'orders', 'model': 'stg_shop__orders', 'raw': 'raw_row'},
        {'source': 'crm_contacts', 'model': 'stg_crm__contacts', 'raw': 'raw_row'},
        {'source': 'accounts', 'model': 'stg_crm__accounts', 'raw': 'raw_row'},
        {'source': 'email_events', 'model': 'stg_email__events', 'raw': 'raw_row'},
        {'source': 'consent', 'model': 'stg_privacy__consent', 'raw': 'raw_row'},
        {'source': 'erasure_requests', 'model': 'stg_privacy__erasure_requests', 'raw': 'raw_row'},
        {'source': 'ip_ranges', 'model': 'stg_reverse_ip__ip_ranges', 'raw': 'raw_row'},
    ]) }}
{%- endmacro %}
