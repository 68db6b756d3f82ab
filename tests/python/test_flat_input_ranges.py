"""Range checks on the flat inputs (issue: orders dated year 0001 or 9999 counted as real orders and moved
the BG/NBD fit): every timestamp and amount a real record cannot have is quarantined with a reason, the
same as for events; values inside the range, and at its edges, stay usable."""

from __future__ import annotations

import json

from conftest import Workspace
from test_input_errors import GOOD_EVENT, staging_build, write_events

OK = "2026-10-01T10:00:00Z"


def quarantined(space: Workspace, source: str) -> list[tuple]:
    return space.query(
        "select line_number, reason from quarantined_rows where source = ? order by line_number", [source]
    )


def test_out_of_range_values_of_every_flat_input_are_quarantined(workspace: Workspace):
    write_events(workspace, [json.dumps(GOOD_EVENT)])
    raw = workspace.raw
    (raw / "orders.csv").write_text(
        "order_id,user_id,email,amount,currency,ordered_at,status\n"
        f"o1,u1,a@b.com,10.00,USD,{OK},completed\n"
        "o2,u1,a@b.com,10.00,USD,0001-01-01T00:00:00Z,completed\n"
        "o3,u1,a@b.com,10.00,USD,9999-12-31T23:59:59Z,completed\n"
        f"o4,u1,a@b.com,5000000000,USD,{OK},completed\n"
        f"o5,u1,a@b.com,100000000,USD,{OK},completed\n"  # exactly max_order_amount: kept
        "o6,u1,a@b.com,10.00,USD,1970-01-01T00:00:00Z,completed\n"  # exactly min_valid_record_at: kept
    )
    (raw / "crm_contacts.csv").write_text(
        "contact_id,email,title,account_id,email_status,updated_at\n"
        f"c1,a@b.com,CTO,acc1,valid,{OK}\n"
        "c2,c@d.com,CTO,acc1,valid,0001-01-01\n"
        "c3,e@f.com,CTO,acc1,valid,9999-01-01\n"
    )
    (raw / "accounts.csv").write_text(
        "account_id,domain,name,industry,employee_count,annual_revenue,country,updated_at\n"
        f"acc1,b.com,B,software,50,1000000,US,{OK}\n"
        f"acc2,c.com,C,software,999999999999,1000000,US,{OK}\n"
        f"acc3,d.com,D,software,50,99999999999999999,US,{OK}\n"
        "acc4,e.com,E,software,50,1000000,US,9999-01-01\n"
    )
    (raw / "email_events.csv").write_text(
        "email_event_id,email,campaign_id,event_type,occurred_at,url\n"
        f"e1,a@b.com,cmp1,open,{OK},\n"
        "e2,a@b.com,cmp1,open,1900-01-01T00:00:00Z,\n"
        "e3,a@b.com,cmp1,click,9999-01-01T00:00:00Z,\n"
    )
    (raw / "consent.csv").write_text(
        "subject_type,subject_value,purpose,granted,recorded_at\n"
        f"user_id,u1,marketing,true,{OK}\n"
        "user_id,u2,marketing,true,0001-01-01T00:00:00Z\n"
        "user_id,u3,marketing,false,9999-01-01T00:00:00Z\n"
    )
    run = staging_build(workspace)
    assert run.returncode == 0, run.output[-5000:]
    assert quarantined(workspace, "orders") == [
        (3, "timestamp_too_old"), (4, "timestamp_in_future"), (5, "amount_out_of_range"),
    ]
    assert quarantined(workspace, "crm_contacts") == [(3, "timestamp_too_old"), (4, "timestamp_in_future")]
    assert quarantined(workspace, "accounts") == [
        (3, "employee_count_out_of_range"), (4, "annual_revenue_out_of_range"), (5, "timestamp_in_future"),
    ]
    assert quarantined(workspace, "email_events") == [(3, "timestamp_too_old"), (4, "timestamp_in_future")]
    assert quarantined(workspace, "consent") == [(3, "timestamp_too_old"), (4, "timestamp_in_future")]
    # nothing lost: every row is usable or quarantined
    assert workspace.query("select order_id from stg_shop__orders where quarantine_reason is null order by 1") == [
        ("o1",), ("o5",), ("o6",),
    ]


def test_the_ranges_are_knobs(workspace: Workspace):
    write_events(workspace, [json.dumps(GOOD_EVENT)])
    (workspace.raw / "orders.csv").write_text(
        "order_id,user_id,email,amount,currency,ordered_at,status\n"
        "o1,u1,a@b.com,10.00,USD,1997-01-01T00:00:00Z,completed\n"
        "o2,u1,a@b.com,500.00,USD,2026-10-01T00:00:00Z,completed\n"
    )
    run = workspace.dbt(
        "build", "--select", "+assert_source_rows_balance", "--indirect-selection", "cautious",
        "--vars", '{"min_valid_record_at": "2000-01-01", "max_order_amount": 100}',
    )
    assert run.returncode == 0, run.output[-5000:]
    assert quarantined(workspace, "orders") == [(2, "timestamp_too_old"), (3, "amount_out_of_range")]
