{{ config(
    materialized='incremental',
    incremental_strategy=('delete+insert' if target.type == 'duckdb' else 'insert_overwrite'),
    unique_key=('activity_date' if target.type == 'duckdb' else none),
    partition_by=(none if target.type == 'duckdb' else ['activity_date']),
    on_schema_change='fail',
    post_hook="{{ customer_segments.delete_where(this, 'activity_date < cast(' ~ customer_segments.retention_cutoff() ~ ' as date)') }}"
) }}
{#-
  Daily activity, the aggregate every recency-weighted score is computed from:
  one row per (ids, day, canonical event) with how many events happened.
  Keyed by the call's ids (user id, anonymous id; email for email events), not
  by person, so a merge of people never invalidates history: the scores join
  today's identity graph at read time.
  Incremental: a build recomputes only the days from (newest day held -
  var activity_lookback_days), so late events within that window are counted
  and older days are never rescanned; days that fall out of the retention
  window (var retention_days) are deleted after each build. Email opens and clicks count as
  Email_Opened / Email_Clicked; other email events do not count.
-#}
{{ customer_segments.after_quality_gate() }}

{%- set since %}
    {%- if is_incremental() %}
    (select {{ dbt.dateadd('day', -1 * var('activity_lookback_days'), 'max(activity_date)') }} from {{ this }})
    {%- endif %}
{%- endset %}

with

events as (

    select * from {{ ref('int_events_deduplicated') }}
    where canonical_event is not null

),

email_events as (

    select * from {{ ref('int_email_events_deduplicated') }}
    where event_type in ('open', 'click')

),

activity as (

    select
        {{ customer_segments.identity_value('user_id', 'user_id') }} as user_id,
        {{ customer_segments.identity_value('anonymous_id', 'anonymous_id') }} as anonymous_id,
        cast(null as {{ dbt.type_string() }}) as email,
        cast(event_at as date) as activity_date,
        canonical_event

    from events

    union all

    select
        cast(null as {{ dbt.type_string() }}),
        cast(null as {{ dbt.type_string() }}),
        {{ customer_segments.identity_value('email', 'email') }},
        cast(occurred_at as date),
        case event_type when 'open' then 'Email_Opened' else 'Email_Clicked' end

    from email_events

),

final as (

    select
        user_id,
        anonymous_id,
        email,
        canonical_event,
        count(*) as events,
        activity_date

    from activity
    {%- if is_incremental() %}
    where activity_date >= {{ since }}
    {%- endif %}
    group by user_id, anonymous_id, email, canonical_event, activity_date

)

select * from final
