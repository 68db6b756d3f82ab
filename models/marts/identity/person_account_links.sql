{#-
  Why each person is in an account: one row per (person, account, method) with
  its evidence and precedence (crm > group_call > email_domain > reverse_ip);
  is_primary marks the link people.account_id uses. See int_person_account_links.
-#}
{{ customer_segments.after_quality_gate() }}

with

links as (

    select * from {{ ref('int_person_account_links') }}

),

final as (

    select
        person_id,
        account_id,
        method,
        precedence,
        evidence_count,
        evidence,
        is_primary

    from links

)

select * from final
