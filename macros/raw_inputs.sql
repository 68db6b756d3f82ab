{#-
  Reading the raw input folder (docs/contract.md, Inputs).

  Staging models are the only place that knows where raw data lives; they call
  `raw_event_lines()` or `raw_table_rows()` and get back a relation with
  `source_file` (relative to raw_path), `line_number` (1-based line of the row
  in its file, header included) and the raw fields as text. Nothing is typed or
  rejected here: validation and quarantine happen in the staging models, so that
  every row that comes in is accounted for.

  Engine-specific parts are dispatched: DuckDB reads files directly; Spark
  reads them through its `text`/`csv` data sources.
-#}

{#- SQL condition: `column` is one of the strings `values`; false when there are none. -#}
{% macro in_values(column, values) -%}
    {%- if values | length == 0 -%}
        false
    {%- else -%}
        {{ column }} in ({% for value in values %}{{ customer_segments.sql_string(value) }}{{ ', ' if not loop.last }}{% endfor %})
    {%- endif -%}
{%- endmacro %}

{#- A text as a SQL string literal. -#}
{% macro sql_string(value) -%}
    {{ return(adapter.dispatch('sql_string', 'customer_segments')(value)) }}
{%- endmacro %}
{% macro default__sql_string(value) -%}
    '{{ value | string | replace("'", "''") }}'
{%- endmacro %}
{% macro spark__sql_string(value) -%}
    {#- Spark reads backslash escapes in literals, and 'a''b' is two literals ('ab'), not a quote -#}
    '{{ value | string | replace("\\", "\\\\") | replace("'", "\\'") }}'
{%- endmacro %}


{% macro raw_path() -%}
    {{ return((var('raw_path') | string | trim).rstrip('/')) }}
{%- endmacro %}


{#-
  Files under raw_path matching `pattern` (e.g. 'orders.*', or 'events/**/*' for
  every file under events/ at any depth) as [path, version] pairs, sorted by
  path. Hidden files and folders (name starting with `.` or `_`, as Spark and
  Hadoop tools skip them) are not listed. The version is
  '<size in bytes>:<modification time in epoch seconds>': what incremental
  staging compares to notice a file that was rewritten in place (as rsync and
  make do; the content is never read for it).
-#}
{% macro raw_file_versions(pattern) -%}
    {{ return(adapter.dispatch('raw_file_versions', 'customer_segments')(pattern)) }}
{%- endmacro %}

{% macro default__raw_file_versions(pattern) -%}
    {%- if not execute -%}{{ return([]) }}{%- endif -%}
    {%- set root = customer_segments.raw_path() ~ '/' -%}
    {%- set query -%}
        {#- read_blob lists files with their size and time; the content column is not read -#}
        select filename, cast(size as varchar) || ':' || cast(cast(epoch(last_modified) as bigint) as varchar)
        from read_blob({{ customer_segments.sql_string(root ~ pattern) }})
        where not regexp_matches(substr(filename, {{ root | length + 1 }}), '(^|/)[._]')
        order by filename
    {%- endset -%}
    {%- set rows = run_query(query) -%}
    {%- set files = [] -%}
    {%- for row in rows -%}{%- do files.append([row[0], row[1]]) -%}{%- endfor -%}
    {{ return(files) }}
{%- endmacro %}

{% macro spark__raw_file_versions(pattern) -%}
    {#-
      Spark SQL cannot glob a folder, and reading a path that matches nothing
      is an error, so the raw folder is listed once per call through the
      binaryFile source (paths, sizes and times only: the content column is
      never read) and filtered here. Hidden files (`.` or `_` first) are
      skipped by Spark itself. Paths come back as raw_path/<relative name>, as
      on DuckDB.
    -#}
    {%- if not execute -%}{{ return([]) }}{%- endif -%}
    {%- set root = customer_segments.raw_path() -%}
    {%- do run_query("create or replace temporary view customer_segments_raw_files using binaryFile options (path "
        ~ customer_segments.sql_string(root) ~ ", recursiveFileLookup 'true')") -%}
    {%- set listed = run_query("select path, cast(length as string) || ':' || cast(unix_timestamp(modificationTime) as string)"
        ~ " from customer_segments_raw_files") -%}
    {#- Spark qualifies the root (file:/abs/...); a relative root matches at the end of its qualified form -#}
    {%- set parts = [] -%}
    {%- for part in root.split('/') if part not in ('', '.', '..') -%}{%- do parts.append(part) -%}{%- endfor -%}
    {%- set root_regex = ('^[a-z]+:/+' if root.startswith('/') else '^[a-z]+:(?:.*/)?') ~ modules.re.escape(parts | join('/')) -%}
    {%- set name_regex = modules.re.escape(pattern).replace('\\*\\*/', '(?:[^/]+/)*').replace('\\*', '[^/]*') -%}
    {%- set files = [] -%}
    {%- for row in listed -%}
        {%- set found = modules.re.match(root_regex ~ '/(' ~ name_regex ~ ')$', row[0]) -%}
        {%- if found -%}{%- do files.append([root ~ '/' ~ found.group(1), row[1]]) -%}{%- endif -%}
    {%- endfor -%}
    {{ return(files | sort(attribute='0')) }}
{%- endmacro %}


{% macro relative_source_file(path) -%}
    {%- set root = customer_segments.raw_path() ~ '/' -%}
    {{ return(path[root | length:] if path.startswith(root) else path) }}
{%- endmacro %}


{#- ------------------------------------------------------------------ events -#}

{#-
  One row per line of every events file, in events/ or any folder below it
  (JSON lines, optionally .gz, or Parquet whose rows are turned into one JSON
  object each). Columns: source_file, source_file_version (see
  raw_file_versions), line_number (the physical line, 1-based), raw_line,
  raw_line_bytes (its length in the file), raw_line_sha256 and read_error
  (null, or why the line or file could not be read: `invalid_utf8`,
  `line_too_long` (raw_line then holds its first max_raw_line_bytes bytes,
  raw_line_sha256 the hash of all of it), or on line 0, standing for the whole
  file, `binary_file` or `unreadable_file`, raw_line saying why). Blank lines
  are not rows.
  new_files_only: in an incremental run, only the files the calling model has
  not read yet in their current version (unprocessed_files).
-#}
{% macro raw_event_lines(new_files_only=false) -%}
    {%- set listed = customer_segments.raw_file_versions('events/**/*') -%}
    {%- if execute and listed | length == 0 -%}
        {{ exceptions.raise_compiler_error(
            "No event files found in '" ~ customer_segments.raw_path() ~ "/events/'. "
            ~ "Events are the one required input (docs/contract.md, Inputs). Point SEGMENTS_RAW_PATH "
            ~ "at your raw folder, or generate demo data with: python -m customer_segments.generate --out "
            ~ customer_segments.raw_path()) }}
    {%- endif -%}
    {%- if new_files_only -%}
        {%- set listed = customer_segments.unprocessed_files(listed) -%}
    {%- endif -%}
    {%- set files = [] -%}
    {%- set versions = {} -%}
    {%- for path, version in listed -%}
        {%- do files.append(path) -%}
        {%- do versions.update({path: version}) -%}
    {%- endfor -%}
    {{ return(adapter.dispatch('raw_event_lines', 'customer_segments')(files, versions)) }}
{%- endmacro %}


{#-
  Incremental by file, written once for any model that reads raw files this
  way: in an incremental run of the calling model, the [path, version] pairs
  of `listed` whose relative name and version are not yet in its
  `source_file` / `source_file_version` columns (new files, and files
  rewritten since they were read); otherwise all of them. The rows of
  rewritten and deleted files are removed first by forget_changed_raw_files()
  (the model's pre-hook), so the table always holds each file's current lines.
-#}
{% macro unprocessed_files(listed) -%}
    {%- if not (execute and is_incremental()) -%}{{ return(listed) }}{%- endif -%}
    {%- set processed = customer_segments.processed_file_versions() -%}
    {%- set remaining = [] -%}
    {%- for path, version in listed if processed.get(customer_segments.relative_source_file(path)) != version -%}
        {%- do remaining.append([path, version]) -%}
    {%- endfor -%}
    {{ return(remaining) }}
{%- endmacro %}

{#- The calling incremental model's files: {source_file: source_file_version}. -#}
{% macro processed_file_versions() -%}
    {%- set processed = {} -%}
    {%- for row in run_query('select distinct source_file, source_file_version from ' ~ this) -%}
        {%- do processed.update({row[0]: row[1]}) -%}
    {%- endfor -%}
    {{ return(processed) }}
{%- endmacro %}

{#-
  Pre-hook of a model read with unprocessed_files(): delete the rows of files
  that are gone or were rewritten since they were read (their new version is
  read again by the model). Nothing to do, nothing run.
-#}
{% macro forget_changed_raw_files(pattern) -%}
    {%- if not (execute and is_incremental()) -%}{{ return('') }}{%- endif -%}
    {%- set current = {} -%}
    {%- for path, version in customer_segments.raw_file_versions(pattern) -%}
        {%- do current.update({customer_segments.relative_source_file(path): version}) -%}
    {%- endfor -%}
    {{ return(customer_segments.forget_inputs_not_current(current, 'Raw files rewritten or removed since they were read, their old lines dropped')) }}
{%- endmacro %}

{#-
  The statement that deletes this model's rows of every input (file or
  table, by source_file) it read whose version is not the one in `current`
  ({source_file: version}) any more; '' when there is none. Logs `message`
  with how many.
-#}
{% macro forget_inputs_not_current(current, message) -%}
    {%- set stale = [] -%}
    {%- for name, version in customer_segments.processed_file_versions().items() if current.get(name) != version -%}
        {%- do stale.append(customer_segments.sql_string(name)) -%}
    {%- endfor -%}
    {%- if stale | length == 0 -%}{{ return('') }}{%- endif -%}
    {%- do log(message ~ ': ' ~ stale | length, info=true) -%}
    {{ return(customer_segments.delete_where(this, 'source_file in (' ~ stale | join(', ') ~ ')')) }}
{%- endmacro %}

{#-
  Post-hook of a model that keeps a line table's rows incrementally
  (stg_segment__events over base_segment__event_lines): delete its rows of file
  versions the line table no longer holds (files deleted, or rewritten: the new
  version's lines were inserted by the model). Nothing to do, nothing run.
-#}
{% macro forget_lines_of_old_file_versions(lines_relation) -%}
    {%- if not (execute and is_incremental()) -%}{{ return('') }}{%- endif -%}
    {%- set stale = customer_segments.file_versions_not_in(this, lines_relation) -%}
    {%- if stale | length == 0 -%}{{ return('') }}{%- endif -%}
    {#- by file and version: a rewritten file's new version is in the table too, inserted by the model -#}
    {%- set conditions = [] -%}
    {%- for file, version in stale -%}
        {%- do conditions.append('(source_file = ' ~ customer_segments.sql_string(file) ~ ' and source_file_version = '
            ~ customer_segments.sql_string(version) ~ ')') -%}
    {%- endfor -%}
    {{ return(customer_segments.delete_where(this, conditions | join(' or '))) }}
{%- endmacro %}

{#-
  The [source_file, source_file_version] pairs that `relation` holds and
  `other` does not: two scans of the file columns, a few dozen rows. For a
  line table and a table kept from it, the files read or dropped since the
  last build (stg_segment__events, and the post-hook above).
-#}
{% macro file_versions_not_in(relation, other) -%}
    {%- set versions = 'select distinct source_file, source_file_version from ' -%}
    {%- set pairs = [] -%}
    {%- for row in run_query(versions ~ relation ~ ' except ' ~ versions ~ other).rows -%}
        {%- do pairs.append([row[0], row[1]]) -%}
    {%- endfor -%}
    {{ return(pairs) }}
{%- endmacro %}

{#- The event lines' columns, no rows: what reading no file (or no table) gives. -#}
{% macro no_event_lines() -%}
    select
        cast(null as {{ dbt.type_string() }}) as source_file,
        cast(null as {{ dbt.type_string() }}) as source_file_version,
        cast(null as bigint) as line_number,
        cast(null as {{ dbt.type_string() }}) as raw_line,
        cast(null as bigint) as raw_line_bytes,
        cast(null as {{ dbt.type_string() }}) as raw_line_sha256,
        cast(null as {{ dbt.type_string() }}) as read_error
    where 1 = 0
{%- endmacro %}

{#-
  DuckDB: text files are read by the plugin's raw_event_file_lines()
  (customer_segments/warehouse/raw_files.py), which never fails on a bad byte,
  line or file: it marks the line (read_error `invalid_utf8`, `line_too_long`)
  or gives the file one entry on line 0 (`binary_file`, `unreadable_file`).
  A Parquet file is checked whole by raw_parquet_problem() first: one that
  does not read is that one entry, the others are read by DuckDB.
  A plain text file (raw_plain_lines_problem() finds nothing in it that the
  Python reader would mark or treat specially: no bad byte, no long line, no
  empty line, not compressed) is read by DuckDB's own CSV reader instead,
  one row per physical line numbered in file order: the same rows, several
  times faster (docs/benchmarks.md). Any other file takes the Python reader.
-#}
{% macro default__raw_event_lines(files, versions) -%}
    {%- set problems = {} -%}
    {%- set parquet_files = [] -%}
    {%- for file in files if file.endswith('.parquet') -%}{%- do parquet_files.append(file) -%}{%- endfor -%}
    {%- if execute and parquet_files -%}
        {%- for row in run_query('select path, raw_parquet_problem(path) from (values ' ~ customer_segments.sql_values(parquet_files) ~ ') as files(path)') -%}
            {%- if row[1] is not none -%}{%- do problems.update({row[0]: row[1]}) -%}{%- endif -%}
        {%- endfor -%}
    {%- endif -%}
    {%- set plain_files = [] -%}
    {%- set text_files = [] -%}
    {%- for file in files if not file.endswith('.parquet') -%}{%- do text_files.append(file) -%}{%- endfor -%}
    {%- if execute and text_files -%}
        {%- for row in run_query('select path, raw_plain_lines_problem(path, ' ~ var('max_raw_line_bytes') ~ ') from (values '
                ~ customer_segments.sql_values(text_files) ~ ') as files(path)') if row[1] is none -%}
            {%- do plain_files.append(row[0]) -%}
        {%- endfor -%}
    {%- endif -%}
    {%- if files | length == 0 %}
    {{ customer_segments.no_event_lines() }}
    {%- endif %}
    {%- for file in files %}
    {%- if not loop.first %}
    union all
    {%- endif %}
    {%- if file in problems %}
    select
        {{ customer_segments.sql_string(customer_segments.relative_source_file(file)) }} as source_file,
        {{ customer_segments.sql_string(versions[file]) }} as source_file_version,
        cast(0 as bigint) as line_number,
        {{ customer_segments.sql_string(problems[file]) }} as raw_line,
        cast(null as bigint) as raw_line_bytes,
        cast(null as varchar) as raw_line_sha256,
        'unreadable_file' as read_error
    {%- elif file.endswith('.parquet') %}
    select
        source_file, source_file_version, line_number, raw_line,
        strlen(raw_line) as raw_line_bytes,
        cast(null as varchar) as raw_line_sha256,
        cast(null as varchar) as read_error
    from (
        select
            {{ customer_segments.sql_string(customer_segments.relative_source_file(file)) }} as source_file,
            {{ customer_segments.sql_string(versions[file]) }} as source_file_version,
            file_row_number + 1 as line_number,
            {{ customer_segments.parquet_row_as_json(file) }} as raw_line
        from read_parquet({{ customer_segments.sql_string(file) }}, file_row_number = true) as parquet_rows
    ) as rows_of_file
    {%- elif file in plain_files %}
    select
        {{ customer_segments.sql_string(customer_segments.relative_source_file(file)) }} as source_file,
        {{ customer_segments.sql_string(versions[file]) }} as source_file_version,
        line_number,
        raw_line,
        cast(strlen(raw_line) as bigint) as raw_line_bytes,
        cast(null as varchar) as raw_line_sha256,
        cast(null as varchar) as read_error
    from (
        {#- no window order: row_number() counts the rows in the order the reader gives them, the file's -#}
        select row_number() over () as line_number, raw_line
        from read_csv(
            {{ customer_segments.sql_string(file) }},
            columns = {'raw_line': 'varchar'}, header = false, auto_detect = false,
            delim = chr(1), quote = '', escape = '', new_line = '\n',
            max_line_size = {{ [var('max_raw_line_bytes') + 1, 2097152] | max }}
        )
    ) as lines_of_file
    where trim(raw_line) <> ''
    {%- else %}
    select
        {{ customer_segments.sql_string(customer_segments.relative_source_file(file)) }} as source_file,
        {{ customer_segments.sql_string(versions[file]) }} as source_file_version,
        line.line_number,
        line.raw_line,
        line.raw_line_bytes,
        line.raw_line_sha256,
        line.read_error
    from (
        select unnest(raw_event_file_lines({{ customer_segments.sql_string(file) }}, {{ var('max_raw_line_bytes') }})) as line
    ) as lines_of_file
    where line.read_error is not null or trim(line.raw_line) <> ''
    {%- endif %}
    {%- endfor %}
{%- endmacro %}

{#- Texts as the rows of a VALUES list: ('a'), ('b'). -#}
{% macro sql_values(texts) -%}
    {%- set rows = [] -%}
    {%- for text in texts -%}{%- do rows.append('(' ~ customer_segments.sql_string(text) ~ ')') -%}{%- endfor -%}
    {{ return(rows | join(', ')) }}
{%- endmacro %}

{#-
  Spark: its text reader tolerates bad bytes (replaced by U+FFFD, not marked)
  and any line length; a line over max_raw_line_bytes is cut and marked here
  (cut by characters, not bytes). A corrupt file fails the query as on
  Spark generally (docs/quality.md).
-#}
{% macro spark__raw_event_lines(files, versions) -%}
    {%- if files | length == 0 %}
    {{ customer_segments.no_event_lines() }}
    {%- endif %}
    {%- for file in files %}
    {%- if not loop.first %}
    union all
    {%- endif %}
    select
        source_file,
        {{ customer_segments.sql_string(versions[file]) }} as source_file_version,
        line_number,
        case when octet_length(raw_line) > {{ var('max_raw_line_bytes') }}
            then substr(raw_line, 1, {{ var('max_raw_line_bytes') }}) else raw_line end as raw_line,
        cast(octet_length(raw_line) as bigint) as raw_line_bytes,
        case when octet_length(raw_line) > {{ var('max_raw_line_bytes') }} then sha2(raw_line, 256) end as raw_line_sha256,
        case when octet_length(raw_line) > {{ var('max_raw_line_bytes') }} then 'line_too_long' end as read_error
    from (
    {%- if file.endswith('.parquet') %}
        select
            {{ customer_segments.sql_string(customer_segments.relative_source_file(file)) }} as source_file,
            _metadata.row_index + 1 as line_number,
            {{ customer_segments.spark_parquet_row_as_json(file) }} as raw_line
        from parquet.`{{ file }}`
    {%- else %}
        select source_file, line_number, raw_line
        from {{ customer_segments.spark_numbered_lines(file) }} as numbered
        where raw_line is not null and trim(raw_line) <> ''
    {%- endif %}
    ) as lines_of_file
    {%- endfor %}
{%- endmacro %}


{#-
  The lines of one text file (optionally .gz) with their 1-based line number,
  as a subquery (source_file, line_number, raw_line). skip_empty: leave empty
  lines out before numbering (DuckDB's CSV reader skips them; its line reader
  counts them).
  Numbered in parallel, with no window over the lines: the text source reads a
  file in blocks (splits; a .gz file is one), each block in order within one
  task, where monotonically_increasing_id() counts the rows one by one. A
  line's number is its position within its block (its id minus the block's
  first id) plus the lines of the blocks before it in the file
  (input_file_block_start orders them). The blocks' counts are one small
  aggregate; the lines are never shuffled. The file is scanned twice (the ids
  are the same both times: same blocks, same order).
-#}
{% macro spark_numbered_lines(file, skip_empty=false) -%}
    {%- set positioned -%}
        select input_file_block_start() as block_start, monotonically_increasing_id() as line_position, value
        from text.`{{ file }}`
        {%- if skip_empty %}
        where value <> ''
        {%- endif %}
    {%- endset -%}
    (
        select
            {{ customer_segments.sql_string(customer_segments.relative_source_file(file)) }} as source_file,
            positioned.line_position - blocks.first_position + blocks.lines_before + 1 as line_number,
            positioned.value as raw_line
        from ({{ positioned }}) as positioned
        inner join (
            select
                block_start,
                first_position,
                coalesce(sum(line_count) over (order by block_start rows between unbounded preceding and 1 preceding), 0) as lines_before
            from (
                select block_start, min(line_position) as first_position, count(*) as line_count
                from ({{ positioned }}) as block_lines
                group by block_start
            ) as counted
        ) as blocks
            on positioned.block_start = blocks.block_start
    )
{%- endmacro %}


{#- In Parquet, nested objects may be JSON strings: embed them as objects. -#}
{% macro parquet_row_as_json(file) -%}
    {%- set described = run_query("describe select * from read_parquet(" ~ customer_segments.sql_string(file) ~ ")") -%}
    to_json(struct_pack(
    {%- for row in described.rows %}
        {%- set name = row[0] -%}
        {%- set type = row[1] | upper -%}
        "{{ name }}" :=
        {%- if name in ['properties', 'traits', 'context'] and type == 'VARCHAR' %}
            case when json_valid("{{ name }}") then "{{ name }}"::json end
        {%- else %} "{{ name }}"
        {%- endif -%}
        {{ "," if not loop.last }}
    {%- endfor %}
    ))::varchar
{%- endmacro %}


{#-
  Spark: the same JSON object per Parquet row, written out field by field
  (to_json cannot embed a JSON string as an object): nulls as null, nested
  objects kept when they are JSON strings (else null, as on DuckDB).
-#}
{% macro spark_parquet_row_as_json(file) -%}
    {%- set described = run_query("describe query select * from parquet.`" ~ file ~ "`") -%}
    concat('{', concat_ws(','
    {%- for row in described.rows if row[0] and not row[0].startswith('#') %}
        {%- set name = row[0] -%}
        {%- set type = row[1] | lower -%}
        , concat('"{{ name }}":',
        {%- if name in ['properties', 'traits', 'context'] and type == 'string' %}
            case when {{ customer_segments.spark_is_json("`" ~ name ~ "`") }} then `{{ name }}` else 'null' end)
        {%- else %}
            case when `{{ name }}` is null then 'null' else regexp_extract(to_json(named_struct('v', `{{ name }}`)), '^[{]"v":(.*)[}]$', 1) end)
        {%- endif %}
    {%- endfor %}
    ), '}')
{%- endmacro %}


{#- ------------------------------------------------------------ flat tables -#}

{#-
  One row per data row of `<name>.*` (CSV with a header row, optionally .gz, or
  Parquet). All fields come back as text, in the order of `columns`; a column
  the file does not have comes back null if it is optional. `_extra_fields` is
  non-null when a CSV row has more fields than its header (a broken row).
  CSV is read as RFC 4180 (on DuckDB by the plugin's raw_csv_records()): a
  quoted field may hold newlines; line_number is the physical line the row
  starts on and line_count the lines it spans. A record that cannot be split
  into fields has `_read_error` (`unbalanced_quote`, `invalid_utf8`,
  `malformed_csv`, or `unreadable_file` on line 0) and its text in `_raw_text`
  (cut to var max_raw_line_bytes), its fields null.
  `name` is the input's name or its source (raw.<name>). A missing file means
  "none of those" (an empty relation); a file without a
  required column stops the build with an error naming the file.
  `judged_with` is the row's file version and the staging rules' fingerprint
  (macros/incremental_flat_inputs.sql). kept_when_unchanged: in an incremental
  run of the calling model, no rows at all when its table was judged from
  these very files with these rules (flat_input_unchanged).
-#}
{% macro raw_table_rows(name, required_columns, optional_columns=[], kept_when_unchanged=false) -%}
    {#- the staging models pass their source (raw.<name>, models/staging/_raw__sources.yml) -#}
    {%- set name = name if name is string else name.identifier -%}
    {%- set judged_with = customer_segments.flat_input_files(name) -%}
    {%- if kept_when_unchanged and customer_segments.flat_input_unchanged(judged_with) -%}
        {%- set judged_with = {} -%}
    {%- endif -%}
    {{ return(adapter.dispatch('raw_table_rows', 'customer_segments')(judged_with, required_columns, optional_columns)) }}
{%- endmacro %}

{#- `judged_with`: {path: judged_with} of the files to read. -#}
{% macro default__raw_table_rows(judged_with, required_columns, optional_columns) -%}
    {%- set files = judged_with.keys() | sort -%}
    {%- set columns = required_columns + optional_columns -%}
    {%- set selects = [] -%}
    {%- for file in files -%}
        {%- set present = customer_segments.raw_file_columns(file) -%}
        {%- if present is not none -%}
            {%- set missing = [] -%}
            {%- for column in required_columns if column not in present -%}
                {%- do missing.append(column) -%}
            {%- endfor -%}
            {%- if missing -%}
                {{ exceptions.raise_compiler_error(
                    "Input file '" ~ file ~ "' is missing required column(s): " ~ missing | join(', ')
                    ~ ". Its header has: " ~ (present | join(', ') or '(nothing)')
                    ~ ". Expected: " ~ required_columns | join(', ')
                    ~ (" (optional: " ~ optional_columns | join(', ') ~ ")" if optional_columns else "")
                    ~ ". See docs/contract.md, Inputs.") }}
            {%- endif -%}
            {%- do selects.append(customer_segments.raw_file_select(file, present, columns, judged_with[file])) -%}
        {%- else -%}
            {%- do log("customer_segments: input file '" ~ file ~ "' is empty; read as no rows.", info=true) -%}
        {%- endif -%}
    {%- endfor -%}
    {%- if selects | length == 0 %}
    select
        cast(null as {{ dbt.type_string() }}) as source_file,
        cast(null as {{ dbt.type_string() }}) as judged_with,
        cast(null as bigint) as line_number,
        cast(null as bigint) as line_count,
        {%- for column in columns %}
        cast(null as {{ dbt.type_string() }}) as {{ column }},
        {%- endfor %}
        cast(null as {{ dbt.type_string() }}) as _extra_fields,
        cast(null as {{ dbt.type_string() }}) as _read_error,
        cast(null as {{ dbt.type_string() }}) as _raw_text
    where 1 = 0
    {%- else -%}
    {{ selects | join('\n    union all\n') }}
    {%- endif -%}
{%- endmacro %}


{#- The header of a CSV file (lower-cased names) or a Parquet file's columns; none if the file is empty. -#}
{% macro raw_file_columns(file) -%}
    {{ return(adapter.dispatch('raw_file_columns', 'customer_segments')(file)) }}
{%- endmacro %}

{% macro default__raw_file_columns(file) -%}
    {%- if file.endswith('.parquet') -%}
        {%- set described = run_query("describe select * from read_parquet(" ~ customer_segments.sql_string(file) ~ ")") -%}
        {{ return(described.columns[0].values() | map('lower') | list) }}
    {%- endif -%}
    {#- raw_csv_header (customer_segments/warehouse/raw_files.py): null for an empty file, [] for one that cannot be read -#}
    {%- set header_sql = "raw_csv_header(" ~ customer_segments.sql_string(file) ~ ")" -%}
    {%- set size = run_query("select len(" ~ header_sql ~ ")").rows[0][0] -%}
    {%- if size is none -%}{{ return(none) }}{%- endif -%}
    {%- if size == 0 -%}
        {{ exceptions.raise_compiler_error("Input file '" ~ file ~ "' cannot be read (not gzip, or a broken gzip stream). See docs/contract.md, Inputs.") }}
    {%- endif -%}
    {%- set names = [] -%}
    {%- for row in run_query("select unnest(" ~ header_sql ~ ")") -%}{%- do names.append(row[0]) -%}{%- endfor -%}
    {{ return(names) }}
{%- endmacro %}


{#- One file's rows: source_file, line_number, the `columns` as text (null when not `present`), _extra_fields. -#}
{% macro raw_file_select(file, present, columns, judged_with) -%}
    {{ return(adapter.dispatch('raw_file_select', 'customer_segments')(file, present, columns, judged_with)) }}
{%- endmacro %}

{% macro default__raw_file_select(file, present, columns, judged_with) -%}
    select
        {{ customer_segments.sql_string(customer_segments.relative_source_file(file)) }} as source_file,
        {{ customer_segments.sql_string(judged_with) }} as judged_with,
        {%- if file.endswith('.parquet') %}
        file_row_number + 1 as line_number,
        cast(1 as bigint) as line_count,
        {%- for column in columns %}
        {% if column in present %}cast("{{ column }}" as varchar){% else %}cast(null as varchar){% endif %} as {{ column }},
        {%- endfor %}
        cast(null as varchar) as _extra_fields,
        cast(null as varchar) as _read_error,
        cast(null as varchar) as _raw_text
    from read_parquet({{ customer_segments.sql_string(file) }}, file_row_number = true)
        {%- else %}
        csv_record.line_number,
        csv_record.line_count,
        {%- for column in columns %}
        {% if column in present %}csv_record.fields[{{ present.index(column) + 1 }}]{% else %}cast(null as varchar){% endif %} as {{ column }},
        {%- endfor %}
        {#- the first field beyond the header, as DuckDB's null-padding reader reads it -#}
        csv_record.fields[{{ present | length + 1 }}] as _extra_fields,
        csv_record.read_error as _read_error,
        csv_record.raw_text as _raw_text
    from (
        select unnest(raw_csv_records({{ customer_segments.sql_string(file) }}, {{ var('max_raw_line_bytes') }})) as csv_record
    ) as rows_of_file
        {%- endif %}
{%- endmacro %}


{#- Spark: the same checks and columns as DuckDB (default__raw_table_rows), with Spark's readers below. -#}
{% macro spark__raw_table_rows(judged_with, required_columns, optional_columns) -%}
    {{ return(customer_segments.default__raw_table_rows(judged_with, required_columns, optional_columns)) }}
{%- endmacro %}

{% macro spark__raw_file_columns(file) -%}
    {%- if file.endswith('.parquet') -%}
        {%- set described = run_query("describe query select * from parquet.`" ~ file ~ "`") -%}
        {%- set names = [] -%}
        {%- for row in described.rows if row[0] and not row[0].startswith('#') -%}
            {%- do names.append(row[0] | lower) -%}
        {%- endfor -%}
        {{ return(names) }}
    {%- endif -%}
    {#- the first non-empty line: DuckDB's CSV reader skips empty lines too -#}
    {%- set first = run_query("select raw_line from " ~ customer_segments.spark_numbered_lines(file, skip_empty=true) ~ " as lines_of_file where line_number = 1") -%}
    {%- if first.rows | length == 0 or first.rows[0][0] is none or first.rows[0][0] | trim == '' -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set names = [] -%}
    {%- for part in first.rows[0][0].replace('\ufeff', '').split(',') -%}
        {%- do names.append(part | trim | replace('"', '') | lower) -%}
    {%- endfor -%}
    {{ return(names) }}
{%- endmacro %}

{#-
  CSV on Spark: each line is parsed with from_csv against the header's columns
  plus `_extra_fields`, which catches the first field beyond the header (as
  DuckDB's null_padding reader does); quotes are RFC 4180 (doubled "" inside a
  quoted field). Empty lines are skipped and line 1 is the header, so line
  numbers are DuckDB's. Fields spanning lines are not supported here (on DuckDB
  they are): each line is a row.
-#}
{% macro spark__raw_file_select(file, present, columns, judged_with) -%}
    select
        {{ customer_segments.sql_string(customer_segments.relative_source_file(file)) }} as source_file,
        {{ customer_segments.sql_string(judged_with) }} as judged_with,
        {%- if file.endswith('.parquet') %}
        _metadata.row_index + 1 as line_number,
        cast(1 as bigint) as line_count,
        {%- for column in columns %}
        {% if column in present %}cast(`{{ column }}` as string){% else %}cast(null as string){% endif %} as {{ column }},
        {%- endfor %}
        cast(null as string) as _extra_fields,
        cast(null as string) as _read_error,
        cast(null as string) as _raw_text
    from parquet.`{{ file }}`
        {%- else %}
        line_number,
        cast(1 as bigint) as line_count,
        {%- for column in columns %}
        {% if column in present %}parsed.`{{ column }}`{% else %}cast(null as string){% endif %} as {{ column }},
        {%- endfor %}
        parsed._extra_fields as _extra_fields,
        cast(null as string) as _read_error,
        cast(null as string) as _raw_text
    from (
        select
            line_number,
            from_csv(
                raw_line,
                '{% for name in present %}`{{ name | replace("`", "") | replace("'", "") }}` string, {% endfor %}`_extra_fields` string',
                map('quote', '"', 'escape', '"', 'mode', 'PERMISSIVE')
            ) as parsed
        from {{ customer_segments.spark_numbered_lines(file, skip_empty=true) }} as lines_of_file
        where line_number > 1
    ) as rows_of_file
        {%- endif %}
{%- endmacro %}
