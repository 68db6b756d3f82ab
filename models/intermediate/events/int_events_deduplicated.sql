{#-
  The events the project uses: usable (not quarantined), first copy of each
  messageId, no double fires, with the canonical Object_Action name from the
  event_name_map seed. Unknown names stay (canonical_event is null) so new
  instrumentation is visible, not lost; the data-quality gate bounds their share.
  Events older than the retention window (var retention_days before as_of) are
  not used; int_retention_ignored counts them.
  Incremental on DuckDB: a build takes only the lines judged since the last
  one (macros/incremental_events.sql); on Spark (no DELETE on Parquet tables)
  it is a table, rebuilt every build.
-#}
{{ config(
    materialized=('table' if target.type == 'spark' else 'incremental'),
    incremental_strategy='append',
    on_schema_change='fail',
    pre_hook="{{ customer_segments.forget_events_judged_again(ref('stg_segment__events')) }}",
) }}

with

events as (

{%- set usable %}
        quarantine_reason is null
        and duplicate_reason is null
        and event_at >= {{ customer_segments.retention_cutoff() }}
{%- endset %}
{%- set consumed_until = customer_segments.events_consumed_until(this) if is_incremental() else none %}
{%- set held_from = customer_segments.events_held_from(this) if is_incremental() else none %}

    select * from {{ ref('stg_segment__events') }}
    where {{ usable }}
{%- if held_from is not none %}
        -- judged since the last build (both bounds are literals, so the scan skips older row groups)
        and judged_at > {{ consumed_until }}

    union all

    -- taken back into the retention window (as_of or retention_days moved back)
    select * from {{ ref('stg_segment__events') }}
    where {{ usable }}
        and judged_at <= {{ consumed_until }}
        and event_at < {{ held_from }}
{%- endif %}

),

name_map as (

    select * from {{ ref('event_name_map') }}

),

final as (

    select
        events.message_id,
        events.message_type,
        name_map.canonical_event,
        events.event_name,
        events.page_name,
        events.anonymous_id,
        events.user_id,
        events.previous_id,
        events.group_id,
        events.device_id,
        {{ customer_segments.clean_email('events.email') }} as email,
        events.title,
        events.ip,
        events.page_url,
        events.page_path,
        events.page_referrer,
        events.campaign_source,
        events.campaign_medium,
        events.user_agent,
        events.properties,
        events.traits,
        events.context,
        events.event_at,
        events.received_at,
        events.sent_at,
        events.source_file,
        events.source_file_version,
        events.line_number,
        events.judged_at

    from events
    left join name_map
        on events.message_type = name_map.message_type
        and events.event_name_key = coalesce(name_map.name_key, '')

)

select * from final
