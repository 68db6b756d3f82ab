{#-
  The build's identity: one row with this dbt invocation's id and start time.
  Everything that stamps a row with the build (int_dq_checks and so dq_results,
  int_build_context and so build_audit) reads it here. It is rendered when the
  model runs, never at parse time: dbt reuses a parsed project between runs
  (partial parsing), so a per-run value in YAML config would repeat an older
  build's id. The dbt Python model int_dq_checks reads it through dbt.ref for
  that reason. Before the gate: the gate's own checks are stamped with it.
-#}

with

final as (

    select
        '{{ invocation_id }}' as build_id,
        cast('{{ run_started_at.strftime("%Y-%m-%d %H:%M:%S") }}' as timestamp) as built_at

)

select * from final
