{#-
  Reading the raw input folder (CONTRACT.md: Inputs).

  Staging models are the only place that knows where raw data lives; they call
  `raw_event_lines()` or `raw_table_rows()` and get back a relation with
  `source_file` (relative to raw_path), `line_number` (1-based line of the row
  in its file, header included) and the raw fields as text. Nothing is typed or
  rejected here: validation and quarantine happen in the staging models, so that
  every row that comes in is accounted for.

  Engine-specific parts are dispatched: DuckDB reads files directly; Spark
  reads them through its `text`/`csv` data sources.
-#}

{% macro sql_string(value) -%}
    '{{ value | string | replace("'", "''") }}'
{%- endmacro %}


{% macro raw_path() -%}
    {{ return((var('raw_path') | string | trim).rstrip('/')) }}
{%- endmacro %}


{#- Files under raw_path matching `pattern` (e.g. 'events/*', 'orders.*'), sorted. -#}
{% macro list_raw_files(pattern) -%}
    {{ return(adapter.dispatch('list_raw_files', 'customer_segments')(pattern)) }}
{%- endmacro %}

{% macro default__list_raw_files(pattern) -%}
    {%- if not execute -%}{{ return([]) }}{%- endif -%}
    {%- set query -%}
        select file from glob({{ customer_segments.sql_string(customer_segments.raw_path() ~ '/' ~ pattern) }})
        where not regexp_matches(file, '(^|/)[._][^/]*$')
        order by file
    {%- endset -%}
    {%- set rows = run_query(query) -%}
    {{ return(rows.columns[0].values() | list) }}
{%- endmacro %}

{% macro spark__list_raw_files(pattern) -%}
    {#- Spark SQL cannot list a folder; the path pattern itself is handed to the reader. -#}
    {{ return([customer_segments.raw_path() ~ '/' ~ pattern]) }}
{%- endmacro %}


{% macro relative_source_file(path) -%}
    {%- set root = customer_segments.raw_path() ~ '/' -%}
    {{ return(path[root | length:] if path.startswith(root) else path) }}
{%- endmacro %}


{#- ------------------------------------------------------------------ events -#}

{#-
  One row per line of every events file (JSON lines, optionally .gz, or Parquet
  whose rows are turned into one JSON object each). Columns: source_file,
  line_number, raw_line. Blank lines are not rows.
-#}
{% macro raw_event_lines() -%}
    {%- set files = customer_segments.list_raw_files('events/*') -%}
    {%- if execute and files | length == 0 -%}
        {{ exceptions.raise_compiler_error(
            "No event files found in '" ~ customer_segments.raw_path() ~ "/events/'. "
            ~ "Events are the one required input (CONTRACT.md: Inputs). Point SEGMENTS_RAW_PATH "
            ~ "at your raw folder, or generate demo data with: python -m customer_segments.generate --out "
            ~ customer_segments.raw_path()) }}
    {%- endif -%}
    {{ return(adapter.dispatch('raw_event_lines', 'customer_segments')(files)) }}
{%- endmacro %}

{% macro default__raw_event_lines(files) -%}
    {%- if files | length == 0 %}
    select
        cast(null as varchar) as source_file,
        cast(null as bigint) as line_number,
        cast(null as varchar) as raw_line
    where 1 = 0
    {%- endif %}
    {%- for file in files %}
    {%- if not loop.first %}
    union all
    {%- endif %}
    {%- if file.endswith('.parquet') %}
    select
        {{ customer_segments.sql_string(customer_segments.relative_source_file(file)) }} as source_file,
        file_row_number + 1 as line_number,
        {{ customer_segments.parquet_row_as_json(file) }} as raw_line
    from read_parquet({{ customer_segments.sql_string(file) }}, file_row_number = true) as parquet_rows
    {%- else %}
    select source_file, line_number, raw_line
    from (
        {#- A streaming row_number() over one file scan keeps the file's line order. -#}
        select
            {{ customer_segments.sql_string(customer_segments.relative_source_file(file)) }} as source_file,
            row_number() over () as line_number,
            line as raw_line
        from read_csv(
            {{ customer_segments.sql_string(file) }},
            columns = {'line': 'varchar'},
            header = false,
            auto_detect = false,
            delim = chr(1),
            quote = '',
            escape = '',
            max_line_size = 16777216
        )
    ) as lines_of_file
    where raw_line is not null and trim(raw_line) <> ''
    {%- endif %}
    {%- endfor %}
{%- endmacro %}

{% macro spark__raw_event_lines(files) -%}
    select
        input_file_name() as source_file,
        monotonically_increasing_id() + 1 as line_number,
        value as raw_line
    from text.`{{ files[0] }}`
    where trim(value) <> ''
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


{#- ------------------------------------------------------------ flat tables -#}

{#-
  One row per data row of `<name>.*` (CSV with a header row, optionally .gz, or
  Parquet). All fields come back as text, in the order of `columns`; a column
  the file does not have comes back null if it is optional. `_extra_fields` is
  non-null when a CSV row has more fields than its header (a broken row).
  A missing file means "none of those" (an empty relation); a file without a
  required column stops the build with an error naming the file.
-#}
{% macro raw_table_rows(name, required_columns, optional_columns=[]) -%}
    {%- set files = customer_segments.list_raw_files(name ~ '.*') -%}
    {{ return(adapter.dispatch('raw_table_rows', 'customer_segments')(files, required_columns, optional_columns)) }}
{%- endmacro %}

{% macro default__raw_table_rows(files, required_columns, optional_columns) -%}
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
                    ~ ". See CONTRACT.md, Inputs.") }}
            {%- endif -%}
            {%- do selects.append(customer_segments.raw_file_select(file, present, columns)) -%}
        {%- else -%}
            {%- do log("customer_segments: input file '" ~ file ~ "' is empty; read as no rows.", info=true) -%}
        {%- endif -%}
    {%- endfor -%}
    {%- if selects | length == 0 %}
    select
        cast(null as varchar) as source_file,
        cast(null as bigint) as line_number,
        {%- for column in columns %}
        cast(null as varchar) as {{ column }},
        {%- endfor %}
        cast(null as varchar) as _extra_fields
    where 1 = 0
    {%- else -%}
    {{ selects | join('\n    union all\n') }}
    {%- endif -%}
{%- endmacro %}


{#- The header of a CSV file (lower-cased names) or a Parquet file's columns; none if the file is empty. -#}
{% macro raw_file_columns(file) -%}
    {%- if file.endswith('.parquet') -%}
        {%- set described = run_query("describe select * from read_parquet(" ~ customer_segments.sql_string(file) ~ ")") -%}
        {{ return(described.columns[0].values() | map('lower') | list) }}
    {%- endif -%}
    {%- set first = run_query(
        "select line from read_csv(" ~ customer_segments.sql_string(file)
        ~ ", columns = {'line': 'varchar'}, header = false, auto_detect = false, delim = chr(1), quote = '', escape = '') limit 1") -%}
    {%- if first.rows | length == 0 or first.rows[0][0] is none or first.rows[0][0] | trim == '' -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set names = [] -%}
    {%- for part in first.rows[0][0].replace('\ufeff', '').split(',') -%}
        {%- do names.append(part | trim | replace('"', '') | lower) -%}
    {%- endfor -%}
    {{ return(names) }}
{%- endmacro %}


{% macro raw_file_select(file, present, columns) -%}
    select
        {{ customer_segments.sql_string(customer_segments.relative_source_file(file)) }} as source_file,
        {%- if file.endswith('.parquet') %}
        file_row_number + 1 as line_number,
        {%- for column in columns %}
        {% if column in present %}cast("{{ column }}" as varchar){% else %}cast(null as varchar){% endif %} as {{ column }},
        {%- endfor %}
        cast(null as varchar) as _extra_fields
    from read_parquet({{ customer_segments.sql_string(file) }}, file_row_number = true)
        {%- else %}
        line_number,
        {%- for column in columns %}
        {% if column in present %}"{{ column }}"{% else %}cast(null as varchar){% endif %} as {{ column }},
        {%- endfor %}
        _extra_fields
    from (
        select
            *,
            {#- +1: line 1 is the header -#}
            row_number() over () + 1 as line_number
        from read_csv(
            {{ customer_segments.sql_string(file) }},
            columns = {
                {%- for name in present %}
                {{ customer_segments.sql_string(name) }}: 'varchar',
                {%- endfor %}
                '_extra_fields': 'varchar'
            },
            header = true,
            auto_detect = false,
            delim = ',',
            quote = '"',
            escape = '"',
            null_padding = true,
            strict_mode = false,
            max_line_size = 16777216
        )
    ) as rows_of_file
        {%- endif %}
{%- endmacro %}


{% macro spark__raw_table_rows(files, required_columns, optional_columns) -%}
    {#- Only when the model runs: raising at parse time would stop every command on Spark. -#}
    {%- if execute %}
    {{ exceptions.raise_compiler_error(
        "Reading flat raw files on the spark target is not implemented yet (tracked in the scale issue). "
        ~ "Load them as tables and point the staging models there, or build on the dev (DuckDB) target.") }}
    {%- endif %}
{%- endmacro %}
