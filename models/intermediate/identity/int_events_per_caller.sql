{#-
  The attributed events summed per caller, one row per (user id, anonymous id)
  pair of int_events_attributed: how many, the first and the last, and up to
  as_of the first activation event, the last cart event, the first touch from
  another site and the first carrying a campaign. A caller's events all belong
  to one person (the person of its user id, else of its anonymous id), so the
  person-level models sum these rows per person instead of every event; the
  rows do not hold the person, so merges and splits do not change them.
  Incremental on DuckDB (macros/incremental_callers.sql): a build sums the
  events attributed since its newest stamp and combines them with the held
  rows of their callers, when the events it summed before are all still
  there; otherwise it sums every caller again. A table on Spark.
-#}
{{ customer_segments.after_quality_gate() }}
{{ config(
    materialized=('table' if target.type == 'spark' else 'incremental'),
    incremental_strategy='delete+insert',
    unique_key='caller_key',
    on_schema_change='fail',
    pre_hook="{{ customer_segments.forget_callers_changed(ref('int_events_attributed')) }}",
) }}

{%- set combine_from = customer_segments.callers_combine_from(this, ref('int_events_attributed'), is_incremental()) %}
{#- a held row whose events are not all up to both its summed_as_of and this build's as_of counts by another as_of -#}
{%- set held_stale -%}
    not coalesce(held.last_event_at <= held.summed_as_of
        and held.last_event_at <= (select as_of from {{ ref('int_build_context') }}), false)
{%- endset %}
{%- set any_stale = combine_from is not none
    and run_query('select count(*) from ' ~ this ~ ' as held where ' ~ held_stale).columns[0].values()[0] > 0 %}
{%- if execute and is_incremental() %}
    {#- debug level (logs/dbt.log): which way this build went -#}
    {%- do log(this.identifier ~ ': ' ~ ('combines the events judged after ' ~ combine_from ~ ' with their callers\' rows'
        ~ ('; sums again the callers whose rows count by another as_of' if any_stale else '')
        if combine_from is not none else 'sums every caller again (events the table summed are gone or changed)')) -%}
{%- endif %}

with
{% if combine_from is none %}
-- every caller summed from its events: one row each already
final as (

    select * from {{ customer_segments.caller_summaries() }} as summed

)
{%- else %}

build as (

    select as_of from {{ ref('int_build_context') }}

),

new_callers as (

    select * from {{ customer_segments.caller_summaries('judged_at > ' ~ combine_from, 'judged_at > ' ~ combine_from) }} as summed

),

stale_callers as (

    select held.caller_key from {{ this }} as held
    where {{ held_stale }}

),

{#- summed again from all their events: the callers whose held row counts by another as_of -#}
resummed as (
{%- if any_stale %}

    select * from {{ customer_segments.caller_summaries(
        customer_segments.caller_key('user_id', 'anonymous_id') ~ ' in (select held.caller_key from ' ~ this ~ ' as held where ' ~ held_stale ~ ')') }} as summed
{%- else %}

    select * from new_callers where 1 = 0
{%- endif %}

),

{#- the others with new events: their new events' row and their held row, combined below -#}
callers as (

    select * from new_callers
    where caller_key not in (select caller_key from stale_callers)

    union all

    select held.*
    from {{ this }} as held
    where held.caller_key in (select caller_key from new_callers)
        and held.caller_key not in (select caller_key from stale_callers)

),

totals as (

    select
        caller_key,
        min(user_id) as user_id,
        min(anonymous_id) as anonymous_id,
        cast(sum(events) as {{ dbt.type_bigint() }}) as events,
        min(first_event_at) as first_event_at,
        max(last_event_at) as last_event_at,
        cast(sum(events_by_as_of) as {{ dbt.type_bigint() }}) as events_by_as_of,
        min(first_event_by_as_of_at) as first_event_by_as_of_at,
        min(first_activation_at) as first_activation_at,
        max(last_cart_at) as last_cart_at,
        max(last_judged_at) as last_judged_at,
        cast(sum(message_checksum) as {{ dbt.type_bigint() }}) as message_checksum

    from callers
    group by caller_key

),

referrers as (

    select
        caller_key,
        first_referrer_at,
        first_referrer_message_id,
        first_referrer_domain,
        row_number() over (partition by caller_key order by first_referrer_at, first_referrer_message_id) as touch_rank

    from callers
    where first_referrer_at is not null

),

campaigns as (

    select
        caller_key,
        first_campaign_at,
        first_campaign_message_id,
        first_campaign_source,
        first_campaign_medium,
        row_number() over (partition by caller_key order by first_campaign_at, first_campaign_message_id) as touch_rank

    from callers
    where first_campaign_at is not null

),

combined as (

    select
        totals.caller_key,
        totals.user_id,
        totals.anonymous_id,
        totals.events,
        totals.first_event_at,
        totals.last_event_at,
        totals.events_by_as_of,
        totals.first_event_by_as_of_at,
        totals.first_activation_at,
        totals.last_cart_at,
        referrers.first_referrer_at,
        referrers.first_referrer_message_id,
        referrers.first_referrer_domain,
        campaigns.first_campaign_at,
        campaigns.first_campaign_message_id,
        campaigns.first_campaign_source,
        campaigns.first_campaign_medium,
        build.as_of as summed_as_of,
        totals.last_judged_at,
        totals.message_checksum

    from totals
    cross join build
    left join referrers on totals.caller_key = referrers.caller_key and referrers.touch_rank = 1
    left join campaigns on totals.caller_key = campaigns.caller_key and campaigns.touch_rank = 1

),

final as (

    select * from combined
    union all
    select * from resummed

)
{%- endif %}

select * from final
