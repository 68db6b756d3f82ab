{#-
  The attributed events that carry an ip, counted per caller (a user id and
  anonymous id pair, as int_events_attributed holds them) and ip. The
  reverse-IP account links (int_person_account_links) and the regions of
  people by network (int_regions_assigned) sum these rows per person instead
  of every event; the rows hold no person, so merges and splits do not
  change them.
  Incremental on DuckDB, as int_events_per_caller (macros/incremental_callers.sql):
  a build counts the events attributed since its newest stamp and adds them to
  their rows, when the events it counted before are all still attributed;
  otherwise it counts every row again. A table on Spark.
-#}
{{ customer_segments.after_quality_gate() }}
{{ config(
    materialized=('table' if target.type == 'spark' else 'incremental'),
    incremental_strategy='delete+insert',
    unique_key='caller_ip_key',
    on_schema_change='fail',
    pre_hook="{{ customer_segments.forget_callers_changed(ref('int_events_attributed'), 'ip is not null') }}",
) }}

{%- set combine_from = customer_segments.callers_combine_from(this, ref('int_events_attributed'), is_incremental(), 'ip is not null') %}

with

events as (

    select * from {{ ref('int_events_attributed') }}
    where ip is not null
{%- if combine_from is not none %}
        and judged_at > {{ combine_from }}
{%- endif %}

),

new_rows as (

    select
        {{ customer_segments.caller_key('user_id', 'anonymous_id') }} || ':' || ip as caller_ip_key,
        user_id,
        anonymous_id,
        ip,
        count(*) as events,
        max(judged_at) as last_judged_at,
        sum({{ customer_segments.caller_events_checksum('message_id') }}) as message_checksum

    from events
    group by user_id, anonymous_id, ip

),

all_rows as (

    select * from new_rows
{%- if combine_from is not none %}

    union all

    -- the held rows of the callers and ips with new events
    select held.*
    from {{ this }} as held
    where held.caller_ip_key in (select caller_ip_key from new_rows)
{%- endif %}

),

final as (

    select
        caller_ip_key,
        min(user_id) as user_id,
        min(anonymous_id) as anonymous_id,
        min(ip) as ip,
        sum(events) as events,
        max(last_judged_at) as last_judged_at,
        sum(message_checksum) as message_checksum

    from all_rows
    group by caller_ip_key

)

select * from final
