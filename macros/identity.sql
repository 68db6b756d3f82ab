{#-
  Identity-graph helpers (docs/identity.md).
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
  int_identity_person_ids reads its own previous state. identity_previous_ids(this)
  is the relation to read it from, or none on the first build.
  DuckDB creates the new table before it replaces the old one: the model reads
  {{ this }}. Spark's table materialization (not Delta) drops the old table before
  it creates the new one, so the pre-hook keep_identity_previous_ids copies the ids
  aside (<this>__previous) and the model reads the copy; a build that failed after
  the drop leaves the copy, and the next build still finds the history there;
  --full-refresh drops the copy too.
-#}
{% macro identity_previous_ids(relation) -%}
    {{ return(adapter.dispatch('identity_previous_ids', 'customer_segments')(relation)) }}
{%- endmacro %}
{% macro default__identity_previous_ids(relation) -%}
    {{ return(adapter.get_relation(database=relation.database, schema=relation.schema, identifier=relation.identifier)) }}
{%- endmacro %}
{% macro spark__identity_previous_ids(relation) -%}
    {%- set copy = relation.incorporate(path={'identifier': relation.identifier ~ '__previous'}, type='table') -%}
    {%- set current = adapter.get_relation(database=relation.database, schema=relation.schema, identifier=relation.identifier) -%}
    {%- set kept = adapter.get_relation(database=copy.database, schema=copy.schema, identifier=copy.identifier) -%}
    {{ return(copy if current is not none or kept is not none else none) }}
{%- endmacro %}

{#- Pre-hook of int_identity_person_ids: the SQL that keeps its previous ids readable (nothing on DuckDB). -#}
{% macro keep_identity_previous_ids(relation) -%}
    {{ return(adapter.dispatch('keep_identity_previous_ids', 'customer_segments')(relation)) }}
{%- endmacro %}
{% macro default__keep_identity_previous_ids(relation) -%}
{%- endmacro %}
{% macro spark__keep_identity_previous_ids(relation) -%}
    {%- set copy = relation.incorporate(path={'identifier': relation.identifier ~ '__previous'}, type='table') -%}
    {%- if execute and flags.FULL_REFRESH -%}
        {%- do adapter.drop_relation(copy) -%}
    {%- elif execute and adapter.get_relation(database=relation.database, schema=relation.schema, identifier=relation.identifier) is not none -%}
        {%- do adapter.drop_relation(copy) -%}
        create table {{ copy }} as
        select identifier_type, identifier_value, person_id from {{ relation }}
    {%- endif -%}
{%- endmacro %}


{#-
  Connected components by minimum-label propagation, unrolled into CTEs
  (portable SQL: no recursion, no engine-specific graph functions).

  seeds:  a CTE name with (node_id, label, is_fixed): every node's starting label;
          a fixed node keeps its label (it anchors its neighbours).
  edges:  a CTE name with (src, dst), both directions present.
  Emits CTEs <prefix>_offers and <prefix>_0 .. <prefix>_<iterations>; each round,
  every node that is not fixed takes the smallest label among itself and its
  neighbours (and keeps the one it had as previous_label). Labels only
  decrease, so rounds converge; a round that changes nothing is a no-op.
  Each round reads the previous one once (a node offers its label to itself and to
  its free neighbours): engines that inline CTEs (Spark) would otherwise plan
  2^iterations copies of the first round.
  The caller checks convergence: a node whose label a round still lowered had not
  settled in the round before.
-#}
{% macro label_propagation_ctes(seeds, edges, iterations, prefix) -%}
{{ prefix }}_offers as (

    select node_id as src, node_id as dst, is_fixed as dst_is_fixed
    from {{ seeds }}

    union all

    select {{ edges }}.src, {{ edges }}.dst, false
    from {{ edges }}
    inner join {{ seeds }} as free_node
        on {{ edges }}.dst = free_node.node_id
        and not free_node.is_fixed

),

{{ prefix }}_0 as (

    select node_id, label, is_fixed from {{ seeds }}

),
{%- for round in range(1, iterations + 1) %}

{{ prefix }}_{{ round }} as (

    select
        {{ prefix }}_offers.dst as node_id,
        min(offering.label) as label,
        min(case when {{ prefix }}_offers.src = {{ prefix }}_offers.dst then offering.label end) as previous_label,
        {{ prefix }}_offers.dst_is_fixed as is_fixed

    from {{ prefix }}_offers
    inner join {{ prefix }}_{{ round - 1 }} as offering
        on {{ prefix }}_offers.src = offering.node_id
    group by {{ prefix }}_offers.dst, {{ prefix }}_offers.dst_is_fixed

){%- if not loop.last %},{% endif %}
{%- endfor %}
{%- endmacro %}
