{#-
  The segment catalog: one model per segment under models/marts/segments/catalog/,
  each returning (entity_id, score), with its definition in the model's
  `config.meta.segment` (see catalog/_catalog__models.yml). The list below
  names the models so that dbt sees the dependencies; the definitions are read
  from the graph. To add a segment: write catalog/seg_<name>.sql, describe it
  in the YAML with its meta.segment, and add its model name here.
-#}
{% macro segment_models() -%}
    {{ return([
        'seg_high_intent_fit_accounts',
        'seg_pricing_visitors_without_demo',
        'seg_cart_abandoners',
        'seg_high_intent_people',
        'seg_at_risk_customers',
        'seg_champions',
        'seg_top_customers',
        'seg_product_qualified_leads',
        'seg_dormant_fit_accounts',
    ]) }}
{%- endmacro %}


{#-
  The catalog as a list of definitions, one per model of segment_models(), with
  defaults filled in: segment_id, name, entity_type, owner, motion,
  measurement_plan, review_cadence_days, last_reviewed_at, status, priority,
  goal ('order' or an event name of the taxonomy), purpose (the consent
  purpose the segment serves: marketing, analytics or personalization) and
  lawful_basis ('consent': only people who granted the purpose;
  'legitimate_interest': everyone but people who refused or withdrew it),
  channels (the list of channels the motion uses: email, ads, sales, in_app;
  empty when not declared, which test assert_segment_channels_declared fails),
  high_value_micro_segment,
  model_name and definition_hash (md5 of the model's SQL and its meta, so an
  audit can tell when a definition changed). Empty at parse time.
-#}
{% macro segment_catalog() -%}
    {%- set catalog = [] -%}
    {%- if execute -%}
        {%- for model_name in customer_segments.segment_models() -%}
            {%- set node = customer_segments.segment_node(model_name) -%}
            {%- set meta = node.config.meta.get('segment', {}) -%}
            {%- set channels = meta.get('channels', []) -%}
            {%- if channels is string -%}{%- set channels = [channels] -%}{%- endif -%}
            {%- do catalog.append({
                'segment_id': meta.get('segment_id', model_name),
                'name': meta.get('name', model_name),
                'entity_type': meta.get('entity_type', 'person'),
                'owner': meta.get('owner', ''),
                'motion': meta.get('motion', ''),
                'measurement_plan': meta.get('measurement_plan', ''),
                'review_cadence_days': meta.get('review_cadence_days', 0) | int,
                'last_reviewed_at': meta.get('last_reviewed_at', '1970-01-01') | string,
                'status': meta.get('status', 'draft'),
                'priority': meta.get('priority', 99) | int,
                'goal': meta.get('goal', 'order'),
                'purpose': meta.get('purpose', 'marketing'),
                'lawful_basis': meta.get('lawful_basis', 'consent'),
                'channels': channels | list,
                'high_value_micro_segment': meta.get('high_value_micro_segment', false) is true,
                'model_name': model_name,
                'description': node.description,
                'definition_hash': local_md5(node.raw_code ~ '|' ~ tojson(meta, sort_keys=true)),
            }) -%}
        {%- endfor -%}
    {%- endif -%}
    {{ return(catalog) }}
{%- endmacro %}


{#- The graph node of a catalog model; a clear error when the list names a model that does not exist. -#}
{% macro segment_node(model_name) -%}
    {%- for node in graph.nodes.values() if node.resource_type == 'model' and node.name == model_name -%}
        {{ return(node) }}
    {%- endfor -%}
    {{ exceptions.raise_compiler_error(
        "Segment model '" ~ model_name ~ "' is listed in macro segment_models() (macros/segments.sql) "
        ~ "but no model has that name: add models/marts/segments/catalog/" ~ model_name ~ ".sql or remove it from the list."
    ) }}
{%- endmacro %}
{#-
  One bound of the Wilson score interval of a proportion (sign '-' for the
  lower, '+' for the upper bound), z = 1.96 for 95%:
  (p + z^2/2n) / (1 + z^2/n) +- z / (1 + z^2/n) * sqrt(p(1-p)/n + z^2/4n^2).
  n must be a nullable double (null when the group is empty).
-#}
{% macro wilson_bound(rate, n, sign, z=1.959963984540054) -%}
    (({{ rate }} + {{ z * z }} / (2.0 * {{ n }})) / (1 + {{ z * z }} / {{ n }})
        {{ sign }} {{ z }} / (1 + {{ z * z }} / {{ n }})
        * sqrt({{ rate }} * (1 - {{ rate }}) / {{ n }} + {{ z * z }} / (4.0 * {{ n }} * {{ n }})))
{%- endmacro %}
