{#-
  How far stg_segment__consent_preferences has read the judged event lines:
  the newest judged_at of stg_segment__events once the consent model has
  run in this build (it is built after it). The consent model reads lines
  judged after the later of this and its own newest row, so a build reads the
  lines judged since the last build even when no event states consent. A
  build that stops between the two leaves this older, and the next build
  reads those lines again (its pre-hook deletes their rows first). On Spark,
  where the consent model is a table rebuilt every build, it is built and not
  read. Bookkeeping of staging, read by no segment: it does not wait for the
  data-quality gate.
-#}
{{ config(materialized='table') }}
-- depends_on: {{ ref('stg_segment__consent_preferences') }}

with

events as (

    select * from {{ ref('stg_segment__events') }}

),

final as (

    select max(judged_at) as consumed_until
    from events

)

select * from final
