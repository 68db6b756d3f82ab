{#-
  Every catalog segment declares the channels its motion uses (meta.segment.channels:
  one or more of email, ads, sales, in_app). Suppressions are per channel
  (segment_members_current keeps nobody suppressed on one of them): a
  segment without channels, or with a channel no suppression knows, would
  reach people who opted out. One row per segment and missing or unknown channel.
-#}
{%- set known = ['email', 'ads', 'sales', 'in_app'] %}
{%- set problems = [] %}
{%- for definition in customer_segments.segment_catalog() %}
    {%- if not definition.channels %}
        {%- do problems.append((definition.segment_id, '(none declared)')) %}
    {%- endif %}
    {%- for channel in definition.channels if channel not in known %}
        {%- do problems.append((definition.segment_id, channel | string)) %}
    {%- endfor %}
{%- endfor %}

{%- if problems %}
{%- for segment_id, channel in problems %}
select
    {{ customer_segments.sql_string(segment_id) }} as segment_id,
    {{ customer_segments.sql_string(channel) }} as channel
{%- if not loop.last %}
union all
{%- endif %}
{%- endfor %}
{%- else %}
select
    cast(null as {{ dbt.type_string() }}) as segment_id,
    cast(null as {{ dbt.type_string() }}) as channel
where 1 = 0
{%- endif %}
