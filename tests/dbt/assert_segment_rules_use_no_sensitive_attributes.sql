{{ config(severity='error') }}
{#-
  No segment may be defined on a sensitive attribute or a known proxy of one
  (seed sensitive_attributes: age, gender, ethnicity, religion, health, postal
  code, income, ...). Each term of the seed is looked for as a whole word in:

  - every catalog segment (macro segment_models(), whatever its status): the
    model's SQL (its raw code with Jinja, block and line comments stripped,
    camelCase split, lower-cased), every value of its meta.segment, the names
    of the models it reads (depends_on) and its column names;
  - every suggested segment (status 'suggested' in the segments table; DuckDB
    only): its suggested_rule, name and profile, which are data, so they are
    matched in SQL.

  A word is a run of letters and digits: `_` and everything else separate
  words, so `age` is found in `customer_age` and `age_band` but not in
  `page_path`, `average` or `engagement_score`. A term ending in `*` matches
  every word starting with it (`pregnan*`: pregnant, pregnancy).

  One row per (segment_id, term, category, where found) fails the build
  (severity error): dbt reports the test as FAIL and exits non-zero. It needs
  the segments table, so it runs once that is built; a job that syncs members
  only after a successful build activates nothing. To fix a hit, change the
  rule (or, after a privacy review, the seed).
-#}
{%- for model_name in customer_segments.segment_models() %}
-- depends_on: {{ ref(model_name) }}
{%- endfor %}

{%- set texts = [] %}
{%- for definition in customer_segments.segment_catalog() %}
    {%- set node = customer_segments.segment_node(definition.model_name) %}
    {%- set code = node.raw_code %}
    {%- set code = modules.re.sub('(?s)[{]#.*?#[}]', ' ', code) %}
    {%- set code = modules.re.sub('(?s)/[*].*?[*]/', ' ', code) %}
    {%- set code = modules.re.sub('--.*', ' ', code) %}
    {%- set found = [('sql', code)] %}
    {%- for key, value in node.config.meta.get('segment', {}).items() | sort %}
        {%- do found.append(('meta.segment.' ~ key, value | string)) %}
    {%- endfor %}
    {%- set parents = [] %}
    {%- for parent in node.depends_on.nodes %}
        {%- do parents.append(parent.split('.')[-1]) %}
    {%- endfor %}
    {%- do found.append(('depends_on', parents | join(' '))) %}
    {%- do found.append(('columns', node.columns.keys() | join(' '))) %}
    {%- for found_in, text in found %}
        {#- camelCase -> camel_case, then only lower-case letters, digits and `_` are kept -#}
        {%- set text = modules.re.sub('([a-z0-9])([A-Z])', '\\1_\\2', text) | lower %}
        {%- set text = modules.re.sub('[^a-z0-9_]+', ' ', text) | trim %}
        {%- do texts.append({'segment_id': definition.segment_id, 'status': definition.status, 'found_in': found_in, 'text': text}) %}
    {%- endfor %}
{%- endfor %}

with

terms as (

    select * from {{ ref('sensitive_attributes') }}

),

segments as (

    select * from {{ ref('segments') }}

),

patterns as (

    select
        term,
        category,
        kind,
        '(^|[^a-z0-9])' || replace(lower(trim(term)), '*', '[a-z0-9]*') || '([^a-z0-9]|$)' as pattern

    from terms

),

catalog_texts as (
{%- for row in texts %}

    select
        {{ customer_segments.sql_string(row.segment_id) }} as segment_id,
        {{ customer_segments.sql_string(row.status) }} as status,
        {{ customer_segments.sql_string(row.found_in) }} as found_in,
        '{{ row.text }}' as text
    {% if not loop.last %}union all{% endif %}
{%- else %}

    -- parse time: no catalog yet
    select
        cast(null as {{ dbt.type_string() }}) as segment_id,
        cast(null as {{ dbt.type_string() }}) as status,
        cast(null as {{ dbt.type_string() }}) as found_in,
        cast(null as {{ dbt.type_string() }}) as text
    where 1 = 0
{%- endfor %}

),

suggested_texts as (

    -- the clusters of segment_suggestions as the segments table publishes them (none on Spark)
    select segment_id, status, 'suggested_rule' as found_in, lower(suggested_rule) as text
    from segments
    where status = 'suggested'
    union all
    select segment_id, status, 'name' as found_in, lower(name) as text
    from segments
    where status = 'suggested'
    union all
    select segment_id, status, 'profile' as found_in, lower(profile) as text
    from segments
    where status = 'suggested'

),

texts as (

    select * from catalog_texts
    union all
    select * from suggested_texts

),

final as (

    select distinct
        texts.segment_id,
        texts.status,
        patterns.term,
        patterns.category,
        patterns.kind,
        texts.found_in

    from texts
    inner join patterns
        on {{ customer_segments.regex_matches_expression('texts.text', 'patterns.pattern') }}

)

select * from final
