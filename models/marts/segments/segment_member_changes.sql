{#-
  CONTRACT segment_member_changes: one row per entry into or exit from a
  segment, appended build after build so a reverse-ETL tool can sync only what
  changed (rows with a build_id or recorded_at it has not seen yet).

  Each build compares who is a member now (segment_members_current) with
  who was a member after the previous build (the last change per segment and
  entity in this table): new members get an 'entered' row, members who left an
  'exited' row, both at the build's as_of. Nothing changes, nothing is written.
  A segment that stops being active (draft, retired) makes all its members exit.

  full_refresh = false: this is history the sources cannot rebuild, so
  `dbt build --full-refresh` keeps it. To start over, drop the table.
-#}
{{ config(
    materialized='incremental',
    incremental_strategy='append',
    full_refresh=false,
    on_schema_change='fail',
) }}

with

current_members as (

    select * from {{ ref('segment_members_current') }}

),

build as (

    select * from {{ ref('int_build_context') }}

),

previous_members as (
{%- if is_incremental() %}

    select
        segment_id,
        entity_type,
        entity_id,
        is_holdout

    from (
        select
            segment_id,
            entity_type,
            entity_id,
            change,
            is_holdout,
            row_number() over (
                partition by segment_id, entity_id
                order by recorded_at desc, changed_at desc
            ) as change_rank
        from {{ this }}
    ) as changes
    where change_rank = 1
        and change = 'entered'
{%- else %}

    select
        cast(null as {{ dbt.type_string() }}) as segment_id,
        cast(null as {{ dbt.type_string() }}) as entity_type,
        cast(null as {{ dbt.type_string() }}) as entity_id,
        cast(null as boolean) as is_holdout
    where 1 = 0
{%- endif %}

),

entries as (

    select
        current_members.segment_id,
        current_members.entity_type,
        current_members.entity_id,
        'entered' as change,
        current_members.is_holdout,
        current_members.score

    from current_members
    left join previous_members
        on current_members.segment_id = previous_members.segment_id
        and current_members.entity_id = previous_members.entity_id
    where previous_members.entity_id is null

),

exits as (

    select
        previous_members.segment_id,
        previous_members.entity_type,
        previous_members.entity_id,
        'exited' as change,
        previous_members.is_holdout,
        cast(null as double) as score

    from previous_members
    left join current_members
        on previous_members.segment_id = current_members.segment_id
        and previous_members.entity_id = current_members.entity_id
    where current_members.entity_id is null

),

changes as (

    select * from entries
    union all
    select * from exits

),

final as (

    select
        changes.segment_id,
        changes.entity_type,
        changes.entity_id,
        changes.change,
        build.as_of as changed_at,
        changes.is_holdout,
        changes.score,
        -- this invocation, not int_build_context's: a partial build (dbt build -s segments+)
        -- reuses an older int_build_context row but is a new set of changes
        '{{ invocation_id }}' as build_id,
        cast('{{ run_started_at.strftime("%Y-%m-%d %H:%M:%S") }}' as timestamp) as recorded_at

    from changes
    cross join build

)

select * from final
