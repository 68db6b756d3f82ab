{#-
  Identity-graph helpers (README "Identity graph").
-#}

{#- An identifier as the graph matches it: trimmed, empty -> null, lower-cased for
    emails and for the types listed in var identity_lowercase_types. -#}
{% macro identity_value(identifier_type, value_expression) -%}
    {%- if identifier_type == 'email' or identifier_type in var('identity_lowercase_types', []) -%}
        nullif(lower(trim({{ value_expression }})), '')
    {%- else -%}
        nullif(trim({{ value_expression }}), '')
    {%- endif -%}
{%- endmacro %}


{#- A person id derived from the identity root it grew from: stable across builds while the root stays. -#}
{% macro person_id_from_root(root_column) -%}
    'p_' || substr({{ dbt.hash(root_column) }}, 1, 16)
{%- endmacro %}


{#-
  Connected components by minimum-label propagation, unrolled into CTEs
  (portable SQL: no recursion, no engine-specific graph functions).

  seeds:  a CTE name with (node_id, label, is_fixed): every node's starting label;
          a fixed node keeps its label (it anchors its neighbours).
  edges:  a CTE name with (src, dst), both directions present.
  Emits CTEs <prefix>_0 .. <prefix>_<iterations>; each round, every node that is
  not fixed takes the smallest label among itself and its neighbours. Labels only
  decrease, so rounds converge; a round that changes nothing is a no-op.
  The caller checks convergence (no edge into a free node crosses labels).
-#}
{% macro label_propagation_ctes(seeds, edges, iterations, prefix) -%}
{{ prefix }}_0 as (

    select node_id, label, is_fixed from {{ seeds }}

),
{%- for round in range(1, iterations + 1) %}

{{ prefix }}_{{ round }} as (

    select
        current_labels.node_id,
        case
            when current_labels.is_fixed then current_labels.label
            when offered.label < current_labels.label then offered.label
            else current_labels.label
        end as label,
        current_labels.is_fixed

    from {{ prefix }}_{{ round - 1 }} as current_labels
    left join (
        select {{ edges }}.dst as node_id, min(neighbour.label) as label
        from {{ edges }}
        inner join {{ prefix }}_{{ round - 1 }} as neighbour
            on {{ edges }}.src = neighbour.node_id
        group by {{ edges }}.dst
    ) as offered
        on current_labels.node_id = offered.node_id

){%- if not loop.last %},{% endif %}
{%- endfor %}
{%- endmacro %}
