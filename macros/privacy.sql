{#-
  Privacy helpers (docs/privacy.md): the salted hash erasure is remembered by,
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
  salt|identifier_type|normalized value, so that a leaked erasure_log cannot be
  matched against a list of known emails. The salt is the environment variable
  SEGMENTS_ERASURE_SALT (default customer-segments-erasure-v1), read when the
  hash is computed and never written into SQL: dbt would keep it in compiled
  SQL, artifacts, logs and the partial-parse file.
  DuckDB: the function erasure_hash that customer_segments/warehouse/secrets.py
  registers on every connection (dbt-duckdb plugin). Spark cannot load that
  plugin: the driver reads the variable at query time (reflect on
  System.getenv; an unset variable, or one set to the text "null", means the default).
  type_expression is SQL (a quoted literal or a column); value_expression must
  already be normalized (macro identity_value).
-#}
{% macro erasure_hash(type_expression, value_expression) -%}
    {{ return(adapter.dispatch('erasure_hash', 'customer_segments')(type_expression, value_expression)) }}
{%- endmacro %}
{% macro default__erasure_hash(type_expression, value_expression) -%}
    erasure_hash({{ type_expression }}, {{ value_expression }})
{%- endmacro %}
{% macro spark__erasure_hash(type_expression, value_expression) -%}
    sha2(concat(
        coalesce(nullif(reflect('java.lang.System', 'getenv', 'SEGMENTS_ERASURE_SALT'), 'null'), 'customer-segments-erasure-v1'),
        '|', {{ type_expression }}, '|', {{ value_expression }}
    ), 256)
{%- endmacro %}


{#- The graph node of model erasure_log (for its database, schema and alias). -#}
{% macro erasure_log_node() -%}
    {%- for node in graph.nodes.values() if node.resource_type == 'model' and node.name == 'erasure_log' -%}
        {{ return(node) }}
    {%- endfor -%}
    {{ exceptions.raise_compiler_error("model erasure_log is missing: staging suppresses erased people with it") }}
{%- endmacro %}


{#- The relation of a model of this project as it is in the warehouse now (none before its first build). -#}
{% macro model_relation(name) -%}
    {%- if not execute -%}
        {{ return(none) }}
    {%- endif -%}
    {%- for node in graph.nodes.values() if node.resource_type == 'model' and node.name == name and node.package_name == project_name -%}
        {{ return(adapter.get_relation(database=node.database, schema=node.schema, identifier=node.alias)) }}
    {%- endfor -%}
    {{ return(none) }}
{%- endmacro %}


{#-
  int_erasure_targets as a build that stopped before its purge committed left
  it (none when there is none): DuckDB builds the new table before it drops
  the old one, so the model reads {{ "{{ this }}" }}. Spark drops the table first and
  has no transaction around the purge: there, a build that stopped before its
  purge finished is redone from erasure_requests alone.
-#}
{% macro erasure_unfinished_targets(relation) -%}
    {{ return(adapter.dispatch('erasure_unfinished_targets', 'customer_segments')(relation)) }}
{%- endmacro %}
{% macro default__erasure_unfinished_targets(relation) -%}
    {%- if not execute -%}
        {{ return(none) }}
    {%- endif -%}
    {{ return(adapter.get_relation(database=relation.database, schema=relation.schema, identifier=relation.identifier)) }}
{%- endmacro %}
{% macro spark__erasure_unfinished_targets(relation) -%}
    {{ return(none) }}
{%- endmacro %}


{#-
  on-run-start: create an empty erasure_log when there is none yet, so that
  staging can always read it (as source warehouse_state.erasure_log: a ref
  would be a cycle, the log is built downstream of staging).
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
    {#-
      The log as earlier builds left it: source warehouse_state.erasure_log
      (models/staging/_warehouse_state__sources.yml), called before the execute
      check so that dbt records it as a dependency of the calling model.
    -#}
    {%- set declared = source('warehouse_state', 'erasure_log') -%}
    {%- if not execute -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set relation = adapter.get_relation(database=declared.database, schema=declared.schema, identifier=declared.identifier) -%}
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
    {%- if execute and target.type == 'duckdb' and model is defined and model.config.materialized == 'view' -%}
        {#- erasure_hash exists only on dbt's connections: a view calling it fails in every other client -#}
        {{ exceptions.raise_compiler_error(model.name ~ " filters erased people and must be a table, not a view (dbt_project.yml)") }}
    {%- endif -%}
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
  Free text (raw lines, JSON blobs such as properties/traits/context, URLs,
  referrers, any string column): which rows mention an identifier value (6
  characters or more) of `targets`, case-insensitively, as written or
  URL-encoded (the text is also searched URL-decoded).
  DuckDB takes each row's tokens, the runs between characters identifiers do not
  contain (whitespace, quotes, brackets, punctuation of JSON, CSV and URLs: the
  `erasure_token_delimiters()` regex) at least as long as the shortest value
  (macro erasure_target_shape), and joins them to the values: one
  pass over the text, where a substring test of every value in every row costs
  rows x values (over nine minutes for the quarantined rows at 10M events and
  16,700 values). Values that contain a delimiter themselves are still found by
  substring. Spark does the same (spark__mentions_erased).
  A table keeping each row's raw text (raw_line, raw, raw_row) has the text of
  its other columns searched only where the raw text does not hold it verbatim
  (an escaped JSON string, a value built by a model): the parsed columns copy
  whole JSON values of the line, which begin and end at delimiters, so their
  tokens are the line's. The event lines themselves are searched once per purge
  (macro erasure_line_reference).
-#}
{% macro erasure_token_delimiters() -%}
    {{ return("[\\s\"'`,;:{}\\[\\]()<>=&?/\\\\|]+") }}
{%- endmacro %}

{#-
  The columns of a relation. With `known`, a purge's dict of what it looked up once (macro
  purge_erased_people), each table is described once per purge: the purge asks for a table's columns
  in four places, and on a small build its statements cost more in dbt than in the database (a
  first build of 20,000 events ran 826 statements in 5.7 s, 2.0 s of it in DuckDB). The purge does
  not change any table's columns.
-#}
{% macro erasure_columns(relation, known=none) -%}
    {%- if known is none -%}
        {{ return(adapter.get_columns_in_relation(relation)) }}
    {%- endif -%}
    {%- set key = relation | string -%}
    {%- if key not in known['columns'] -%}
        {%- do known['columns'].update({key: adapter.get_columns_in_relation(relation)}) -%}
    {%- endif -%}
    {{ return(known['columns'][key]) }}
{%- endmacro %}

{#- The string columns of a relation (free text the purge searches and redacts). -#}
{% macro erasure_text_columns(relation, known=none) -%}
    {%- set found = [] -%}
    {%- for column in customer_segments.erasure_columns(relation, known) -%}
        {%- set dtype = column.dtype | lower -%}
        {%- if 'char' in dtype or 'string' in dtype or 'text' in dtype or 'json' in dtype -%}
            {%- do found.append(column.name) -%}
        {%- endif -%}
    {%- endfor -%}
    {{ return(found) }}
{%- endmacro %}

{#-
  What the values of `targets` are like, for the token search (DuckDB), asked once per search:
  min_token: the fewest characters of a value without a delimiter (none when there is none), so
  that only tokens that long are taken from the text (a shorter token cannot equal a value; the
  text is scanned for runs of that many non-delimiters instead of being split into every token,
  about half the cost); with_delimiters: how many values contain a delimiter (searched by substring;
  the substring search reads the text a second time, so it runs only when there is such a value).
-#}
{% macro erasure_target_shape(targets) -%}
    {%- set delimiters = customer_segments.sql_string(customer_segments.erasure_token_delimiters()) -%}
    {%- set shape = run_query(
        'select min(length(lower(identifier_value))) filter (where not regexp_matches(identifier_value, ' ~ delimiters ~ ')),'
        ~ ' count(*) filter (where regexp_matches(identifier_value, ' ~ delimiters ~ '))'
        ~ ' from ' ~ targets ~ ' where length(identifier_value) >= 6'
    ).rows[0] -%}
    {{ return({'min_token': shape[0], 'with_delimiters': shape[1]}) }}
{%- endmacro %}

{#-
  DuckDB: (row_id, value) for each row of `relation` in `scope` whose `columns` mention a value of `targets`.
  With `reference` (macro erasure_line_reference), a row whose raw line the purge found no mention in
  (and, in a table keeping its own raw text, whose raw text is that line) leaves out of its text every
  column equal to the same column of the line's row in the reference table: those values were searched
  there, once (macro erasure_search_lines).
-#}
{% macro erasure_text_hits(relation, columns, scope, targets, reference=none, known=none) -%}
    {%- set delimiters = customer_segments.sql_string(customer_segments.erasure_token_delimiters()) -%}
    {#- the values do not change during a purge: their shape is asked once (`known`, see erasure_columns) -#}
    {%- if known is none -%}
        {%- set shape = customer_segments.erasure_target_shape(targets) -%}
    {%- else -%}
        {%- if 'shape' not in known -%}
            {%- do known.update({'shape': customer_segments.erasure_target_shape(targets)}) -%}
        {%- endif -%}
        {%- set shape = known['shape'] -%}
    {%- endif -%}
    {#- a token is a maximal run of characters that are not delimiters: the delimiter class, negated -#}
    {%- set token_pattern = customer_segments.erasure_token_delimiters()[:-1] | replace('[', '[^', 1) -%}
    {%- set raw = customer_segments.erasure_purge_columns()['text'] | select('in', columns | map('lower') | list) | list -%}
    {%- if reference is not none -%}
        {#- the line's row in the reference table, when its line has no mention (and is this row's raw text) -#}
        {%- set shared = [] -%}
        {%- for column in columns if column | lower in reference['columns'] -%}
            {%- do shared.append(column) -%}
        {%- endfor -%}
        {%- if raw and raw[0] not in shared -%}
            {{ return(customer_segments.erasure_text_hits(relation, columns, scope, targets, known=known)) }}
        {%- endif -%}
    {%- endif -%}
    {%- set parts = [] -%}
    {%- for column in columns if column | lower not in raw[:1] -%}
        {%- set part = 'lower(cast(rows_in_scope."' ~ column ~ '" as varchar))' -%}
        {%- if raw -%}
            {#- a column whose value the raw text holds verbatim is searched there -#}
            {#- (raw_text is null where the raw text is the line, searched already: lower it here, for the rows that get here) -#}
            {%- set raw_text = 'rows_in_scope.raw_text' if reference is none else 'coalesce(rows_in_scope.raw_text, lower(cast(rows_in_scope."' ~ raw[0] ~ '" as varchar)))' -%}
            {%- set part = 'case when strpos(' ~ raw_text ~ ', ' ~ part ~ ') > 0 then null else ' ~ part ~ ' end' -%}
        {%- endif -%}
        {%- if reference is not none and column in shared -%}
            {#- a value the line's row holds was searched there (compared by hash, see below; the keys by value) -#}
            {%- set same = ('rows_in_scope."' ~ column ~ '" is not distinct from rows_in_scope."line__' ~ column ~ '"')
                if column in reference['keys'] else ('hash(rows_in_scope."' ~ column ~ '") = rows_in_scope."line__' ~ column ~ '"') -%}
            {%- set part = 'case when rows_in_scope.line_clean and ' ~ same ~ ' then null else ' ~ part ~ ' end' -%}
        {%- endif -%}
        {%- do parts.append(part) -%}
    {%- endfor -%}
    {%- if raw -%}
        {%- do parts.insert(0, 'rows_in_scope.raw_text') -%}
    {%- endif %}
    with texts as (
        select
            row_id,
            case when strpos(text, '%') > 0 then text || chr(10) || lower(url_decode(text)) else text end as text
        from (
            select rows_in_scope.row_id, concat_ws(chr(10), {{ parts | join(', ') }}) as text
            from (
            {%- if reference is none %}
                select *, rowid as row_id{% if raw %}, lower(cast("{{ raw[0] }}" as varchar)) as raw_text{% endif %}
                from {{ relation }}
                where {{ scope }}
            {%- else %}
                {#- raw_text: the raw text when it is not the line (the line was searched) -#}
                select *{% if raw %}, case when line_clean then null else lower(cast("{{ raw[0] }}" as varchar)) end as raw_text{% endif %}
                from (
                    select
                        rows_in_scope.*,
                        {%- for column in shared if not (raw and column == raw[0]) %}
                        line."{{ column }}" as "line__{{ column }}",
                        {%- endfor %}
                        line.{{ reference['keys'][0] }} is not null
                            {%- if raw %} and hash(rows_in_scope."{{ raw[0] }}") = line."{{ raw[0] }}"{% endif %} as line_clean
                    from (select *, rowid as row_id from {{ relation }} where {{ scope }}) as rows_in_scope
                    left join (
                        {#- the line's values as 64-bit hashes, not as text: the join carried every text column of
                            every line (at 10M events it took int_events_deduplicated 111 s, 30 s with hashes; stg_segment__events
                            150 s, 50 s). A column is left unsearched only when it differs from its own line's value and
                            has the same hash (odds 2^-64), and then holds a mention that its line, searched clean, did not -#}
                        select {{ reference['keys'] | map('tojson') | join(', ') }}
                            {%- for column in shared | reject('in', reference['keys']) %}, hash("{{ column }}") as "{{ column }}"{% endfor %}
                        from {{ reference['relation'] }}
                        where ({{ reference['keys'] | join(', ') }}) not in (select {{ reference['keys'] | join(', ') }} from {{ reference['mentions'] }})
                    ) as line
                        on {% for key in reference['keys'] %}{% if not loop.first %} and {% endif %}rows_in_scope.{{ key }} = line.{{ key }}{% endfor %}
                ) as joined
            {%- endif %}
            ) as rows_in_scope
        ) as raw_texts
    )
    {%- if shape['min_token'] is not none %},
    tokens as (
        select row_id, unnest(regexp_extract_all(text, {{ customer_segments.sql_string(token_pattern ~ '{' ~ shape['min_token'] ~ ',}') }})) as token
        from texts
    )
    select tokens.row_id, tokens.token as value
    from tokens
    where tokens.token in (
        select lower(identifier_value) from {{ targets }}
        where length(identifier_value) >= 6 and not regexp_matches(identifier_value, {{ delimiters }})
    )
    {%- endif %}
    {%- if shape['with_delimiters'] > 0 %}
    {%- if shape['min_token'] is not none %}
    union
    {%- endif %}
    select texts.row_id, lower(erased.identifier_value) as value
    from texts
    inner join {{ targets }} as erased
        on length(erased.identifier_value) >= 6
        and regexp_matches(erased.identifier_value, {{ delimiters }})
        and strpos(texts.text, lower(erased.identifier_value)) > 0
    {%- endif %}
    {%- if shape['min_token'] is none and shape['with_delimiters'] == 0 %}
    select row_id, cast(null as varchar) as value from texts where false
    {%- endif %}
{%- endmacro %}

{#-
  The raw event lines are searched once per purge, not once per table that holds their text: most
  tables' text is copied from the lines (stg_segment__events, int_events_deduplicated). On-run-end,
  before the tables are purged, erasure_search_lines keeps the keys (source_file, line_number) of the
  rows of the reference table, base_segment__event_lines, whose text mentions a value (searched as
  any table keeping its raw text is: the raw line and the columns it does not hold verbatim). A row of
  a table with those key columns whose line has no mention then searches only its columns that differ
  from the line's row (a value a model built, a verdict); a table keeping its own raw text, only when
  that text is the line. Rows without a mention are never changed by the purge, so the reference stays
  valid while the tables are purged. Spark searches every table (macro spark__purge_table).
-#}
{% macro erasure_line_reference(relation=none, known=none) -%}
    {%- set reference = customer_segments.model_relation('base_segment__event_lines') -%}
    {%- set keys = ['source_file', 'line_number'] -%}
    {%- if reference is none -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set reference_columns = customer_segments.erasure_columns(reference, known) | map(attribute='name') | map('lower') | list -%}
    {%- if relation is none -%}
        {{ return({'relation': reference, 'keys': keys, 'columns': reference_columns, 'mentions': 'erasure_line_mentions'}) }}
    {%- endif -%}
    {%- set columns = customer_segments.erasure_columns(relation, known) | map(attribute='name') | map('lower') | list -%}
    {%- if keys | reject('in', columns) | list or keys | reject('in', reference_columns) | list -%}
        {{ return(none) }}
    {%- endif -%}
    {#- with `known`, asked once: the lines are searched before the tables are purged, and forgotten after -#}
    {%- if known is none or 'lines_searched' not in known -%}
        {%- set searched = run_query("select count(*) from duckdb_tables() where temporary and table_name = 'erasure_line_mentions'").columns[0].values()[0] -%}
        {%- if known is not none -%}
            {%- do known.update({'lines_searched': searched}) -%}
        {%- endif -%}
    {%- else -%}
        {%- set searched = known['lines_searched'] -%}
    {%- endif -%}
    {%- if searched == 0 -%}
        {{ return(none) }}
    {%- endif -%}
    {{ return({'relation': reference, 'keys': keys, 'columns': reference_columns, 'mentions': 'erasure_line_mentions',
               'is_reference': relation.schema == reference.schema and relation.identifier == reference.identifier}) }}
{%- endmacro %}

{% macro erasure_search_lines(targets, known=none) -%}
    {{ return(adapter.dispatch('erasure_search_lines', 'customer_segments')(targets, known=known)) }}
{%- endmacro %}
{% macro default__erasure_search_lines(targets, known=none) -%}
    {%- set reference = customer_segments.erasure_line_reference(known=known) -%}
    {%- if reference is not none -%}
        {%- set hits = customer_segments.erasure_text_hits(reference['relation'], customer_segments.erasure_text_columns(reference['relation'], known), 'true', targets, known=known) -%}
        {%- do run_query(
            'create or replace temporary table erasure_line_mentions as select distinct ' ~ reference['keys'] | join(', ')
            ~ ' from ' ~ reference['relation'] ~ ' where rowid in (select row_id from (' ~ hits ~ ') as hits)'
        ) -%}
    {%- endif -%}
{%- endmacro %}
{% macro spark__erasure_search_lines(targets, known=none) -%}
{%- endmacro %}

{% macro erasure_forget_lines() -%}
    {{ return(adapter.dispatch('erasure_forget_lines', 'customer_segments')()) }}
{%- endmacro %}
{% macro default__erasure_forget_lines() -%}
    {%- do run_query('drop table if exists erasure_line_mentions') -%}
    {#- each table's redaction replaced the previous table's patterns (default__redact_erased) -#}
    {%- do run_query('drop table if exists erasure_redaction_patterns') -%}
{%- endmacro %}
{% macro spark__erasure_forget_lines() -%}
{%- endmacro %}

{#- Condition: the row's `columns` mention a value of `targets` (only rows in `scope`). -#}
{% macro mentions_erased(relation, columns, scope, targets, known=none) -%}
    {{ return(adapter.dispatch('mentions_erased', 'customer_segments')(relation, columns, scope, targets, known=known)) }}
{%- endmacro %}
{% macro default__mentions_erased(relation, columns, scope, targets, known=none) -%}
    rowid in (select row_id from ({{ customer_segments.erasure_text_hits(relation, columns, scope, targets, known=known) }}) as mentions)
{%- endmacro %}
{#-
  Spark: the same search as erasure_text_hits, for tables without row ids (Parquet has none). The rows in
  `scope` are read once: each row's text (spark_erasure_text) is split into tokens at
  erasure_token_delimiters(), tokens of 6 characters or more are joined to the values (a small side, broadcast),
  and values containing a delimiter are found by substring (few). A row is then found again by its text: a
  join on the text with the few texts that hit. Testing every value in every row by substring costs
  rows x values instead (at 1M events the purge had done 5 of about 80 tables after 13 minutes).
  The columns are qualified by the table's name (or `qualifier`): unqualified, a column that targets also
  has (identifier_value, person_id) would be read from targets inside a subquery.
-#}
{% macro spark__mentions_erased(relation, columns, scope, targets, qualifier=none, known=none) -%}
    (({{ scope }}) and coalesce({{ customer_segments.spark_erasure_text(columns, qualifier or relation.identifier) }} in (
        select erasure_text from ({{ customer_segments.spark_erasure_hits(relation, columns, scope, targets) }}) as erasure_mentions
    ), false))
{%- endmacro %}

{#-
  Spark: a row's text as the purge searches it: its string `columns` (qualified by `qualifier`),
  lower-case, one per line; with a raw text column (raw_line, raw, raw_row), the others only where the raw
  text does not hold them verbatim, as on DuckDB (erasure_text_hits).
-#}
{% macro spark_erasure_text(columns, qualifier) -%}
    {%- set prefix = '`' ~ qualifier ~ '`.' -%}
    {%- set raw = customer_segments.erasure_purge_columns()['text'] | select('in', columns | map('lower') | list) | list -%}
    {%- set parts = [] -%}
    {%- for column in columns if column | lower not in raw[:1] -%}
        {%- do parts.append('lower(cast(' ~ prefix ~ '`' ~ column ~ '` as string))') -%}
    {%- endfor -%}
    {%- if raw -%}
        {%- set raw_text = 'lower(cast(' ~ prefix ~ '`' ~ raw[0] ~ '` as string))' -%}
        concat_ws(chr(10), {{ raw_text }}
        {%- for part in parts -%}, case when instr({{ raw_text }}, {{ part }}) > 0 then null else {{ part }} end{%- endfor -%})
    {%- else -%}
        concat_ws(chr(10), {{ parts | join(', ') }})
    {%- endif -%}
{%- endmacro %}

{#-
  Spark: the text as written plus, when it holds a %, URL-decoded (as DuckDB's url_decode: a + stays a +, a
  % that does not start an escape stays as it is; Spark's url_decode would fail the whole text on it).
-#}
{% macro spark_erasure_searched(text) -%}
    case when instr({{ text }}, '%') > 0
        then concat({{ text }}, chr(10), coalesce(lower(try_url_decode(regexp_replace(replace({{ text }}, '+', '%2B'), '%(?![0-9a-f]{2})', '%25'))), ''))
        else {{ text }} end
{%- endmacro %}

{#-
  Spark: one row of two lists of the values of `targets` the text search looks for (6 characters or more,
  lower-case): erasure_words, the values without a delimiter (found as tokens), and erasure_phrases, those
  with one (found by substring). Cross-joined to the rows, as columns: Spark takes no subquery inside a
  higher-order function.
-#}
{% macro spark_erasure_value_lists(targets) -%}
    select
        collect_list(erasure_value) filter (where not erasure_delimited) as erasure_words,
        collect_list(erasure_value) filter (where erasure_delimited) as erasure_phrases
    from (
        select distinct lower(identifier_value) as erasure_value,
            lower(identifier_value) rlike {{ customer_segments.sql_string(customer_segments.erasure_token_delimiters()) }} as erasure_delimited
        from {{ targets }}
        where length(identifier_value) >= 6
    ) as erased
{%- endmacro %}

{#- Spark: (erasure_text, erasure_values) for each distinct text of the rows of `relation` in `scope` that mentions values of `targets`. -#}
{% macro spark_erasure_hits(relation, columns, scope, targets) -%}
    select erasure_text, collect_set(erasure_value) as erasure_values
    from (
        select erasure_text, explode(erasure_candidates) as erasure_value
        from (
            select
                erasure_text,
                concat(
                    filter(split(erasure_searched, {{ customer_segments.sql_string(customer_segments.erasure_token_delimiters()) }}), token -> length(token) >= 6),
                    filter(erasure_lists.erasure_phrases, value -> instr(erasure_searched, value) > 0)
                ) as erasure_candidates
            from (
                select erasure_text, {{ customer_segments.spark_erasure_searched('erasure_text') }} as erasure_searched
                from (
                    select {{ customer_segments.spark_erasure_text(columns, 'erasure_scan') }} as erasure_text
                    from {{ relation }} as erasure_scan
                    where {{ scope }}
                ) as texts
            ) as searched
            cross join ({{ customer_segments.spark_erasure_value_lists(targets) }}) as erasure_lists
        ) as candidates
    ) as tokens
    where erasure_value in (select lower(identifier_value) from {{ targets }} where length(identifier_value) >= 6)
    group by erasure_text
{%- endmacro %}

{#-
  Spark: whether one row's searched text (spark_erasure_searched) mentions a value of spark_erasure_value_lists
  (cross-joined as `lists`), tested in the row: for the few rows already found, after their redaction.
-#}
{% macro spark_erasure_row_mentions(searched, lists) -%}
    coalesce(
        arrays_overlap(split({{ searched }}, {{ customer_segments.sql_string(customer_segments.erasure_token_delimiters()) }}), {{ lists }}.erasure_words)
        or exists({{ lists }}.erasure_phrases, value -> instr({{ searched }}, value) > 0),
        false)
{%- endmacro %}

{#-
  Spark: a string column redacted where its row hit (erasure_hits joined by text): each value the row
  mentions, as written or URL-encoded (as DuckDB's url_encode), in any letter case, becomes [erased].
-#}
{% macro spark_erasure_redacted(column) -%}
    case when erasure_hits.erasure_values is null then {{ column }}
        else regexp_replace({{ column }}, concat('(?i)', array_join(transform(erasure_hits.erasure_values, value ->
            concat('\\Q', replace(value, '\\E', '\\E\\\\E\\Q'), '\\E', case when {{ customer_segments.spark_url_encode('value') }} <> value
                then concat('|\\Q', replace({{ customer_segments.spark_url_encode('value') }}, '\\E', '\\E\\\\E\\Q'), '\\E') else '' end)), '|')), '[erased]')
    end
{%- endmacro %}

{#- Spark: URL-encoded as DuckDB's url_encode does it (a space as %20, * encoded, ~ not). -#}
{% macro spark_url_encode(expression) -%}
    replace(replace(replace(url_encode({{ expression }}), '+', '%20'), '*', '%2A'), '%7E', '~')
{%- endmacro %}


{#-
  Redact, in every row of `relation`, each mention of a value of `targets` in
  its string `columns`: the value, as written in any letter case or
  URL-encoded, becomes [erased]. This is how other people's rows that mention
  an erased person (an email typed into a form, a referrer URL carrying it)
  lose it without being deleted. Returns how many rows it changed (DuckDB; -1
  on Spark, which rewrites the table when any row matches).
-#}
{% macro redact_erased(relation, columns, targets, known=none) -%}
    {{ return(adapter.dispatch('redact_erased', 'customer_segments')(relation, columns, targets, known=known)) }}
{%- endmacro %}
{% macro default__redact_erased(relation, columns, targets, known=none) -%}
    {%- set reference = customer_segments.erasure_line_reference(relation, known) -%}
    {%- if reference is none -%}
        {%- set hits = customer_segments.erasure_text_hits(relation, columns, 'true', targets, known=known) -%}
    {%- elif reference['is_reference'] -%}
        {#- the reference's own rows: only those found mentioning a value before the purge began -#}
        {%- set hits = customer_segments.erasure_text_hits(relation, columns,
            '(' ~ reference['keys'] | join(', ') ~ ') in (select ' ~ reference['keys'] | join(', ') ~ ' from ' ~ reference['mentions'] ~ ')', targets, known=known) -%}
    {%- else -%}
        {%- set hits = customer_segments.erasure_text_hits(relation, columns, 'true', targets, reference, known) -%}
    {%- endif -%}
    {#- DuckDB answers CREATE TABLE AS with the rows it wrote: the rows to redact -#}
    {%- set created = run_query(
        'create or replace temporary table erasure_redaction_patterns as'
        ~ " select row_id, string_agg('\\Q' || replace(value, '\\E', '\\E\\\\E\\Q') || '\\E'"
        ~ " || case when url_encode(value) <> value then '|\\Q' || replace(url_encode(value), '\\E', '\\E\\\\E\\Q') || '\\E' else '' end, '|') as pattern"
        ~ ' from (' ~ hits ~ ') as hits group by row_id'
    ) -%}
    {%- set changed = created.columns[0].values()[0] -%}
    {%- if changed > 0 -%}
        {%- set assignments = [] -%}
        {%- for column in columns -%}
            {%- do assignments.append('"' ~ column ~ '" = regexp_replace(redacted."' ~ column ~ '", patterns.pattern, ' ~ "'[erased]', 'gi')") -%}
        {%- endfor -%}
        {%- do run_query(
            'update ' ~ relation ~ ' as redacted set ' ~ assignments | join(', ')
            ~ ' from erasure_redaction_patterns as patterns where redacted.rowid = patterns.row_id'
        ) -%}
    {%- endif -%}
    {#- kept for the caller (default__purge_table), which checks again only the rows it changed -#}
    {{ return(changed) }}
{%- endmacro %}
{% macro spark__redact_erased(relation, columns, targets, known=none) -%}
    {#- only the rows that mention a value are redacted (with the values they mention); the table is rewritten only when one does -#}
    {%- set hits_join = customer_segments.spark_erasure_hits_join(relation, columns, targets) -%}
    {%- set changed = run_query('select count(*) from ' ~ relation ~ hits_join ~ ' where erasure_hits.erasure_text is not null').columns[0].values()[0] if execute else 0 -%}
    {%- if changed > 0 -%}
        {%- set kept = relation.incorporate(path={'identifier': relation.identifier ~ '__erasure_redacted'}) -%}
        {%- set select_list = [] -%}
        {%- for column in adapter.get_columns_in_relation(relation) -%}
            {%- set qualified = '`' ~ relation.identifier ~ '`.`' ~ column.name ~ '`' -%}
            {%- do select_list.append((customer_segments.spark_erasure_redacted(qualified) if column.name in columns else qualified) ~ ' as `' ~ column.name ~ '`') -%}
        {%- endfor -%}
        {%- do run_query('drop table if exists ' ~ kept) -%}
        {%- do run_query('create table ' ~ kept ~ ' using parquet as select ' ~ select_list | join(', ') ~ ' from ' ~ relation ~ hits_join) -%}
        {%- do customer_segments.spark_replace_table(relation, kept) -%}
    {%- endif -%}
    {{ return(changed) }}
{%- endmacro %}

{#- Spark: a left join of `relation` (unaliased) to erasure_hits, the texts of its rows that mention a value of `targets` (spark_erasure_hits). -#}
{% macro spark_erasure_hits_join(relation, columns, targets) -%}
    {{ return(' left join (' ~ customer_segments.spark_erasure_hits(relation, columns, 'true', targets) ~ ') as erasure_hits on '
        ~ customer_segments.spark_erasure_text(columns, relation.identifier) ~ ' = erasure_hits.erasure_text') }}
{%- endmacro %}


{#- Delete the rows of a table matching a condition (Spark tables without DELETE are rewritten). -#}
{% macro delete_where(relation, condition) -%}
    {{ return(adapter.dispatch('delete_where', 'customer_segments')(relation, condition)) }}
{%- endmacro %}
{% macro default__delete_where(relation, condition) -%}
    delete from {{ relation }} where {{ condition }}
{%- endmacro %}
{% macro spark__delete_where(relation, condition) -%}
    {#- parquet tables cannot DELETE: the other rows are written once to a copy, which replaces the table
        (runs the statements itself); a table without a matching row is not rewritten (one count instead of
        four statements) -#}
    {%- if execute and run_query('select count(*) from ' ~ relation ~ ' where coalesce(' ~ condition ~ ', false)').columns[0].values()[0] > 0 -%}
        {%- set kept = relation.incorporate(path={'identifier': relation.identifier ~ '__erasure_kept'}) -%}
        {%- do run_query('drop table if exists ' ~ kept) -%}
        {%- do run_query('create table ' ~ kept ~ ' using parquet as select * from ' ~ relation ~ ' where not coalesce(' ~ condition ~ ', false)') -%}
        {%- do customer_segments.spark_replace_table(relation, kept) -%}
    {%- endif -%}
    select 1
{%- endmacro %}

{#-
  Spark: `relation` becomes the table `replacement` (same columns): the old table is dropped and the new
  one renamed to its name, so its rows are written once (a copy swapped in with INSERT OVERWRITE writes
  them twice). A managed table's rename moves a folder: on a local or HDFS warehouse that is a rename,
  on object storage a copy (docs/spark.md, On a cluster).
-#}
{% macro spark_replace_table(relation, replacement) -%}
    {%- do run_query('drop table if exists ' ~ relation) -%}
    {%- do run_query('alter table ' ~ replacement ~ ' rename to ' ~ relation) -%}
{%- endmacro %}


{#-
  on-run-end: remove every person of int_erasure_targets from every table the
  project built, then log their hashes in erasure_log and empty
  int_erasure_targets (the only place their values were kept, for this purge),
  all in one transaction: a build killed before it commits leaves the request
  unlogged, and the next build erases the person again (int_erasure_targets
  keeps finding a request until its hash is in the log).
  Rows go when they match by person id (and entity_id of person segments), by
  identifier value, by graph node id, or, for raw lines that could not be
  parsed into id columns (quarantine, malformed lines), by mentioning one of
  the person's identifier values. In the rows that stay (other people's),
  every string column is redacted: each mention of a value becomes [erased]
  (macro redact_erased); a row whose text still mentions one (an odd
  encoding) is deleted. Logs what it did.
  Aggregates built earlier in the same build (member counts, account rollups)
  never counted the erased people: int_identity_person_ids leaves them out.
-#}
{% macro purge_erased_people() -%}
    {%- if not execute or flags.WHICH not in ('build', 'run') -%}
        {{ return('') }}
    {%- endif -%}
    {%- set targets = customer_segments.model_relation('int_erasure_targets') -%}
    {%- if targets is none -%}
        {{ return('') }}
    {%- endif -%}
    {%- set count = run_query('select count(distinct identifier_type || \'|\' || identifier_value) from ' ~ targets).columns[0].values()[0] -%}
    {%- if count == 0 -%}
        {{ return('') }}
    {%- endif -%}
    {%- set log_relation = customer_segments.model_relation('erasure_log') -%}
    {%- do log('Erasure: purging ' ~ count ~ ' identifiers of erased people.', info=true) -%}
    {%- do customer_segments.begin_purge() -%}
    {%- set columns_by_kind = customer_segments.erasure_purge_columns() -%}
    {%- set purged = [] -%}
    {%- set redacted = [] -%}
    {%- set relations = [] -%}
    {%- set node_lookup = [] -%}
    {%- for model in graph.nodes.values()
            if model.resource_type == 'model' and model.package_name == project_name
            and model.config.materialized in ('table', 'incremental') and model.name not in ('int_erasure_targets', 'erasure_log') -%}
        {%- set relation = adapter.get_relation(database=model.database, schema=model.schema, identifier=model.alias) -%}
        {%- if relation is not none and model.name == 'int_identity_nodes' -%}
            {%- do node_lookup.append(relation) -%}
        {%- elif relation is not none -%}
            {%- do relations.append((model.name, relation)) -%}
        {%- endif -%}
    {%- endfor -%}
    {%- set clock = modules.datetime.datetime -%}
    {%- set lines_started = clock.now() -%}
    {#- what the purge looks up once: each table's columns, the values' shape (macro erasure_columns) -#}
    {%- set known = {'columns': {}} -%}
    {%- do customer_segments.erasure_search_lines(targets, known) -%}
    {%- do log('Erasure: event lines searched in ' ~ (clock.now() - lines_started).total_seconds() ~ ' s.') -%}
    {#- int_identity_nodes last: the node ids of other tables are matched through its values -#}
    {%- set ordered = relations + [('int_identity_nodes', node_lookup[0])] if node_lookup else relations -%}
    {#- each table's conditions first (statements), then the tables are counted (Spark: all in one query), then purged -#}
    {%- set plans = [] -%}
    {%- for name, relation in ordered -%}
        {%- set columns = customer_segments.erasure_columns(relation, known) | map(attribute='name') | map('lower') | list -%}
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
        {#- raw lines are deleted when they mention a value only where no id column could match: rows that
            could not be parsed (quarantined, or not JSON, when the table says so) or tables without id
            columns; values shorter than 6 characters match too much free text and are matched in id columns only -#}
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
        {%- set raw_columns = columns_by_kind['text'] | select('in', columns) | list -%}
        {%- if raw_columns and unparsed is not none -%}
            {%- do statements.append(customer_segments.mentions_erased(relation, raw_columns, unparsed, targets, known)) -%}
        {%- endif -%}
        {%- do plans.append({'name': name, 'relation': relation, 'statements': statements}) -%}
    {%- endfor -%}
    {%- set counting_started = clock.now() -%}
    {%- do customer_segments.erasure_count_tables(plans, targets, known) -%}
    {%- do log('Erasure: tables counted in ' ~ (clock.now() - counting_started).total_seconds() ~ ' s.') -%}
    {%- for plan in plans -%}
        {%- set name, relation = plan['name'], plan['relation'] -%}
        {%- set table_started = clock.now() -%}
        {%- set outcome = customer_segments.purge_table(relation, plan['statements'], targets, known) -%}
        {%- if outcome['redacted'] != 0 -%}
            {%- do redacted.append(name ~ (' ' ~ outcome['redacted'] if outcome['redacted'] > 0 else '')) -%}
        {%- endif -%}
        {%- if outcome['deleted'] != 0 -%}
            {%- do purged.append(name ~ ' ' ~ outcome['deleted']) -%}
        {%- endif -%}
        {#- debug level (logs/dbt.log): where a slow purge spends its time -#}
        {%- do log('Erasure: ' ~ name ~ ' purged in ' ~ (clock.now() - table_started).total_seconds() ~ ' s ('
            ~ outcome['deleted'] ~ ' rows deleted, ' ~ outcome['redacted'] ~ ' redacted).') -%}
    {%- endfor -%}
    {%- do customer_segments.erasure_forget_lines() -%}
    {#- the log last: a request counts as done only with everything above -#}
    {%- do run_query(
        'insert into ' ~ log_relation ~ ' (identifier_type, identifier_hash, requested_at, erased_at, build_id)'
        ~ ' select identifier_type, identifier_hash, min(requested_at),'
        ~ " cast('" ~ run_started_at.strftime("%Y-%m-%d %H:%M:%S") ~ "' as timestamp), '" ~ invocation_id ~ "'"
        ~ ' from (select identifier_type, ' ~ customer_segments.erasure_hash('identifier_type', 'identifier_value') ~ ' as identifier_hash, requested_at'
        ~ ' from ' ~ targets ~ " where identifier_type <> 'person_id') as hashed"
        ~ ' where identifier_hash not in (select identifier_hash from ' ~ log_relation ~ ')'
        ~ ' group by 1, 2'
    ) -%}
    {%- do run_query(customer_segments.delete_where(targets, 'true')) -%}
    {%- do customer_segments.recount_segments(relations) -%}
    {#- the daily tables lost the same events as the usable events: their days need not be counted again -#}
    {%- do customer_segments.refresh_day_fingerprints(relations) -%}
    {%- do customer_segments.commit_purge() -%}
    {%- do log('Erasure: ' ~ count ~ ' identifiers of erased people purged from ' ~ purged | length ~ ' tables ('
        ~ purged | join(', ') ~ '); mentions redacted in other rows of ' ~ redacted | length ~ ' tables ('
        ~ redacted | join(', ') ~ ').', info=true) -%}
    {{ return('') }}
{%- endmacro %}


{#-
  One table of the purge: delete its rows matching any of `statements` (conditions), then redact the
  mentions of `targets` in the string columns of the rows that stay, and delete the rows whose text still
  mentions one. Returns {'deleted': rows deleted, 'redacted': rows redacted (-1: some, not counted)}.
-#}
{% macro purge_table(relation, statements, targets, known=none) -%}
    {{ return(adapter.dispatch('purge_table', 'customer_segments')(relation, statements, targets, known=known)) }}
{%- endmacro %}
{% macro default__purge_table(relation, statements, targets, known=none) -%}
    {#- DuckDB answers DELETE with the rows it deleted -#}
    {%- set deleted = [] -%}
    {%- for condition in statements -%}
        {%- do deleted.append(run_query(customer_segments.delete_where(relation, condition)).columns[0].values()[0]) -%}
    {%- endfor -%}
    {#- other people's rows: redact the values in their free text, then drop what could not be redacted -#}
    {%- set text_columns = customer_segments.erasure_text_columns(relation, known) -%}
    {%- set changed = 0 -%}
    {%- if text_columns -%}
        {%- set changed = customer_segments.redact_erased(relation, text_columns, targets, known) -%}
        {%- if changed > 0 -%}
            {#- a row that was not redacted had no mention and is unchanged: only the redacted rows can still have one -#}
            {%- do deleted.append(run_query(customer_segments.delete_where(relation, customer_segments.mentions_erased(relation, text_columns,
                'rowid in (select row_id from erasure_redaction_patterns)', targets, known))).columns[0].values()[0]) -%}
        {%- endif -%}
    {%- endif -%}
    {{ return({'deleted': deleted | sum, 'redacted': changed}) }}
{%- endmacro %}
{#-
  Spark: Parquet tables cannot DELETE or UPDATE, so a table that changes is rewritten; here it is
  rewritten at most once, with every deletion and redaction in the one statement, and a table that
  loses no row and has no mention (most of them) is only read, once, to count both. Mentions are found
  by tokens (spark_erasure_hits, joined to the rows by their text); only the rows that mention a value are
  redacted, with the values they mention, and only those are searched again after their redaction.
-#}
{% macro spark__purge_table(relation, statements, targets, known=none) -%}
    {%- set table = customer_segments.spark_erasure_table(relation, statements, targets, known) -%}
    {%- set text_columns, deleting, hits_join, mentioning = table['text_columns'], table['deleting'], table['hits_join'], table['mentioning'] -%}
    {#- counted with every other table before the purge changed any (erasure_count_tables) -#}
    {%- set before, deleted, mentions = known['counts'][relation | string] -%}
    {%- if deleted == 0 and mentions == 0 -%}
        {{ return({'deleted': 0, 'redacted': 0}) }}
    {%- endif -%}
    {%- set kept = relation.incorporate(path={'identifier': relation.identifier ~ '__erasure_kept'}) -%}
    {%- if mentions > 0 -%}
        {%- set names = [] -%}
        {%- set select_list = [] -%}
        {%- for column in adapter.get_columns_in_relation(relation) -%}
            {%- set qualified = '`' ~ relation.identifier ~ '`.`' ~ column.name ~ '`' -%}
            {%- do names.append('redacted.`' ~ column.name ~ '`') -%}
            {%- do select_list.append((customer_segments.spark_erasure_redacted(qualified) if column.name in text_columns else qualified) ~ ' as `' ~ column.name ~ '`') -%}
        {%- endfor -%}
        {%- set still_mentioning = customer_segments.spark_erasure_row_mentions(
            customer_segments.spark_erasure_searched(customer_segments.spark_erasure_text(text_columns, 'redacted')), 'erasure_lists') -%}
        {%- set rewrite = 'select ' ~ names | join(', ') ~ ' from (select ' ~ select_list | join(', ') ~ ', ' ~ mentioning ~ ' as erasure_hit'
            ~ ' from ' ~ relation ~ hits_join ~ ' where not ' ~ deleting ~ ') as redacted'
            ~ ' cross join (' ~ customer_segments.spark_erasure_value_lists(targets) ~ ') as erasure_lists'
            ~ ' where not (redacted.erasure_hit and ' ~ still_mentioning ~ ')' -%}
    {%- else -%}
        {%- set rewrite = 'select * from ' ~ relation ~ ' where not ' ~ deleting -%}
    {%- endif -%}
    {%- do run_query('drop table if exists ' ~ kept) -%}
    {%- do run_query('create table ' ~ kept ~ ' using parquet as ' ~ rewrite) -%}
    {%- set after = run_query('select count(*) from ' ~ kept).columns[0].values()[0] -%}
    {%- do customer_segments.spark_replace_table(relation, kept) -%}
    {{ return({'deleted': before - after, 'redacted': mentions}) }}
{%- endmacro %}


{#-
  Count every table of the purge before it changes any (`plans`: {name, relation, statements}, in the
  order they are purged), into known['counts']. DuckDB does not need it: its DELETE and CREATE TABLE AS
  say how many rows they touched. Spark counts each table's rows, the rows it deletes and the other rows
  that mention a value (spark_erasure_count) in one query for all of them: one Spark job per table cost
  1-13 s each, most of the purge at test size, for tables that mostly have nothing to purge. The counts
  are those the tables would give one by one: a table's conditions read only `targets` and
  int_identity_nodes, which is purged last.
-#}
{% macro erasure_count_tables(plans, targets, known) -%}
    {{ return(adapter.dispatch('erasure_count_tables', 'customer_segments')(plans, targets, known)) }}
{%- endmacro %}
{% macro default__erasure_count_tables(plans, targets, known) -%}
{%- endmacro %}
{% macro spark__erasure_count_tables(plans, targets, known) -%}
    {%- set counts = {} -%}
    {%- if plans -%}
        {%- set queries = [] -%}
        {%- for plan in plans -%}
            {%- do queries.append(customer_segments.spark_erasure_count(plan['relation'], plan['statements'], targets, known)) -%}
        {%- endfor -%}
        {%- for row in run_query(queries | join('\nunion all\n')).rows -%}
            {%- do counts.update({row[0]: (row[1], row[2], row[3])}) -%}
        {%- endfor -%}
    {%- endif -%}
    {%- do known.update({'counts': counts}) -%}
{%- endmacro %}

{#-
  Spark: what the purge of `relation` is made of: its string columns (text_columns), the condition of
  the rows `statements` delete (deleting), the join to the texts that mention a value of `targets`
  (hits_join) and the condition of a row that mentions one (mentioning).
-#}
{% macro spark_erasure_table(relation, statements, targets, known=none) -%}
    {%- set text_columns = customer_segments.erasure_text_columns(relation, known) -%}
    {%- set parts = [] -%}
    {%- for condition in statements -%}{%- do parts.append('coalesce(' ~ condition ~ ', false)') -%}{%- endfor -%}
    {{ return({
        'text_columns': text_columns,
        'deleting': '(' ~ (parts | join(' or ') if parts else 'false') ~ ')',
        'hits_join': customer_segments.spark_erasure_hits_join(relation, text_columns, targets) if text_columns else '',
        'mentioning': 'erasure_hits.erasure_text is not null' if text_columns else 'false',
    }) }}
{%- endmacro %}

{#- Spark: one row for `relation`: its name, its rows, the rows `statements` delete, the other rows that mention a value of `targets`. -#}
{% macro spark_erasure_count(relation, statements, targets, known=none) -%}
    {%- set table = customer_segments.spark_erasure_table(relation, statements, targets, known) -%}
    select {{ customer_segments.sql_string(relation | string) }} as erasure_table, count(*) as erasure_rows,
        count_if({{ table['deleting'] }}) as erasure_deleted,
        count_if(not {{ table['deleting'] }} and {{ table['mentioning'] }}) as erasure_mentions
    from {{ relation }}{{ table['hits_join'] }}
{%- endmacro %}


{#-
  The purge is one transaction: a statement with auto_begin opens one unless
  dbt already has one open on the hook's connection (its relation look-ups
  open one); commit_purge commits it. Spark has none: every statement is final.
-#}
{% macro begin_purge() -%}
    {{ return(adapter.dispatch('begin_purge', 'customer_segments')()) }}
{%- endmacro %}
{% macro default__begin_purge() -%}
    {%- call statement('erasure_purge_begin', auto_begin=True) -%}
        select 1
    {%- endcall -%}
{%- endmacro %}
{% macro spark__begin_purge() -%}
{%- endmacro %}

{% macro commit_purge() -%}
    {{ return(adapter.dispatch('commit_purge', 'customer_segments')()) }}
{%- endmacro %}
{% macro default__commit_purge() -%}
    {%- do run_query('commit') -%}
{%- endmacro %}
{% macro spark__commit_purge() -%}
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
  that erased them (other aggregates catch up at the next build; docs/privacy.md).
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
    {#- parquet tables cannot UPDATE: the recounted table is written aside and swapped in, as delete_where does -#}
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
            'create table ' ~ recounted ~ ' using parquet as select ' ~ select_list | join(', ')
            ~ ' from ' ~ segments ~ ' as s left join (select segment_id, count(*) as member_count,'
            ~ ' sum(case when is_holdout then 1 else 0 end) as holdout_count from ' ~ found['segment_members']
            ~ ' group by segment_id) as m on m.segment_id = s.segment_id'
        ) -%}
        {%- do customer_segments.spark_replace_table(segments, recounted) -%}
    {%- endif -%}
{%- endmacro %}


{#-
  Post-hook of person_identifiers (incremental by difference): delete the rows
  of identifiers that are no longer in int_identity_person_ids, compared as
  published (an email's sha256 unless var publish_direct_identifiers).
  After the model's delete+insert every current identifier has its one row, so
  the table holds as many rows as int_identity_person_ids exactly when no
  identifier is gone (both are one row per identifier: their tests): then the
  anti-join over every identifier (1.5 s at 10M events) is skipped. A build
  whose batch drops no identifier (no erasure, no retention day passed, nothing
  turned junk or shared) pays two counts.
-#}
{% macro forget_identifiers_gone(relation, identifiers_relation) -%}
    {%- if execute -%}
        {%- set counts = run_query('select (select count(*) from ' ~ relation ~ '), (select count(*) from '
            ~ identifiers_relation ~ ')').rows[0] -%}
        {%- do log(relation.identifier ~ ': ' ~ counts[0] ~ ' rows, ' ~ counts[1] ~ ' identifiers', info=false) -%}
        {%- if counts[0] == counts[1] -%}{{ return('') }}{%- endif -%}
    {%- endif -%}
    {%- set gone -%}
        not exists (
            select 1 from {{ identifiers_relation }} as current_ids
            where current_ids.identifier_type = {{ relation }}.identifier_type
                and {{ customer_segments.published_identifier('current_ids.identifier_type', 'current_ids.identifier_value') }} = {{ relation }}.identifier_value
        )
    {%- endset -%}
    {{ return(customer_segments.delete_where(relation, gone)) }}
{%- endmacro %}
