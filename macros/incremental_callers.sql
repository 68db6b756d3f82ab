{#-
  How int_events_per_caller sums the attributed events per caller without
  reading all history each build.

  A caller is a (user id, anonymous id) pair as int_events_attributed holds
  it; every event of one caller belongs to one person (the person of its
  user id, else of its anonymous id), so a person's totals are the totals of
  their callers, whatever merges and splits moved callers between people.
  Every column of a caller's row is an associative summary of its events
  (count, min, max, the earliest touch by (event_at, message_id)), so the
  row of old events and the row of new events combine into the row of all
  of them. The columns that count only events up to as_of (`*_by_as_of`,
  the first activation, the last cart, the first touches) were summed at the
  row's `summed_as_of`.

  An incremental build (DuckDB), when the events attributed up to the
  table's newest `last_judged_at` are still exactly the ones the table summed
  (their count and the sum of their message ids' hashes equal the table's
  `events` and `message_checksum` summed: `callers_combine_from`):
  1. sums the events judged after that stamp per caller and combines them
     with the callers' held rows;
  2. sums again, from all their events, the callers whose held row depends
     on as_of: some event later than the row's `summed_as_of` or than this
     build's as_of (none while as_of is the newest event, its default).
  Anything that took events away or added old ones (the retention window
  moving past the oldest event, an erasure, a rewritten or deleted file, an
  event judged again or taken back into the retention window) breaks the
  equality, and the build sums every caller again, as a full build does
  (the pre-hook empties the table first). The check is one pass over the
  attributed events' stamps and message ids, no join of history; the model's
  SQL and its pre-hook each run it.
-#}

{#- One event's share of a table's checksum: its message id's hash, reduced so that sums of billions fit a bigint. -#}
{% macro caller_events_checksum(message_id) -%}
    {{ return(adapter.dispatch('caller_events_checksum', 'customer_segments')(message_id)) }}
{%- endmacro %}
{% macro default__caller_events_checksum(message_id) -%}
    cast(hash({{ message_id }}) % 1000000007 as bigint)
{%- endmacro %}
{% macro spark__caller_events_checksum(message_id) -%}
    pmod(xxhash64({{ message_id }}), 1000000007)
{%- endmacro %}

{#-
  The key of a caller: both ids, each prefixed by its length ('-' when null), so no two pairs share one
  (a null id differs from an empty one, and no split of the text is ambiguous).
-#}
{% macro caller_key(user_id, anonymous_id) -%}
    coalesce(cast(length({{ user_id }}) as {{ dbt.type_string() }}), '-') || ':' || coalesce({{ user_id }}, '')
    || ':' || coalesce(cast(length({{ anonymous_id }}) as {{ dbt.type_string() }}), '-') || ':' || coalesce({{ anonymous_id }}, '')
{%- endmacro %}

{#-
  The stamp an incremental build of int_events_per_caller combines from (events judged after it are new),
  as a timestamp literal, or none when it sums every caller again: a full build, an empty table, or
  events that did not only gain. The model's SQL and its pre-hook both ask; both run after
  int_events_attributed is built, so both get the same answer. `incremental`: the caller's
  is_incremental() (asked in the model, where a unit test's override of it applies).
-#}
{% macro callers_combine_from(relation, events_relation, incremental) -%}
    {%- if not (execute and incremental) -%}{{ return(none) }}{%- endif -%}
    {%- set check -%}
        with

        held as (
            select max(last_judged_at) as judged_until, sum(events) as events, sum(message_checksum) as message_checksum
            from {{ relation }}
        ),

        -- one pass over the attributed events' stamps and message ids
        now_held as (
            select count(*) as events, coalesce(sum({{ customer_segments.caller_events_checksum('message_id') }}), 0) as message_checksum
            from {{ events_relation }}
            where judged_at <= (select judged_until from held)
        )

        select
            cast(held.judged_until as varchar),
            held.judged_until is not null
            and held.events = now_held.events
            and held.message_checksum = now_held.message_checksum
        from held
        cross join now_held
    {%- endset -%}
    {%- set row = run_query(check).rows[0] -%}
    {{ return("cast('" ~ row[0] ~ "' as timestamp)" if row[1] else none) }}
{%- endmacro %}

{#- Pre-hook of int_events_per_caller: when the build sums every caller again, the held rows go first (callers left without events must not stay). -#}
{% macro forget_callers_changed(events_relation) -%}
    {%- if execute and is_incremental() and customer_segments.callers_combine_from(this, events_relation, true) is none -%}
        {{ return(customer_segments.delete_where(this, '1 = 1')) }}
    {%- endif -%}
    {{ return('') }}
{%- endmacro %}

{#-
  One row per caller of the attributed events where `condition` holds (a filter on
  int_events_attributed's columns), with the columns of int_events_per_caller, summed at the build's
  as_of. `contexts_condition` may narrow the usable events read for their referrers and campaigns (the
  same rows or more: an event it leaves out counts as one without a referrer or campaign). The events are
  grouped by their two ids, and the key made once per caller. Counts and checksums are bigints here and in
  the model's combine, so the table's types do not depend on which way a build went.
-#}
{% macro caller_summaries(condition='1 = 1', contexts_condition='1 = 1') -%}
(
    with

    build as (

        select as_of from {{ ref('int_build_context') }}

    ),

    attributed as (

        select * from {{ ref('int_events_attributed') }}
        where {{ condition }}

    ),

    {#- only the usable events that can be a touch: a referrer or a campaign (a fifth of them in generated data) -#}
    contexts as (

        select message_id, judged_at, page_referrer, page_url, campaign_source, campaign_medium
        from {{ ref('int_events_deduplicated') }}
        where ({{ contexts_condition }})
            and (page_referrer is not null or campaign_source is not null)

    ),

    totals as (

        select
            attributed.user_id,
            attributed.anonymous_id,
            cast(count(*) as {{ dbt.type_bigint() }}) as events,
            min(attributed.event_at) as first_event_at,
            max(attributed.event_at) as last_event_at,
            cast(sum(case when attributed.event_at <= build.as_of then 1 else 0 end) as {{ dbt.type_bigint() }}) as events_by_as_of,
            min(case when attributed.event_at <= build.as_of then attributed.event_at end) as first_event_by_as_of_at,
            min(case when attributed.event_at <= build.as_of and attributed.canonical_event in (
                {%- for name in var('activation_events') %}'{{ name }}'{% if not loop.last %}, {% endif %}{% endfor -%}
            ) then attributed.event_at end) as first_activation_at,
            max(case when attributed.event_at <= build.as_of and attributed.canonical_event in (
                {%- for name in var('segment_cart_events') %}'{{ name }}'{% if not loop.last %}, {% endif %}{% endfor -%}
            ) then attributed.event_at end) as last_cart_at,
            max(attributed.judged_at) as last_judged_at,
            cast(sum({{ customer_segments.caller_events_checksum('attributed.message_id') }}) as {{ dbt.type_bigint() }}) as message_checksum

        from attributed
        cross join build
        group by attributed.user_id, attributed.anonymous_id

    ),

    touches as (

        select
            {{ customer_segments.caller_key('attributed.user_id', 'attributed.anonymous_id') }} as caller_key,
            attributed.message_id,
            attributed.event_at,
            {{ customer_segments.url_domain('contexts.page_referrer') }} as referrer_domain,
            case when contexts.page_referrer is not null then {{ customer_segments.url_domain('contexts.page_url') }} end as page_domain,
            nullif(trim(contexts.campaign_source), '') as campaign_source,
            nullif(trim(contexts.campaign_medium), '') as campaign_medium

        from attributed
        inner join contexts
            on attributed.message_id = contexts.message_id
            and attributed.judged_at = contexts.judged_at
        cross join build
        where attributed.event_at <= build.as_of

    ),

    {#- the first touch from another site, and the first carrying a campaign, up to as_of: earliest by (event_at, message_id) -#}
    referrers as (

        select
            caller_key,
            event_at,
            message_id,
            referrer_domain,
            row_number() over (partition by caller_key order by event_at, message_id) as touch_rank

        from touches
        where referrer_domain is not null
            and (page_domain is null or referrer_domain <> page_domain)

    ),

    campaigns as (

        select
            caller_key,
            event_at,
            message_id,
            campaign_source,
            campaign_medium,
            row_number() over (partition by caller_key order by event_at, message_id) as touch_rank

        from touches
        where campaign_source is not null

    ),

    keyed as (

        select
            {{ customer_segments.caller_key('user_id', 'anonymous_id') }} as caller_key,
            *
        from totals

    )

    select
        keyed.caller_key,
        keyed.user_id,
        keyed.anonymous_id,
        keyed.events,
        keyed.first_event_at,
        keyed.last_event_at,
        keyed.events_by_as_of,
        keyed.first_event_by_as_of_at,
        keyed.first_activation_at,
        keyed.last_cart_at,
        referrers.event_at as first_referrer_at,
        referrers.message_id as first_referrer_message_id,
        referrers.referrer_domain as first_referrer_domain,
        campaigns.event_at as first_campaign_at,
        campaigns.message_id as first_campaign_message_id,
        campaigns.campaign_source as first_campaign_source,
        campaigns.campaign_medium as first_campaign_medium,
        build.as_of as summed_as_of,
        keyed.last_judged_at,
        keyed.message_checksum

    from keyed
    cross join build
    left join referrers on keyed.caller_key = referrers.caller_key and referrers.touch_rank = 1
    left join campaigns on keyed.caller_key = campaigns.caller_key and campaigns.touch_rank = 1
)
{%- endmacro %}

{#-
  The person of each caller, as int_events_attributed gives it (the person of its user id, else of its
  anonymous id): joins to put after `from ... as callers`; the person is
  coalesce(by_user.person_id, by_anonymous.person_id).
-#}
{% macro join_caller_person(identifiers_relation) -%}
    left join {{ identifiers_relation }} as by_user
        on by_user.identifier_type = 'user_id'
        and callers.user_id = by_user.identifier_value
    left join {{ identifiers_relation }} as by_anonymous
        on by_anonymous.identifier_type = 'anonymous_id'
        and callers.anonymous_id = by_anonymous.identifier_value
{%- endmacro %}
