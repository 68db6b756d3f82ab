{#-
  Privacy helpers (README "Privacy"): the salted hash erasure is remembered by,
  suppression of erased people's rows at the staging layer, and the purge that
  removes a newly erased person from every table at the end of a build.
-#}

{#- sha256 as lower-case hex, on every engine. -#}
{% macro sha256_hex(expression) -%}
    {{ return(adapter.dispatch('sha256_hex', 'customer_segments')(expression)) }}
{%- endmacro %}
{% macro default__sha256_hex(expression) -%}
    sha256({{ expression }})
{%- endmacro %}
{% macro spark__sha256_hex(expression) -%}
    sha2({{ expression }}, 256)
{%- endmacro %}


{#-
  The hash an erased identifier is remembered by: sha256 of
  salt|identifier_type|normalized value. The salt is var erasure_salt
  (environment variable SEGMENTS_ERASURE_SALT in production, so that a leaked
  erasure_log cannot be matched against a list of known emails).
  type_expression is SQL (a quoted literal or a column); value_expression must
  already be normalized (macro identity_value).
-#}
{% macro erasure_hash(type_expression, value_expression) -%}
    {{ customer_segments.sha256_hex("'" ~ var('erasure_salt') ~ "|' || " ~ type_expression ~ " || '|' || " ~ value_expression) }}
{%- endmacro %}


{#- The graph node of model erasure_log (for its database, schema and alias). -#}
{% macro erasure_log_node() -%}
    {%- for node in graph.nodes.values() if node.resource_type == 'model' and node.name == 'erasure_log' -%}
        {{ return(node) }}
    {%- endfor -%}
    {{ exceptions.raise_compiler_error("model erasure_log is missing: staging suppresses erased people with it") }}
{%- endmacro %}


{#-
  on-run-start: create an empty erasure_log when there is none yet, so that
  staging can always name it (no ref: the log is built downstream of staging).
-#}
{% macro ensure_erasure_log() -%}
    {%- if not execute -%}
        {{ return('') }}
    {%- endif -%}
    {%- set node = customer_segments.erasure_log_node() -%}
    {%- if adapter.get_relation(database=node.database, schema=node.schema, identifier=node.alias) is none -%}
        {%- set relation = api.Relation.create(database=node.database, schema=node.schema, identifier=node.alias, type='table') -%}
        {%- do adapter.create_schema(relation) -%}
        {%- do run_query(
            'create table ' ~ relation ~ ' as select'
            ~ ' cast(null as ' ~ dbt.type_string() ~ ') as identifier_type,'
            ~ ' cast(null as ' ~ dbt.type_string() ~ ') as identifier_hash,'
            ~ ' cast(null as timestamp) as requested_at,'
            ~ ' cast(null as timestamp) as erased_at,'
            ~ ' cast(null as ' ~ dbt.type_string() ~ ') as build_id'
            ~ ' where 1 = 0'
        ) -%}
        {#- tell dbt's relation cache, so the incremental model appends to it -#}
        {%- do adapter.cache_added(relation) -%}
    {%- endif -%}
    {{ return('') }}
{%- endmacro %}


{#-
  The erasure_log relation to filter with, or none when there is nothing to
  filter: views always filter (they run later, when the log may have grown);
  tables only when the log has rows, so users who never erase pay nothing.
-#}
{% macro erasure_log_relation() -%}
    {%- if not execute -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set node = customer_segments.erasure_log_node() -%}
    {%- set relation = adapter.get_relation(database=node.database, schema=node.schema, identifier=node.alias) -%}
    {%- if relation is none -%}
        {{ return(none) }}
    {%- endif -%}
    {%- if model is defined and model.config is defined and model.config.materialized == 'view' -%}
        {{ return(relation) }}
    {%- endif -%}
    {%- set counted = run_query('select count(*) from ' ~ relation) -%}
    {{ return(relation if counted.columns[0].values()[0] > 0 else none) }}
{%- endmacro %}


{#-
  A predicate keeping the rows of `source_cte` that belong to nobody erased
  before this build: for each (identifier_type, column) pair, the column's
  normalized value must not hash to an entry of erasure_log. identifier_type
  is a type name ('email', 'user_id', ...) or, as ('column:<name>', column),
  a column holding the type per row (consent and erasure subjects). Hashes are
  computed once per distinct value, not per row. 'true' when nothing was ever
  erased, so users who never erase pay nothing.
-#}
{% macro not_erased(source_cte, identifiers) -%}
    {%- set log = customer_segments.erasure_log_relation() -%}
    {%- if log is none -%}
        true
    {%- else -%}
        {%- for identifier_type, column in identifiers %}
        {%- if identifier_type.startswith('column:') %}
            {%- set type_sql = identifier_type[7:] %}
            {%- set normalized = "case when erased_type = 'email' then lower(trim(erased_value)) else trim(erased_value) end" %}
        {%- else %}
            {%- set type_sql = "'" ~ identifier_type ~ "'" %}
            {%- set normalized = customer_segments.identity_value(identifier_type, 'erased_value') %}
        {%- endif %}
        {% if not loop.first %}and {% endif %}({{ column }} is null or {{ column }} not in (
            select erased_value from (
                select distinct {{ column }} as erased_value, {{ type_sql }} as erased_type
                from {{ source_cte }}
                where {{ column }} is not null
            ) as candidates
            where {{ customer_segments.erasure_hash('erased_type', normalized) }} in (select identifier_hash from {{ log }})
        ))
        {%- endfor %}
    {%- endif -%}
{%- endmacro %}


{#-
  Column names the purge knows, by what they hold. Every table this project
  builds is purged by these names, so a new table is covered as soon as its
  columns follow the naming of the others.
-#}
{% macro erasure_purge_columns() -%}
    {{ return({
        'person': ['person_id', 'old_person_id', 'new_person_id', 'from_person_id', 'to_person_id', 'previous_person_id'],
        'person_entity': ['entity_id'],
        'identifier': ['identifier_value', 'from_value', 'to_value', 'partner_value', 'anonymous_id', 'user_id',
                       'email', 'device_id', 'previous_id', 'contact_id', 'subject_value', 'root'],
        'node': ['node_id', 'from_node_id', 'to_node_id'],
        'text': ['raw', 'raw_line', 'raw_row'],
    }) }}
{%- endmacro %}


{#-
  Purge condition for free text (raw lines, JSON blobs): the rows of `relation`
  matching `scope` (SQL, 'true' for all) whose `column` mentions an identifier
  value (6 characters or more) of `targets`, case-insensitively.
  DuckDB splits each text into tokens at characters identifiers do not contain
  (whitespace, quotes, brackets, punctuation of JSON, CSV and URLs: the
  `erasure_token_delimiters()` regex) and joins the tokens to the values: one
  pass over the text, where a substring test of every value in every row costs
  rows x values (over nine minutes for the quarantined rows at 10M events and
  16,700 values). Values that contain a delimiter themselves are still found by
  substring. Spark runs the substring test.
-#}
{% macro erasure_token_delimiters() -%}
    {{ return("[\\s\"'`,;:{}\\[\\]()<>=&?/\\\\|]+") }}
{%- endmacro %}

{% macro mentions_erased(relation, column, scope, targets) -%}
    {{ return(adapter.dispatch('mentions_erased', 'customer_segments')(relation, column, scope, targets)) }}
{%- endmacro %}
{% macro default__mentions_erased(relation, column, scope, targets) -%}
    {%- set delimiters = customer_segments.sql_string(customer_segments.erasure_token_delimiters()) -%}
    {%- set text = "lower(cast(" ~ column ~ " as " ~ dbt.type_string() ~ "))" -%}
    (rowid in (
        select tokens.row_id
        from (
            select rowid as row_id, unnest(regexp_split_to_array({{ text }}, {{ delimiters }})) as token
            from {{ relation }}
            where {{ scope }}
        ) as tokens
        where tokens.token in (
            select lower(identifier_value) from {{ targets }}
            where length(identifier_value) >= 6 and not regexp_matches(identifier_value, {{ delimiters }})
        )
    )
    or (({{ scope }}) and exists (
        select 1 from {{ targets }} as erased
        where length(erased.identifier_value) >= 6 and regexp_matches(erased.identifier_value, {{ delimiters }})
            and strpos({{ text }}, lower(erased.identifier_value)) > 0
    )))
{%- endmacro %}
{% macro spark__mentions_erased(relation, column, scope, targets) -%}
    (({{ scope }}) and exists (
        select 1 from {{ targets }} as erased
        where length(erased.identifier_value) >= 6
            and instr(lower(cast({{ column }} as {{ dbt.type_string() }})), lower(erased.identifier_value)) > 0
    ))
{%- endmacro %}


{#- Delete the rows of a table matching a condition (Spark tables without DELETE are rewritten). -#}
{% macro delete_where(relation, condition) -%}
    {{ return(adapter.dispatch('delete_where', 'customer_segments')(relation, condition)) }}
{%- endmacro %}
{% macro default__delete_where(relation, condition) -%}
    delete from {{ relation }} where {{ condition }}
{%- endmacro %}
{% macro spark__delete_where(relation, condition) -%}
    {#- parquet tables cannot DELETE: keep the other rows in a copy and swap it in (runs the statements
        itself); a table without a matching row is not rewritten (one count instead of four statements) -#}
    {%- if execute and run_query('select count(*) from ' ~ relation ~ ' where coalesce(' ~ condition ~ ', false)').columns[0].values()[0] > 0 -%}
        {%- set kept = relation.incorporate(path={'identifier': relation.identifier ~ '__erasure_kept'}) -%}
        {%- do run_query('drop table if exists ' ~ kept) -%}
        {%- do run_query('create table ' ~ kept ~ ' as select * from ' ~ relation ~ ' where not coalesce(' ~ condition ~ ', false)') -%}
        {%- do run_query('insert overwrite table ' ~ relation ~ ' select * from ' ~ kept) -%}
        {%- do run_query('drop table if exists ' ~ kept) -%}
    {%- endif -%}
    select 1
{%- endmacro %}


{#-
  on-run-end: remove every person erased in this build from every table the
  project built, then empty int_erasure_targets (the only place their values
  were kept, for this purge). Rows match by person id (and entity_id of person
  segments), by identifier value, by graph node id, or, for raw lines that
  could not be parsed into id columns (quarantine, malformed lines), by
  containing one of the person's identifier values. Logs what it did.
  Aggregates built earlier in the same build (member counts, account rollups)
  still count the erased people until the next build; they hold no personal data.
-#}
{% macro purge_erased_people() -%}
    {%- if not execute or flags.WHICH not in ('build', 'run') -%}
        {{ return('') }}
    {%- endif -%}
    {%- for node in graph.nodes.values() if node.resource_type == 'model' and node.name == 'int_erasure_targets' -%}
        {%- set targets = adapter.get_relation(database=node.database, schema=node.schema, identifier=node.alias) -%}
        {%- if targets is none -%}
            {{ return('') }}
        {%- endif -%}
        {%- set count = run_query('select count(*) from ' ~ targets).columns[0].values()[0] -%}
        {%- if count == 0 -%}
            {{ return('') }}
        {%- endif -%}
        {%- set columns_by_kind = customer_segments.erasure_purge_columns() -%}
        {%- set purged = [] -%}
        {%- set relations = [] -%}
        {%- set node_lookup = [] -%}
        {%- for model in graph.nodes.values()
                if model.resource_type == 'model' and model.package_name == project_name
                and model.config.materialized in ('table', 'incremental') and model.name != 'int_erasure_targets' -%}
            {%- set relation = adapter.get_relation(database=model.database, schema=model.schema, identifier=model.alias) -%}
            {%- if relation is not none and model.name == 'int_identity_nodes' -%}
                {%- do node_lookup.append(relation) -%}
            {%- elif relation is not none -%}
                {%- do relations.append((model.name, relation)) -%}
            {%- endif -%}
        {%- endfor -%}
        {#- int_identity_nodes last: the node ids of other tables are matched through its values -#}
        {%- set ordered = relations + [('int_identity_nodes', node_lookup[0])] if node_lookup else relations -%}
        {%- for name, relation in ordered -%}
            {%- set columns = adapter.get_columns_in_relation(relation) | map(attribute='name') | map('lower') | list -%}
            {%- set conditions = [] -%}
            {%- for column in columns_by_kind['person'] if column in columns -%}
                {%- do conditions.append(column ~ " in (select person_id from " ~ targets ~ " where person_id is not null)") -%}
            {%- endfor -%}
            {%- if 'entity_id' in columns -%}
                {%- set person_rows = "entity_type = 'person' and " if 'entity_type' in columns else "" -%}
                {%- do conditions.append("(" ~ person_rows ~ "entity_id in (select person_id from " ~ targets ~ " where person_id is not null))") -%}
            {%- endif -%}
            {%- for column in columns_by_kind['identifier'] if column in columns -%}
                {%- do conditions.append("lower(trim(cast(" ~ column ~ " as " ~ dbt.type_string() ~ "))) in (select lower(identifier_value) from " ~ targets ~ ")") -%}
            {%- endfor -%}
            {%- if node_lookup and name != 'int_identity_nodes' -%}
                {%- for column in columns_by_kind['node'] if column in columns -%}
                    {%- do conditions.append(column ~ " in (select node_id from " ~ node_lookup[0] ~ " where identifier_value in (select identifier_value from " ~ targets ~ "))") -%}
                {%- endfor -%}
            {%- endif -%}
            {#- raw text is searched only where no id column could match: rows that could not be parsed
                (quarantined, or not JSON, when the table says so) or tables without id columns; values
                shorter than 6 characters match too much free text and are matched in id columns only -#}
            {%- set has_ids = conditions | length > 0 -%}
            {%- set statements = [] -%}
            {%- if conditions -%}
                {%- do statements.append("(" ~ conditions | join(" or ") ~ ")") -%}
            {%- endif -%}
            {%- if not has_ids -%}
                {%- set unparsed = "true" -%}
            {%- elif 'quarantine_reason' in columns -%}
                {%- set unparsed = "quarantine_reason is not null" -%}
            {%- elif 'is_json_object' in columns -%}
                {%- set unparsed = "not is_json_object" -%}
            {%- else -%}
                {%- set unparsed = none -%}
            {%- endif -%}
            {#- text searches are their own statements, after the cheap id match -#}
            {%- for column in columns_by_kind['text'] if column in columns and unparsed is not none -%}
                {%- do statements.append(customer_segments.mentions_erased(relation, column, unparsed, targets)) -%}
            {%- endfor -%}
            {%- if statements -%}
                {%- set before = run_query('select count(*) from ' ~ relation).columns[0].values()[0] -%}
                {%- for condition in statements -%}
                    {%- do run_query(customer_segments.delete_where(relation, condition)) -%}
                {%- endfor -%}
                {%- set after = run_query('select count(*) from ' ~ relation).columns[0].values()[0] -%}
                {%- if before != after -%}
                    {%- do purged.append(name ~ ' ' ~ (before - after)) -%}
                {%- endif -%}
            {%- endif -%}
        {%- endfor -%}
        {%- do run_query(customer_segments.delete_where(targets, 'true')) -%}
        {%- do customer_segments.recount_segments(relations) -%}
        {%- do customer_segments.commit_purge() -%}
        {%- do log('Erasure: ' ~ count ~ ' identifiers of newly erased people purged from ' ~ purged | length ~ ' tables (' ~ purged | join(', ') ~ ').', info=true) -%}
    {%- endfor -%}
    {{ return('') }}
{%- endmacro %}


{#- Hooks run their queries in a transaction dbt does not commit for us. -#}
{% macro commit_purge() -%}
    {{ return(adapter.dispatch('commit_purge', 'customer_segments')()) }}
{%- endmacro %}
{% macro default__commit_purge() -%}
    {%- do run_query('commit') -%}
{%- endmacro %}
{% macro spark__commit_purge() -%}
    {#- Spark has no transactions: every statement is final -#}
{%- endmacro %}


{#-
  How a published mart shows an identifier: direct identifiers (var
  direct_identifier_types, default [email]) as the sha256 hex of the value
  (normalized: trimmed, lower-cased), the format ad and CRM platforms match
  hashed emails on; everything else as is. With var publish_direct_identifiers
  true (an explicit, documented opt-in for activation tools that need the
  address), values are published in plain text. Intermediate tables always
  keep plain text: the identity graph needs it.
-#}
{% macro published_identifier(type_expression, value_expression) -%}
    {%- if var('publish_direct_identifiers') -%}
        {{ value_expression }}
    {%- else -%}
        case
            when {{ type_expression }} in ({% for t in var('direct_identifier_types') %}'{{ t }}'{% if not loop.last %}, {% endif %}{% endfor %})
                then {{ customer_segments.sha256_hex('lower(trim(' ~ value_expression ~ '))') }}
            else {{ value_expression }}
        end
    {%- endif -%}
{%- endmacro %}


{#-
  Retention: the oldest event time the project may use, as a SQL expression:
  var retention_days before as_of (var as_of, else the latest usable event of
  stg_segment__events). Older events are not used (int_events_deduplicated,
  int_email_events_deduplicated); int_retention_ignored counts them.
-#}
{% macro retention_cutoff() -%}
    {%- if var('as_of') -%}
        {%- set reference = customer_segments.timestamp_var('as_of') -%}
    {%- else -%}
        {%- set reference = "(select max(event_at) from " ~ ref('stg_segment__events') ~ " where quarantine_reason is null and duplicate_reason is null)" -%}
    {%- endif -%}
    {{ dbt.dateadd('day', -1 * (var('retention_days') | int), reference) }}
{%- endmacro %}


{#-
  After a purge, segments.member_count and holdout_count count from
  segment_members again, so the catalog agrees with its members in the build
  that erased them (other aggregates catch up at the next build; README "Privacy").
-#}
{% macro recount_segments(relations) -%}
    {{ return(adapter.dispatch('recount_segments', 'customer_segments')(relations)) }}
{%- endmacro %}
{% macro default__recount_segments(relations) -%}
    {%- set found = {} -%}
    {%- for name, relation in relations if name in ('segments', 'segment_members') -%}
        {%- do found.update({name: relation}) -%}
    {%- endfor -%}
    {%- if found | length == 2 -%}
        {%- do run_query(
            'update ' ~ found['segments'] ~ ' as s set'
            ~ ' member_count = (select count(*) from ' ~ found['segment_members'] ~ ' as m where m.segment_id = s.segment_id),'
            ~ ' holdout_count = (select count(*) from ' ~ found['segment_members'] ~ ' as m where m.segment_id = s.segment_id and m.is_holdout)'
            ~ " where s.status = 'active'"
        ) -%}
    {%- endif -%}
{%- endmacro %}
{% macro spark__recount_segments(relations) -%}
    {#- parquet tables cannot UPDATE: the recounted table is written aside and copied back, as delete_where does -#}
    {%- set found = {} -%}
    {%- for name, relation in relations if name in ('segments', 'segment_members') -%}
        {%- do found.update({name: relation}) -%}
    {%- endfor -%}
    {%- if found | length == 2 -%}
        {%- set segments = found['segments'] -%}
        {%- set recounted = segments.incorporate(path={'identifier': segments.identifier ~ '__recounted'}) -%}
        {%- set columns = adapter.get_columns_in_relation(segments) | map(attribute='name') | map('lower') | list -%}
        {%- do run_query('drop table if exists ' ~ recounted) -%}
        {%- set select_list = [] -%}
        {%- for column in columns -%}
            {%- if column in ('member_count', 'holdout_count') -%}
                {%- do select_list.append("case when s.status = 'active' then coalesce(m." ~ column ~ ", 0) else s." ~ column ~ " end as " ~ column) -%}
            {%- else -%}
                {%- do select_list.append('s.' ~ column) -%}
            {%- endif -%}
        {%- endfor -%}
        {%- do run_query(
            'create table ' ~ recounted ~ ' as select ' ~ select_list | join(', ')
            ~ ' from ' ~ segments ~ ' as s left join (select segment_id, count(*) as member_count,'
            ~ ' sum(case when is_holdout then 1 else 0 end) as holdout_count from ' ~ found['segment_members']
            ~ ' group by segment_id) as m on m.segment_id = s.segment_id'
        ) -%}
        {%- do run_query('insert overwrite table ' ~ segments ~ ' select * from ' ~ recounted) -%}
        {%- do run_query('drop table if exists ' ~ recounted) -%}
    {%- endif -%}
{%- endmacro %}
