{#-
  The segment catalog: one model per segment under models/marts/segments/catalog/,
  each returning (entity_id, score), with its definition in the model's
  `config.meta.segment` (see _catalog__models.yml). This list names the models
  so that dbt sees the dependencies; the metadata is read from the graph.
-#}
{% macro segment_models() -%}
    {{ return(['seg_champions', 'seg_high_intent_visitors']) }}
{%- endmacro %}


{#- The `meta.segment` of a catalog model (empty at parse time). -#}
{% macro segment_definition(model_name) -%}
    {%- if execute -%}
        {%- for node in graph.nodes.values() if node.resource_type == 'model' and node.name == model_name -%}
            {{ return(node.config.meta.get('segment', {})) }}
        {%- endfor -%}
        {{ exceptions.raise_compiler_error("Segment model '" ~ model_name ~ "' is listed in segment_models() but not found.") }}
    {%- endif -%}
    {{ return({}) }}
{%- endmacro %}
