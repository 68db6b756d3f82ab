{#-
  The attributed events that carry an IP address (context.ip), counted per
  caller and address: one row per (user id, anonymous id, ip). A caller's
  events all belong to one person (macro join_caller_person), so the
  reverse-IP account links (int_person_account_links) and the regions by
  network (int_regions_assigned) count a person's events per address from
  these rows instead of every event; the rows hold no person, so merges and
  splits leave them as they are.
  Incremental on DuckDB the way int_events_per_caller is
  (macros/incremental_callers.sql): a build counts the events attributed
  since the table's newest stamp and adds them to the held rows of their
  caller and address, when the events it counted before are all still
  attributed; otherwise it counts every caller again. Nothing here depends
  on as_of. A table on Spark.
-#}
{{ customer_segments.after_quality_gate() }}
{{ config(
    materialized=('table' if target.type == 'spark' else 'incremental'),
    incremental_strategy='delete+insert',
    unique_key=['caller_key', 'ip'],
    on_schema_change='fail',
    pre_hook="{{ customer_segments.forget_callers_changed(ref('int_events_attributed'), 'ip is not null') }}",
) }}

{%- set combine_from = customer_segments.callers_combine_from(this, ref('int_events_attributed'), is_incremental(), 'ip is not null') %}
{%- if execute and is_incremental() %}
    {#- debug level (logs/dbt.log): which way this build went -#}
    {%- do log(this.identifier ~ ': ' ~ ('combines the events judged after ' ~ combine_from ~ ' with their callers\' rows'
        if combine_from is not none else 'counts every caller again (events the table counted are gone or changed)')) -%}
{%- endif %}

with

events as (

    select * from {{ ref('int_events_attributed') }}
    where ip is not null
    {%- if combine_from is not none %}
        and judged_at > {{ combine_from }}
    {%- endif %}

),

counted as (

    select
        user_id,
        anonymous_id,
        ip,
        cast(count(*) as {{ dbt.type_bigint() }}) as events,
        max(judged_at) as last_judged_at,
        cast(sum({{ customer_segments.caller_events_checksum('message_id') }}) as {{ dbt.type_bigint() }}) as message_checksum

    from events
    group by user_id, anonymous_id, ip

),

keyed as (

    select
        {{ customer_segments.caller_key('user_id', 'anonymous_id') }} as caller_key,
        user_id,
        anonymous_id,
        ip,
        events,
        last_judged_at,
        message_checksum

    from counted

),
{%- if combine_from is none %}

final as (

    select * from keyed

)
{%- else %}

{#- the new events' rows and the held rows of the same caller and address, added up -#}
combined as (

    select * from keyed

    union all

    select held.*
    from {{ this }} as held
    inner join keyed
        on held.caller_key = keyed.caller_key
        and held.ip = keyed.ip

),

final as (

    select
        caller_key,
        min(user_id) as user_id,
        min(anonymous_id) as anonymous_id,
        ip,
        cast(sum(events) as {{ dbt.type_bigint() }}) as events,
        max(last_judged_at) as last_judged_at,
        cast(sum(message_checksum) as {{ dbt.type_bigint() }}) as message_checksum

    from combined
    group by caller_key, ip

)
{%- endif %}

select * from final
