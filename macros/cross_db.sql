{#-
  Small cross-engine helpers on top of dbt's own cross-database macros.
  One implementation per engine, side by side: DuckDB (default) and Spark.
-#}

{#- A scalar field of a JSON text, as text (null if absent, or not JSON). -#}
{% macro json_text(json_column, path) -%}
    {{ return(adapter.dispatch('json_text', 'customer_segments')(json_column, path)) }}
{%- endmacro %}
{% macro default__json_text(json_column, path) -%}
    json_extract_string({{ json_column }}, '{{ path }}')
{%- endmacro %}
{% macro spark__json_text(json_column, path) -%}
    get_json_object({{ json_column }}, '{{ path }}')
{%- endmacro %}


{#- A scalar field of a JSON text at a path computed per row (e.g. from a seed), as text. -#}
{% macro json_text_at(json_column, path_expression) -%}
    {{ return(adapter.dispatch('json_text_at', 'customer_segments')(json_column, path_expression)) }}
{%- endmacro %}
{% macro default__json_text_at(json_column, path_expression) -%}
    json_extract_string({{ json_column }}, {{ path_expression }})
{%- endmacro %}
{% macro spark__json_text_at(json_column, path_expression) -%}
    get_json_object({{ json_column }}, {{ path_expression }})
{%- endmacro %}


{#- A nested object or array of a JSON text, as minified JSON text. -#}
{% macro json_fragment(json_column, path) -%}
    {{ return(adapter.dispatch('json_fragment', 'customer_segments')(json_column, path)) }}
{%- endmacro %}
{% macro default__json_fragment(json_column, path) -%}
    cast(json_extract({{ json_column }}, '{{ path }}') as varchar)
{%- endmacro %}
{% macro spark__json_fragment(json_column, path) -%}
    get_json_object({{ json_column }}, '{{ path }}')
{%- endmacro %}


{#- True when the text is a well-formed JSON object; never errors. -#}
{% macro is_json_object(text_column) -%}
    {{ return(adapter.dispatch('is_json_object', 'customer_segments')(text_column)) }}
{%- endmacro %}
{#-
  DuckDB: a valid JSON text whose first character after JSON white space (space, tab, line feed,
  carriage return) is `{` is an object: one parse per line (json_valid) instead of two (json_type
  parses again), 1.3 s less per million lines.
-#}
{% macro default__is_json_object(text_column) -%}
    coalesce(json_valid({{ text_column }}) and regexp_matches({{ text_column }}, '^[ \t\n\r]*[{]'), false)
{%- endmacro %}
{% macro spark__is_json_object(text_column) -%}
    coalesce({{ text_column }} rlike '^\\s*[{]' and {{ customer_segments.spark_is_json(text_column) }}, false)
{%- endmacro %}


{#-
  The hint after `<cte> as` that makes the engine compute a CTE once and keep it (materialized=true),
  or compute it again where it is read (false). DuckDB keeps a CTE read more than once whole, every
  column of it; Spark has no hint (it inlines CTEs).
-#}
{% macro cte_materialization(materialized) -%}
    {{ return(adapter.dispatch('cte_materialization', 'customer_segments')(materialized)) }}
{%- endmacro %}
{% macro default__cte_materialization(materialized) -%}
    {{ 'materialized' if materialized else 'not materialized' }}
{%- endmacro %}
{% macro spark__cte_materialization(materialized) -%}
{%- endmacro %}


{#-
  Spark: true when the text is one well-formed JSON value, null when not.
  Spark's JSON functions parse the first value and ignore what follows
  (`{"a":1}}` passes get_json_object, from_json and try_parse_json), so the
  text is parsed as the first element of an array closed by a sentinel: any
  trailing text breaks the array, ends it early or adds an element.
-#}
{% macro spark_is_json(text_column) -%}
    (get_json_object(concat('[', {{ text_column }}, ',"~customer_segments~"]'), '$[1]') = '~customer_segments~'
        and json_array_length(concat('[', {{ text_column }}, ',"~customer_segments~"]')) = 2)
{%- endmacro %}


{#-
  One md5 text for a tuple of text columns, null-safe and unambiguous: each
  value is written as its length, ':' and itself, a null as '-', joined by
  '|'. Two tuples get the same key only if every column is equal or both null
  (as a window's partition by them would group them), md5 collisions aside.
-#}
{% macro null_safe_key(columns) -%}
    {%- set parts = [] -%}
    {%- for column in columns -%}
        {%- do parts.append("coalesce(cast(length(" ~ column ~ ") as " ~ dbt.type_string() ~ ") || ':' || " ~ column ~ ", '-')") -%}
    {%- endfor -%}
    {{ dbt.hash(parts | join(" || '|' || ")) }}
{%- endmacro %}


{#-
  ISO-8601 text with or without an offset -> timestamp in UTC (no time zone).
  Text without an offset is taken as UTC. Unparseable text gives null.
-#}
{% macro to_utc_timestamp(text_column) -%}
    {{ return(adapter.dispatch('to_utc_timestamp', 'customer_segments')(text_column)) }}
{%- endmacro %}
{% macro default__to_utc_timestamp(text_column) -%}
    timezone('UTC', try_cast({{ text_column }} as timestamptz))
{%- endmacro %}
{% macro spark__to_utc_timestamp(text_column) -%}
    try_to_timestamp({{ text_column }})
{%- endmacro %}


{#- Lower-case letters and digits only: 'Page Viewed', 'page_viewed', 'PageViewed' -> 'pageviewed'. -#}
{% macro name_key(text_column) -%}
    {{ return(adapter.dispatch('name_key', 'customer_segments')(text_column)) }}
{%- endmacro %}
{% macro default__name_key(text_column) -%}
    lower(regexp_replace(coalesce({{ text_column }}, ''), '[^A-Za-z0-9]', '', 'g'))
{%- endmacro %}
{% macro spark__name_key(text_column) -%}
    lower(regexp_replace(coalesce({{ text_column }}, ''), '[^A-Za-z0-9]', ''))
{%- endmacro %}


{#- A row of named text columns as one JSON text, for quarantine's `raw`. -#}
{% macro row_as_json(columns) -%}
    {{ return(adapter.dispatch('row_as_json', 'customer_segments')(columns)) }}
{%- endmacro %}
{% macro default__row_as_json(columns) -%}
    cast(to_json(struct_pack(
        {%- for column in columns %}
        "{{ column }}" := {{ column }}{{ "," if not loop.last }}
        {%- endfor %}
    )) as varchar)
{%- endmacro %}
{% macro spark__row_as_json(columns) -%}
    to_json(named_struct(
        {%- for column in columns %}
        '{{ column }}', {{ column }}{{ "," if not loop.last }}
        {%- endfor %}
    ))
{%- endmacro %}


{#- Text that is null, empty or only white space counts as missing. -#}
{% macro is_blank(text_column) -%}
    ({{ text_column }} is null or trim({{ text_column }}) = '')
{%- endmacro %}


{#- A trimmed, lower-cased email that has one '@' with something on both sides, else null. -#}
{% macro clean_email(text_column) -%}
    case
        when {{ text_column }} like '%_@_%' and {{ text_column }} not like '%@%@%'
            then lower(trim({{ text_column }}))
    end
{%- endmacro %}


{#- Regular-expression match, true/false. -#}
{% macro regex_matches(text_column, pattern) -%}
    {{ return(adapter.dispatch('regex_matches', 'customer_segments')(text_column, pattern)) }}
{%- endmacro %}
{% macro default__regex_matches(text_column, pattern) -%}
    regexp_matches({{ text_column }}, '{{ pattern }}')
{%- endmacro %}
{% macro spark__regex_matches(text_column, pattern) -%}
    ({{ text_column }} rlike {{ customer_segments.sql_string(pattern) }})
{%- endmacro %}


{#- Regular-expression match where the pattern is itself SQL (a column or an expression built from one), true/false. -#}
{% macro regex_matches_expression(text_expression, pattern_expression) -%}
    {{ return(adapter.dispatch('regex_matches_expression', 'customer_segments')(text_expression, pattern_expression)) }}
{%- endmacro %}
{% macro default__regex_matches_expression(text_expression, pattern_expression) -%}
    regexp_matches({{ text_expression }}, {{ pattern_expression }})
{%- endmacro %}
{% macro spark__regex_matches_expression(text_expression, pattern_expression) -%}
    ({{ text_expression }} rlike {{ pattern_expression }})
{%- endmacro %}


{#- Dotted IPv4 text -> its number (0 .. 2^32-1), null when not a valid address. -#}
{% macro ipv4_to_number(text_column) -%}
    case
        when {{ customer_segments.regex_matches('trim(' ~ text_column ~ ')', '^[0-9]{1,3}[.][0-9]{1,3}[.][0-9]{1,3}[.][0-9]{1,3}$') }}
            and cast(split_part(trim({{ text_column }}), '.', 1) as bigint) <= 255
            and cast(split_part(trim({{ text_column }}), '.', 2) as bigint) <= 255
            and cast(split_part(trim({{ text_column }}), '.', 3) as bigint) <= 255
            and cast(split_part(trim({{ text_column }}), '.', 4) as bigint) <= 255
        then
            cast(split_part(trim({{ text_column }}), '.', 1) as bigint) * 16777216
            + cast(split_part(trim({{ text_column }}), '.', 2) as bigint) * 65536
            + cast(split_part(trim({{ text_column }}), '.', 3) as bigint) * 256
            + cast(split_part(trim({{ text_column }}), '.', 4) as bigint)
    end
{%- endmacro %}


{#- 'true'/'yes'/'1' -> true, 'false'/'no'/'0' -> false, anything else -> null. -#}
{% macro parse_boolean(text_column) -%}
    case
        when lower(trim({{ text_column }})) in ('true', 't', 'yes', 'y', '1') then true
        when lower(trim({{ text_column }})) in ('false', 'f', 'no', 'n', '0') then false
    end
{%- endmacro %}


{#- A stable bucket 0..9999 from the md5 of a text: same input, same bucket, on every engine. -#}
{% macro stable_bucket(text_expression) -%}
    {{ return(adapter.dispatch('stable_bucket', 'customer_segments')(text_expression)) }}
{%- endmacro %}
{% macro default__stable_bucket(text_expression) -%}
    (cast(('0x' || substr(md5({{ text_expression }}), 1, 8)) as bigint) % 10000)
{%- endmacro %}
{% macro spark__stable_bucket(text_expression) -%}
    (cast(conv(substr(md5({{ text_expression }}), 1, 8), 16, 10) as bigint) % 10000)
{%- endmacro %}


{#- Stop the query with this message (a runtime error the build reports). -#}
{% macro raise_error(message_expression) -%}
    {{ return(adapter.dispatch('raise_error', 'customer_segments')(message_expression)) }}
{%- endmacro %}
{% macro default__raise_error(message_expression) -%}
    error({{ message_expression }})
{%- endmacro %}
{% macro spark__raise_error(message_expression) -%}
    raise_error({{ message_expression }})
{%- endmacro %}


{#- Texts joined with a separator, in a stable order. -#}
{% macro string_agg_ordered(expression, separator, order_by) -%}
    {{ return(adapter.dispatch('string_agg_ordered', 'customer_segments')(expression, separator, order_by)) }}
{%- endmacro %}
{% macro default__string_agg_ordered(expression, separator, order_by) -%}
    string_agg({{ expression }}, {{ separator }} order by {{ order_by }})
{%- endmacro %}
{% macro spark__string_agg_ordered(expression, separator, order_by) -%}
    array_join(transform(array_sort(collect_list(struct({{ order_by }} as k, {{ expression }} as v))), x -> x.v), {{ separator }})
{%- endmacro %}


{#-
  Select `keep` columns of `relation` plus named fields of its JSON text column:
  `texts` as (alias, path) pairs of scalar fields (as text), `fragments` as
  (alias, path) pairs of nested objects (as JSON text). DuckDB parses each
  line once for all paths (one call per field parses it once per field:
  six times slower on a million lines); Spark extracts them one by one.
-#}
{% macro select_json_fields(relation, json_column, keep, texts, fragments) -%}
    {{ return(adapter.dispatch('select_json_fields', 'customer_segments')(relation, json_column, keep, texts, fragments)) }}
{%- endmacro %}
{% macro default__select_json_fields(relation, json_column, keep, texts, fragments) -%}
    select
        {%- for column in keep %}
        {{ column }},
        {%- endfor %}
        {%- for alias, path in texts %}
        json_texts[{{ loop.index }}] as {{ alias }},
        {%- endfor %}
        {%- for alias, path in fragments %}
        cast(json_fragments[{{ loop.index }}] as varchar) as {{ alias }}{{ "," if not loop.last }}
        {%- endfor %}
    from (
        select
            *,
            json_extract_string({{ json_column }}, [{% for alias, path in texts %}'{{ path }}'{{ ", " if not loop.last }}{% endfor %}]) as json_texts,
            json_extract({{ json_column }}, [{% for alias, path in fragments %}'{{ path }}'{{ ", " if not loop.last }}{% endfor %}]) as json_fragments
        from {{ relation }}
    ) as parsed
{%- endmacro %}
{% macro spark__select_json_fields(relation, json_column, keep, texts, fragments) -%}
    select
        {%- for column in keep %}
        {{ column }},
        {%- endfor %}
        {%- for alias, path in texts + fragments %}
        get_json_object({{ json_column }}, '{{ path }}') as {{ alias }}{{ "," if not loop.last }}
        {%- endfor %}
    from {{ relation }}
{%- endmacro %}


{#-
  The sum of a double column, the same whatever order the engine adds the rows
  in: each term is rounded to 12 decimals and added as a decimal (exact), then
  turned back into a double. A plain sum of doubles depends on the order of
  the rows, which parallel aggregation changes from build to build, so a
  rebuild on the same data would change scores in the 15th digit.
-#}
{% macro exact_sum(expression) -%}
    cast({{ customer_segments.exact_partial_sum(expression) }} as double)
{%- endmacro %}

{#-
  exact_sum in two steps, for a sum taken over groups first: exact_partial_sum
  sums the rounded terms as a decimal (a column of the grouped rows),
  exact_total sums those partial sums and turns the total into a double. The
  result is exact_sum over the same terms, however the rows were grouped.
-#}
{% macro exact_partial_sum(expression) -%}
    sum(cast({{ expression }} as decimal(38, 12)))
{%- endmacro %}
{% macro exact_total(partial_sum_column) -%}
    cast(sum({{ partial_sum_column }}) as double)
{%- endmacro %}

{#-
  A count times a double factor as an exact decimal term for the sums above:
  the factor rounded to 12 decimals, times the count. A count split over two
  rows (a daily table's key counted in two batches) gives the same terms' sum
  as the count in one row, which rounding the product would not. The widths
  keep the product exact on Spark too (15 + 22 + 1 digits <= 38, scale 12):
  counts below 10^15, factors below 10^10.
-#}
{% macro exact_count_times(count_expression, factor_expression) -%}
    (cast({{ count_expression }} as decimal(15, 0)) * cast({{ factor_expression }} as decimal(22, 12)))
{%- endmacro %}


{#-
  The host of a URL, lower-cased, without a leading 'www.' (null when the text is not an
  absolute URL). regexp_extract has the same signature on both engines; the pattern avoids
  backslashes, which Spark's string literals would eat.
-#}
{% macro url_domain(text_column) -%}
    nullif(lower(regexp_extract({{ text_column }}, '^[a-zA-Z][a-zA-Z0-9+.-]*://(www[.])?([^/:?#@ ]+)', 2)), '')
{%- endmacro %}


{#-
  A job title as its words for keyword matching: lower case, every run of
  characters other than a-z and 0-9 one space, padded with a space at both ends
  ('Sr. Dir., Engineering' -> ' sr dir engineering '), so a keyword matches as
  whole words with like '% keyword %'. Null stays null.
-#}
{% macro title_words(text_column) -%}
    {{ return(adapter.dispatch('title_words', 'customer_segments')(text_column)) }}
{%- endmacro %}
{% macro default__title_words(text_column) -%}
    (' ' || trim(regexp_replace(lower({{ text_column }}), '[^a-z0-9]+', ' ', 'g')) || ' ')
{%- endmacro %}
{% macro spark__title_words(text_column) -%}
    concat(' ', trim(regexp_replace(lower({{ text_column }}), '[^a-z0-9]+', ' ')), ' ')
{%- endmacro %}
