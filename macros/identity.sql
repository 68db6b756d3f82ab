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
  ctes:   the text of the model's CTEs up to seeds and edges (`a as (...), b as (...)`),
          which the model also emits before this macro's CTEs: Spark runs the walk
          from it as tables (below); DuckDB does not read it.
  Emits CTEs <prefix>_offers and <prefix>_0 .. <prefix>_<iterations>; each round,
  every node that is not fixed takes the smallest label among itself and its
  neighbours (and keeps the one it had as previous_label). Labels only
  decrease, so rounds converge; a round that changes nothing is a no-op.
  Each round reads the previous one once (a node offers its label to itself and to
  its free neighbours): engines that inline CTEs would otherwise plan
  2^iterations copies of the first round.
  The caller checks convergence: a node whose label a round still lowered had not
  settled in the round before.
-#}
{% macro label_propagation_ctes(seeds, edges, iterations, prefix, ctes=none) -%}
    {{ return(adapter.dispatch('label_propagation_ctes', 'customer_segments')(seeds, edges, iterations, prefix, ctes)) }}
{%- endmacro %}

{#- The offers a round joins with: every node offers its label to itself and to its free neighbours. -#}
{% macro label_propagation_offers_sql(seeds, edges) -%}
    select node_id as src, node_id as dst, is_fixed as dst_is_fixed
    from {{ seeds }}

    union all

    select {{ edges }}.src, {{ edges }}.dst, false
    from {{ edges }}
    inner join {{ seeds }} as free_node
        on {{ edges }}.dst = free_node.node_id
        and not free_node.is_fixed
{%- endmacro %}

{#- One round: each node's smallest offered label, and the label it had (previous_label). -#}
{% macro label_propagation_round_sql(offers, previous) -%}
    select
        {{ offers }}.dst as node_id,
        min(offering.label) as label,
        min(case when {{ offers }}.src = {{ offers }}.dst then offering.label end) as previous_label,
        {{ offers }}.dst_is_fixed as is_fixed

    from {{ offers }}
    inner join {{ previous }} as offering
        on {{ offers }}.src = offering.node_id
    group by {{ offers }}.dst, {{ offers }}.dst_is_fixed
{%- endmacro %}

{% macro default__label_propagation_ctes(seeds, edges, iterations, prefix, ctes=none) -%}
{{ prefix }}_offers as (

    {{ customer_segments.label_propagation_offers_sql(seeds, edges) }}

),

{{ prefix }}_0 as (

    select node_id, label, is_fixed from {{ seeds }}

),
{%- for round in range(1, iterations + 1) %}

{{ prefix }}_{{ round }} as (

    {{ customer_segments.label_propagation_round_sql(prefix ~ '_offers', prefix ~ '_' ~ (round - 1)) }}

){%- if not loop.last %},{% endif %}
{%- endfor %}
{%- endmacro %}

{#-
  Spark inlines every CTE, so the unrolled walk is one query whose plan grows with
  the rounds (and a walk over a walk, identity_max_user_ids_per_person above 1,
  ran out of memory while planning). Here the walk runs before the model's query,
  round by round, each round a Parquet table read by the next
  (<model>__<prefix>_offers, <model>__<prefix>_<round>): every statement's plan is
  one round, whatever the number of rounds or the size of the data. It stops at
  the first round that lowers no label (every later round would give the same
  rows), so it returns what the CTEs return after `iterations` rounds. The CTEs
  <prefix>_offers and <prefix>_<iterations> read the tables; the post-hook
  drop_label_propagation_tables() drops them after the model is built (a failed
  build's tables are dropped by the next one, before it starts its walk).
  A unit test's inputs exist only as CTEs of its own query: there (and when the
  caller gives no `ctes`) the walk stays unrolled.
-#}
{% macro spark__label_propagation_ctes(seeds, edges, iterations, prefix, ctes=none) -%}
    {%- if ctes is none or not execute or model.resource_type != 'model' -%}
        {{ return(customer_segments.default__label_propagation_ctes(seeds, edges, iterations, prefix)) }}
    {%- endif -%}
    {%- set stem = this.identifier ~ '__' ~ prefix -%}
    {%- do customer_segments.spark_drop_tables_like(stem ~ '_') -%}
    {%- set offers = this.incorporate(path={'identifier': stem ~ '_offers'}, type='table') -%}
    {%- do run_query('create table ' ~ offers ~ ' using parquet as with ' ~ ctes ~ ' '
        ~ customer_segments.label_propagation_offers_sql(seeds, edges)) -%}
    {%- set state = namespace(previous=this.incorporate(path={'identifier': stem ~ '_0'}, type='table'), done=false, rounds=0) -%}
    {%- do run_query('create table ' ~ state.previous ~ ' using parquet as with ' ~ ctes ~ ' '
        ~ 'select node_id, label, is_fixed from ' ~ seeds) -%}
    {%- for round in range(1, iterations + 1) -%}
        {%- if not state.done -%}
            {%- set current = this.incorporate(path={'identifier': stem ~ '_' ~ round}, type='table') -%}
            {%- do run_query('create table ' ~ current ~ ' using parquet as '
                ~ customer_segments.label_propagation_round_sql(offers, state.previous)) -%}
            {%- do run_query('drop table if exists ' ~ state.previous) -%}
            {%- set state.previous = current -%}
            {%- set state.rounds = round -%}
            {%- set changed = run_query('select count(*) from ' ~ current ~ ' where label <> previous_label') -%}
            {%- set state.done = changed.columns[0].values()[0] == 0 -%}
        {%- endif -%}
    {%- endfor -%}
    {%- do log(model.name ~ ': ' ~ prefix ~ ' ran ' ~ state.rounds ~ ' of ' ~ iterations ~ ' rounds as tables'
        ~ (' (settled)' if state.done else ''), info=false) -%}
{{ prefix }}_offers as (

    select src, dst, dst_is_fixed from {{ offers }}

),

{{ prefix }}_{{ iterations }} as (

    select {{ 'node_id, label, previous_label, is_fixed' if iterations > 0 else 'node_id, label, is_fixed' }} from {{ state.previous }}

)
{%- endmacro %}

{#- Spark: drop this schema's tables whose name starts with `stem` (a walk's round tables). -#}
{% macro spark_drop_tables_like(stem) -%}
    {%- for row in run_query('show tables in ' ~ this.schema ~ " like '" ~ stem ~ "*'") -%}
        {%- if row[1].startswith(stem) and not row[2] -%}
            {%- do run_query('drop table if exists ' ~ this.incorporate(path={'identifier': row[1]}, type='table')) -%}
        {%- endif -%}
    {%- endfor -%}
{%- endmacro %}

{#- Post-hook of a model that walks with label_propagation_ctes: drop its round tables (nothing on DuckDB). -#}
{% macro drop_label_propagation_tables() -%}
    {{ return(adapter.dispatch('drop_label_propagation_tables', 'customer_segments')()) }}
{%- endmacro %}
{% macro default__drop_label_propagation_tables() -%}
{%- endmacro %}
{% macro spark__drop_label_propagation_tables() -%}
    {%- if execute -%}
        {%- do customer_segments.spark_drop_tables_like(this.identifier ~ '__') -%}
    {%- endif -%}
{%- endmacro %}
