{#-
  The staging models that read raw inputs, with the contract's name for each
  source. Quarantine and row accounting loop over this one list, so a new
  input is added in one place. `lines`: the physical lines a row spans (an
  event line is one; line 0 is a whole-file entry).
-#}
{% macro staged_sources() -%}
    {{ return([
        {'source': 'events', 'model': 'stg_segment__events', 'raw': 'raw_line', 'lines': 'case when line_number = 0 then 0 else 1 end'},
        {'source': 'orders', 'model': 'stg_shop__orders', 'raw': 'raw_row', 'lines': 'line_count'},
        {'source': 'crm_contacts', 'model': 'stg_crm__contacts', 'raw': 'raw_row', 'lines': 'line_count'},
        {'source': 'accounts', 'model': 'stg_crm__accounts', 'raw': 'raw_row', 'lines': 'line_count'},
        {'source': 'email_events', 'model': 'stg_email__events', 'raw': 'raw_row', 'lines': 'line_count'},
        {'source': 'consent', 'model': 'stg_privacy__consent', 'raw': 'raw_row', 'lines': 'line_count'},
        {'source': 'erasure_requests', 'model': 'stg_privacy__erasure_requests', 'raw': 'raw_row', 'lines': 'line_count'},
        {'source': 'ip_ranges', 'model': 'stg_reverse_ip__ip_ranges', 'raw': 'raw_row', 'lines': 'line_count'},
        {'source': 'technographics', 'model': 'stg_third_party__technographics', 'raw': 'raw_row', 'lines': 'line_count'},
        {'source': 'intent_signals', 'model': 'stg_third_party__intent_signals', 'raw': 'raw_row', 'lines': 'line_count'},
    ]) }}
{%- endmacro %}
