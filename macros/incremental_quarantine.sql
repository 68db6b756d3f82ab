{#-
  How quarantined_rows follows staging without reading every rejected event
  line again. Its event rows are the rows of stg_segment__events with a
  quarantine_reason; a row is what a full build gives as long as staging still
  holds its line, from the same version of the same file (so the same raw line
  and file time), and still rejects it for the same reason (a line judged
  again can change its reason: `timestamp_in_future` is judged against the
  build's time when the line has no received or sent time). An incremental
  build:
  1. (pre-hook `forget_quarantined_changed`) deletes the rows of the flat
     inputs (small, taken whole again below) and every event row that is not
     so: its line gone (a deleted or rewritten file, an erasure), judged
     usable, rejected for another reason or read from another version;
  2. (the model) takes the flat inputs' rejected rows whole, and of the
     rejected event lines only those it no longer holds: new lines, and the
     ones step 1 deleted.
  A table written before source_file_version was a column has every row
  deleted, so it is taken whole once.
-#}
{% macro forget_quarantined_changed(events_relation) -%}
    {%- if not (execute and is_incremental()) -%}{{ return('') }}{%- endif -%}
    {%- set held_columns = adapter.get_columns_in_relation(this) | map(attribute='name') | map('lower') | list -%}
    {%- if 'source_file_version' not in held_columns -%}
        {{ return('delete from ' ~ this) }}
    {%- endif -%}
    delete from {{ this }} as held
    where held.source <> 'events'
        or not exists (
            select 1 from {{ events_relation }} as staged
            where staged.quarantine_reason is not null
                and staged.source_file = held.source_file
                and staged.line_number = held.line_number
                and staged.source_file_version = held.source_file_version
                and staged.quarantine_reason = held.reason
        )
{%- endmacro %}
