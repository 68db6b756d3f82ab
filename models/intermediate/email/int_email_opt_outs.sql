{#-
  What the email and CRM inputs say about sending email to an address: one row
  per address and signal. `unsubscribed` and `spam_complaint`: every
  unsubscribe and spam complaint (suppressions keeps those after the person's
  latest marketing grant). `bounced`: the address is undeliverable, because its
  CRM contact has email_status 'bounced' or its latest delivery outcome
  (delivered, open, click or bounce) is a bounce.
  Email events of any age count: a refusal is kept to be honoured after the
  event left the retention window (int_email_events_deduplicated drops those).
-#}
{{ customer_segments.after_quality_gate() }}

with

email_events as (

    select email, event_type, occurred_at
    from {{ ref('stg_email__events') }}
    where quarantine_reason is null
        and duplicate_reason is null

),

contacts as (

    select * from {{ ref('int_crm_contacts_deduplicated') }}

),

complaints as (

    select
        email,
        case when event_type = 'spam' then 'spam_complaint' else 'unsubscribed' end as signal,
        occurred_at as since

    from email_events
    where event_type in ('unsubscribe', 'spam')

),

delivery_outcomes as (

    select
        email,
        event_type,
        occurred_at,
        row_number() over (partition by email order by occurred_at desc, event_type = 'bounce' desc) as outcome_rank

    from email_events
    where event_type in ('delivered', 'open', 'click', 'bounce')

),

bounces as (

    select email, 'bounced' as signal, occurred_at as since
    from delivery_outcomes
    where outcome_rank = 1
        and event_type = 'bounce'

    union all

    select email, 'bounced' as signal, updated_at as since
    from contacts
    where email_status = 'bounced'
        and email is not null

),

final as (

    select email, signal, since from complaints
    union all
    select email, signal, min(since) as since from bounces group by email, signal

)

select * from final
