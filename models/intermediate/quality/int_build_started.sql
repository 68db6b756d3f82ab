{#-
  The build's identity: one row with this dbt invocation's id and start time.
  Everything that stamps a row with the build (int_dq_checks and so dq_results,
  int_build_context and so build_audit) reads it here. It is rendered when the
  model runs, never at parse time: dbt reuses a parsed project between runs
  (partial parsing), so a per-run value in YAML config would repeat an older
  build's id. The dbt Python model int_dq_checks reads it through dbt.ref for
  that reason. Before the gate: the gate's own checks are stamped with it.
  The folder of the Great Expectations data docs is here for the same reason:
  its default is the target path of this run (--target-path), which a parsed
  config would keep from the run that parsed.
-#}
{%- set data_docs_dir = var('dq_data_docs_dir') or ((flags.TARGET_PATH or 'target') ~ '/gx_data_docs') %}

with

final as (

    select
        '{{ invocation_id }}' as build_id,
        cast('{{ run_started_at.strftime("%Y-%m-%d %H:%M:%S") }}' as timestamp) as built_at,
        '{{ data_docs_dir | string | replace("'", "''") }}' as data_docs_dir

)

select * from final
