{#-
  How int_events_attributed follows the usable events and the identity graph
  without attributing all history again.

  Each row keeps what its person was derived from: the call's user id and
  anonymous id as the graph matches them, and the `judged_at` of its usable
  event. An incremental build:
  1. deletes (pre-hook `forget_attributions_changed`) the rows of events that
     left the usable events or were taken into them again (their judged_at
     differs: a re-delivery kept instead, say), and the rows of every call
     whose ids now give another person than the row has: a merge, a split, an
     erased person (left out of int_identity_person_ids), a shared id. The
     check runs once per distinct (user id, anonymous id, person), not per
     event;
  2. attributes every usable event that has no row (new ones and those just
     deleted), with the graph of this build.
  So each row's person is what a full build gives it. The model's SQL is run
  after its pre-hook, so step 2 sees step 1's deletes.
-#}

{#- Pre-hook of int_events_attributed: step 1 above. Nothing on a full build. -#}
{% macro forget_attributions_changed(events_relation, identifiers_relation) -%}
    {%- if not (execute and is_incremental()) -%}{{ return('') }}{%- endif -%}
    {%- set gone -%}
        not exists (
            select 1 from {{ events_relation }} as usable
            where usable.message_id = {{ this }}.message_id and usable.judged_at = {{ this }}.judged_at
        )
    {%- endset -%}
    {%- do run_query(customer_segments.delete_where(this, gone)) -%}
    {%- set moved -%}
        exists (
            select 1
            from (
                select kept.user_id, kept.anonymous_id
                from (select distinct user_id, anonymous_id, person_id from {{ this }}) as kept
                left join {{ identifiers_relation }} as by_user
                    on by_user.identifier_type = 'user_id' and kept.user_id = by_user.identifier_value
                left join {{ identifiers_relation }} as by_anonymous
                    on by_anonymous.identifier_type = 'anonymous_id' and kept.anonymous_id = by_anonymous.identifier_value
                where coalesce(by_user.person_id, by_anonymous.person_id) is distinct from kept.person_id
            ) as changed
            where changed.user_id is not distinct from {{ this }}.user_id
                and changed.anonymous_id is not distinct from {{ this }}.anonymous_id
        )
    {%- endset -%}
    {{ return(customer_segments.delete_where(this, moved)) }}
{%- endmacro %}
