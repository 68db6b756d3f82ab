{#-
  Where base_segment__event_lines gets its event lines: the raw event files
  (var event_input_shape `files`, source raw.events, macros/raw_inputs.sql) or
  the tables Segment's and RudderStack's warehouse destinations write
  (`segment_warehouse`, source segment_warehouse). Either way the lines have
  the columns of raw_event_lines (source_file, source_file_version,
  line_number, raw_line, raw_line_bytes, raw_line_sha256, read_error), so the
  parsing, the verdicts, the dedup and the taxonomy mapping downstream are the
  same code for both shapes. A warehouse row becomes one Segment-Spec message
  (raw_line): `id` is the messageId, the table says the type, the flattened
  `context_*` columns are the context object again, and the columns outside
  the known ones are the properties (per-event tables: the columns beyond
  those of tracks; pages, screens) or the traits (identifies, groups). Other
  columns of tracks, and `context_*` and `_*` columns, are ignored.
-#}

{#- The event shapes var event_input_shape may name. -#}
{% macro event_input_shapes() -%}
    {{ return(['files', 'segment_warehouse']) }}
{%- endmacro %}

{% macro event_input_shape() -%}
    {%- set shape = var('event_input_shape') | string | trim -%}
    {%- if shape not in customer_segments.event_input_shapes() -%}
        {{ exceptions.raise_compiler_error("event_input_shape must be one of "
            ~ customer_segments.event_input_shapes() | join(', ') ~ ", got " ~ shape) }}
    {%- endif -%}
    {{ return(shape) }}
{%- endmacro %}


{#- The warehouse tables of one message type each (Segment and RudderStack name them alike). -#}
{% macro warehouse_event_tables() -%}
    {{ return({'tracks': 'track', 'pages': 'page', 'screens': 'screen', 'identifies': 'identify',
               'aliases': 'alias', 'groups': 'group'}) }}
{%- endmacro %}

{#-
  Columns a warehouse table must have (a table without one stops the build naming
  the table and the column); every other mapped column is optional and reads as
  null when missing. A track's per-event table needs what tracks needs.
-#}
{% macro warehouse_required_columns(table) -%}
    {%- set common = ['id', 'timestamp', 'received_at'] -%}
    {%- set own = {'tracks': ['event'], 'aliases': ['previous_id'], 'groups': ['group_id']} -%}
    {{ return(common + own.get(table, [])) }}
{%- endmacro %}

{#-
  The columns that are not properties or traits: the message's own fields
  (optional unless required above), bookkeeping columns of the destinations
  (`uuid_ts`, `loaded_at`, `original_timestamp`, `channel`, `event` in a
  per-event table), and every `context_*` or `_*` column.
-#}
{% macro warehouse_known_columns(table) -%}
    {%- set common = ['id', 'anonymous_id', 'user_id', 'timestamp', 'received_at', 'sent_at', 'original_timestamp',
                      'uuid_ts', 'loaded_at', 'channel', 'event', 'event_text'] -%}
    {%- set own = {'pages': ['name'], 'screens': ['name'], 'aliases': ['previous_id'], 'groups': ['group_id']} -%}
    {{ return(common + own.get(table, [])) }}
{%- endmacro %}


{#- The lines of the event input in use (see the top of this file); new_files_only as in raw_event_lines. -#}
{% macro event_input_lines(new_files_only=false) -%}
    {%- if customer_segments.event_input_shape() == 'segment_warehouse' -%}
        {{ return(customer_segments.warehouse_event_lines(new_files_only)) }}
    {%- endif -%}
    {#- the files of source raw.events (models/staging/_raw__sources.yml) -#}
    {%- set events = source('raw', 'events') -%}
    {{ return(customer_segments.raw_event_lines(new_files_only=new_files_only)) }}
{%- endmacro %}


{#- Pre-hook of base_segment__event_lines: forget_changed_raw_files for whichever input is in use. -#}
{% macro forget_changed_event_inputs() -%}
    {%- if customer_segments.event_input_shape() != 'segment_warehouse' -%}
        {{ return(customer_segments.forget_changed_raw_files('events/**/*')) }}
    {%- endif -%}
    {%- if not (execute and is_incremental()) -%}{{ return('') }}{%- endif -%}
    {%- set current = {} -%}
    {%- for input in customer_segments.warehouse_event_inputs() -%}
        {%- do current.update({input.source_file: input.version}) -%}
    {%- endfor -%}
    {{ return(customer_segments.forget_inputs_not_current(current, 'Warehouse event tables changed or removed since they were read, their old rows dropped')) }}
{%- endmacro %}


{#-
  The warehouse event inputs, one dict per file or table: source_file (the
  name its rows keep: the file's path under raw_path, or schema.table),
  version (a file's '<size>:<mtime>'; a table's '<rows>:<newest received_at>'),
  table (tracks, pages, ..., or the track event a per-event table holds),
  type, relation (what to select from), line_number (SQL: the row's number),
  columns {name: type}. Where the tables are: var segment_warehouse_schema
  null reads Parquet files under <raw_path>/warehouse/ (`tracks.parquet`, or
  any `.parquet` file below a `tracks/` folder); set, the tables of the
  segment_warehouse source (its database and schema) in the warehouse. The
  per-event table of a track is the table its `event` value names (Segment
  and RudderStack write `event` as that table's name); tracks rows whose
  event has such a table are read from it, the others from tracks.
-#}
{% macro warehouse_event_inputs() -%}
    {%- set sources = {} -%}
    {%- for table in customer_segments.warehouse_event_tables() -%}
        {%- do sources.update({table: source('segment_warehouse', table)}) -%}
    {%- endfor -%}
    {%- if not execute -%}{{ return([]) }}{%- endif -%}
    {%- set inputs = [] -%}
    {%- for table, type in customer_segments.warehouse_event_tables().items() -%}
        {%- for input in customer_segments.warehouse_table_inputs(sources[table], table) -%}
            {%- do input.update({'table': table, 'type': type}) -%}
            {%- do inputs.append(input) -%}
        {%- endfor -%}
    {%- endfor -%}
    {%- if inputs | length == 0 -%}
        {{ exceptions.raise_compiler_error(
            "No Segment warehouse tables found: var event_input_shape is segment_warehouse, and "
            ~ (("there is no tracks, pages, screens, identifies, aliases or groups table in " ~ sources['tracks'].database ~ "." ~ sources['tracks'].schema)
               if var('segment_warehouse_schema') else
               ("there is no tracks.parquet, pages.parquet, ... (or folder of that name) in '" ~ customer_segments.raw_path() ~ "/warehouse/'"))
            ~ ". Events are the one required input (docs/own-data.md).") }}
    {%- endif -%}
    {#- the per-event tables the tracks name -#}
    {%- set tracks = [] -%}
    {%- for input in inputs if input.table == 'tracks' -%}{%- do tracks.append(input) -%}{%- endfor -%}
    {%- set event_tables = [] -%}
    {%- if tracks -%}
        {%- set names = [] -%}
        {%- for input in tracks -%}
            {%- do names.append('select distinct cast(event as ' ~ dbt.type_string() ~ ') as event from ' ~ input.relation) -%}
        {%- endfor -%}
        {%- for row in run_query(names | join(' union ')) if row[0] is not none
                and modules.re.match('^[a-z0-9_]+$', row[0]) and row[0] not in customer_segments.warehouse_event_tables()
                and row[0] not in ('users', 'accounts') -%}
            {%- set found = customer_segments.warehouse_table_inputs(
                api.Relation.create(database=sources['tracks'].database, schema=sources['tracks'].schema, identifier=row[0]), row[0]) -%}
            {%- for input in found -%}
                {%- do input.update({'table': row[0], 'type': 'track', 'event_table': true}) -%}
                {%- do inputs.append(input) -%}
            {%- endfor -%}
            {%- if found -%}{%- do event_tables.append(row[0]) -%}{%- endif -%}
        {%- endfor -%}
        {%- for input in tracks -%}{%- do input.update({'event_tables': event_tables | sort}) -%}{%- endfor -%}
        {#- a per-event table repeats the columns of tracks: its properties are the columns beyond those -#}
        {%- set tracks_columns = [] -%}
        {%- for input in tracks -%}{%- do tracks_columns.extend(input.columns.keys()) -%}{%- endfor -%}
        {%- for input in inputs if input.get('event_table') -%}{%- do input.update({'not_payload': tracks_columns}) -%}{%- endfor -%}
    {%- endif -%}
    {%- for input in inputs -%}
        {%- set required = customer_segments.warehouse_required_columns('tracks' if input.get('event_table') else input.table) -%}
        {%- for column in required if column not in input.columns -%}
            {{ exceptions.raise_compiler_error(
                "Segment warehouse table " ~ input.table ~ " (" ~ input.source_file ~ ") has no column " ~ column
                ~ ". Required in " ~ ('a per-event table' if input.get('event_table') else input.table) ~ ": " ~ required | join(', ')
                ~ " (docs/own-data.md, From warehouse tables).") }}
        {%- endfor -%}
    {%- endfor -%}
    {{ return(inputs) }}
{%- endmacro %}


{#- The inputs of one warehouse table (none when it does not exist): see warehouse_event_inputs. -#}
{% macro warehouse_table_inputs(relation, table) -%}
    {%- set inputs = [] -%}
    {%- if var('segment_warehouse_schema') -%}
        {%- set found = adapter.get_relation(database=relation.database, schema=relation.schema, identifier=relation.identifier) -%}
        {%- if found is not none -%}
            {%- set columns = customer_segments.relation_column_types(found) -%}
            {%- set newest = ('cast(max(received_at) as ' ~ dbt.type_string() ~ ')') if 'received_at' in columns else "''" -%}
            {%- set version = run_query('select cast(count(*) as ' ~ dbt.type_string() ~ '), ' ~ newest ~ ' from ' ~ found).rows[0] -%}
            {%- do inputs.append({
                'source_file': found.schema ~ '.' ~ found.identifier,
                'version': version[0] ~ ':' ~ (version[1] or ''),
                'relation': found | string,
                'line_number': 'row_number() over (order by '
                    ~ ('received_at, ' if 'received_at' in columns else '') ~ ('id' if 'id' in columns else '1') ~ ')',
                'columns': columns}) -%}
        {%- endif -%}
    {%- else -%}
        {%- for path, version in customer_segments.raw_file_versions('warehouse/' ~ table ~ '.parquet')
                + customer_segments.raw_file_versions('warehouse/' ~ table ~ '/**/*.parquet') -%}
            {%- set read = 'read_parquet(' ~ customer_segments.sql_string(path) ~ ', file_row_number = true)' -%}
            {%- do inputs.append({
                'source_file': customer_segments.relative_source_file(path),
                'version': version,
                'relation': read,
                'line_number': 'file_row_number + 1',
                'added_columns': ['file_row_number'],
                'columns': customer_segments.relation_column_types(read)}) -%}
        {%- endfor -%}
    {%- endif -%}
    {{ return(inputs) }}
{%- endmacro %}

{#- {lower-cased column name: upper-cased type} of a relation or table expression. -#}
{% macro relation_column_types(relation) -%}
    {%- set columns = {} -%}
    {%- for row in run_query('describe select * from ' ~ relation).rows -%}
        {%- do columns.update({row[0] | lower: row[1] | upper}) -%}
    {%- endfor -%}
    {{ return(columns) }}
{%- endmacro %}


{#- The lines of the warehouse event inputs (new_files_only: those not read yet in their version). -#}
{% macro warehouse_event_lines(new_files_only=false) -%}
    {{ return(adapter.dispatch('warehouse_event_lines', 'customer_segments')(new_files_only)) }}
{%- endmacro %}

{#- The inputs to read: all, or those not read yet in their current version. -#}
{% macro warehouse_inputs_to_read(new_files_only) -%}
    {%- set inputs = customer_segments.warehouse_event_inputs() -%}
    {%- if new_files_only and execute and is_incremental() -%}
        {%- set processed = customer_segments.processed_file_versions() -%}
        {%- set remaining = [] -%}
        {%- for input in inputs if processed.get(input.source_file) != input.version -%}
            {%- do remaining.append(input) -%}
        {%- endfor -%}
        {{ return(remaining) }}
    {%- endif -%}
    {{ return(inputs) }}
{%- endmacro %}

{% macro default__warehouse_event_lines(new_files_only) -%}
    {%- set inputs = customer_segments.warehouse_inputs_to_read(new_files_only) -%}
    {%- if inputs | length == 0 %}
    {{ customer_segments.no_event_lines() }}
    {%- endif %}
    {%- for input in inputs %}
    {%- if not loop.first %}
    union all
    {%- endif %}
    select
        {{ customer_segments.sql_string(input.source_file) }} as source_file,
        {{ customer_segments.sql_string(input.version) }} as source_file_version,
        line_number,
        raw_line,
        cast(strlen(raw_line) as bigint) as raw_line_bytes,
        cast(null as varchar) as raw_line_sha256,
        cast(null as varchar) as read_error
    from (
        select
            cast({{ input.line_number }} as bigint) as line_number,
            {{ customer_segments.warehouse_row_as_message(input) }} as raw_line
        from {{ input.relation }} as warehouse_rows
        {%- if input.get('event_tables') %}
        where event is null or event not in (
            {%- for name in input.event_tables %}{{ customer_segments.sql_string(name) }}{{ ', ' if not loop.last }}{% endfor -%}
        )
        {%- endif %}
    ) as rows_of_table
    {%- endfor %}
{%- endmacro %}

{% macro spark__warehouse_event_lines(new_files_only) -%}
    {%- for table in customer_segments.warehouse_event_tables() -%}{%- set lineage = source('segment_warehouse', table) -%}{%- endfor -%}
    {%- if not execute -%}{{ return('select 1') }}{%- endif -%}
    {{ exceptions.raise_compiler_error("event_input_shape segment_warehouse is not supported on Spark yet (docs/spark.md): use the event files.") }}
{%- endmacro %}


{#- One warehouse row as the Segment-Spec message it was, as text (DuckDB: json_object). -#}
{% macro warehouse_row_as_message(input) -%}
    {{ return(adapter.dispatch('warehouse_row_as_message', 'customer_segments')(input)) }}
{%- endmacro %}
{% macro default__warehouse_row_as_message(input) -%}
    {%- set columns = input.columns -%}
    {%- set known = customer_segments.warehouse_known_columns('tracks' if input.get('event_table') else input.table) -%}
    {%- set payload = [] -%}
    {%- for name in columns if name not in known and name not in input.get('not_payload', [])
            and name not in input.get('added_columns', [])
            and not name.startswith('context_') and not name.startswith('_') -%}
        {%- do payload.append(name) -%}
    {%- endfor -%}
    {#- tracks itself holds no properties (its per-event tables do): other columns there are ignored -#}
    {%- if input.table == 'tracks' -%}{%- set payload = [] -%}{%- endif -%}
    {%- set payload_key = 'traits' if input.type in ('identify', 'group') else 'properties' -%}
    json_object(
        'messageId', {{ customer_segments.warehouse_text(columns, 'id') }},
        'type', '{{ input.type }}',
        'anonymousId', {{ customer_segments.warehouse_text(columns, 'anonymous_id') }},
        'userId', {{ customer_segments.warehouse_text(columns, 'user_id') }},
        {%- if input.type == 'track' %}
        'event', {{ 'coalesce(' ~ customer_segments.warehouse_text(columns, 'event_text') ~ ', ' ~ customer_segments.warehouse_text(columns, 'event') ~ ')' }},
        {%- elif input.type in ('page', 'screen') %}
        'name', {{ customer_segments.warehouse_text(columns, 'name') }},
        {%- elif input.type == 'group' %}
        'groupId', {{ customer_segments.warehouse_text(columns, 'group_id') }},
        {%- elif input.type == 'alias' %}
        'previousId', {{ customer_segments.warehouse_text(columns, 'previous_id') }},
        {%- endif %}
        '{{ payload_key }}', json_object(
            {%- for name in payload %}
            '{{ name }}', "{{ name }}"{{ ',' if not loop.last }}
            {%- endfor %}
        ),
        'context', json_object(
            {#- RudderStack also writes context_request_ip (the address its server saw) -#}
            'ip', coalesce({{ customer_segments.warehouse_text(columns, 'context_ip') }}, {{ customer_segments.warehouse_text(columns, 'context_request_ip') }}),
            'page', json_object(
                'path', {{ customer_segments.warehouse_text(columns, 'context_page_path') }},
                'url', {{ customer_segments.warehouse_text(columns, 'context_page_url') }},
                'referrer', {{ customer_segments.warehouse_text(columns, 'context_page_referrer') }}),
            'device', json_object('id', {{ customer_segments.warehouse_text(columns, 'context_device_id') }}),
            'campaign', json_object(
                'source', {{ customer_segments.warehouse_text(columns, 'context_campaign_source') }},
                'medium', {{ customer_segments.warehouse_text(columns, 'context_campaign_medium') }}),
            'userAgent', {{ customer_segments.warehouse_text(columns, 'context_user_agent') }}),
        'timestamp', {{ customer_segments.warehouse_text(columns, 'timestamp') }},
        'receivedAt', {{ customer_segments.warehouse_text(columns, 'received_at') }},
        'sentAt', {{ customer_segments.warehouse_text(columns, 'sent_at') }}
    )::varchar
{%- endmacro %}

{#- A warehouse column as text (timestamps as ISO-8601 UTC with a Z), or null when the table does not have it. -#}
{% macro warehouse_text(columns, name) -%}
    {{ return(adapter.dispatch('warehouse_text', 'customer_segments')(columns, name)) }}
{%- endmacro %}
{% macro default__warehouse_text(columns, name) -%}
    {%- if name not in columns -%}
        cast(null as varchar)
    {%- elif 'TIMESTAMP' in columns[name] -%}
        strftime(timezone('UTC', cast("{{ name }}" as timestamptz)), '%Y-%m-%dT%H:%M:%S.%fZ')
    {%- else -%}
        cast("{{ name }}" as varchar)
    {%- endif -%}
{%- endmacro %}
