{#- A person id derived from the identity root it grew from: stable across builds while the root stays. -#}
{% macro person_id_from_root(root_column) -%}
    'p_' || substr({{ dbt.hash(root_column) }}, 1, 16)
{%- endmacro %}

