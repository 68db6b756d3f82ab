"""The flat staging tables skip unchanged inputs and judge changed ones whole (macros/incremental_flat_inputs.sql).

One warehouse is built again and again on small generated inputs, each build after a change:
1. a full build;
2. nothing changed: no flat input file is read, and every table is as it was;
3. orders.csv gains a new order and a second copy of an old one, a consent record dated next week arrives
   (timestamp_in_future), intent_signals.csv gains a signal and accounts.csv is deleted: the changed tables equal a --full-refresh of the same files,
   the unchanged ones were not read;
4. nothing changed again, but the consent table holds a row that waits on the clock: consent is read again;
5. var max_order_amount changes: orders are judged again by the new rule.
After every build each table is compared, row by row, with a --full-refresh on a copy of the same files.
"""

from __future__ import annotations

import shutil
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from tests.python.conftest import Workspace, append_csv

#: flat input file stem -> its staging model
MODELS = {
    "orders": "stg_shop__orders",
    "crm_contacts": "stg_crm__contacts",
    "accounts": "stg_crm__accounts",
    "email_events": "stg_email__events",
    "consent": "stg_privacy__consent",
    "technographics": "stg_third_party__technographics",
    "intent_signals": "stg_third_party__intent_signals",
}
AS_OF = "2026-10-31 23:59:59"


def build(space: Workspace, *extra: str, vars_: str = "") -> None:
    # `run`, not `build`: the tables are compared here; their data tests run in every full build of the suite
    run = space.dbt("run", "--select", *MODELS.values(), "--vars", f"{{as_of: '{AS_OF}'{vars_}}}", *extra)
    assert run.returncode == 0, run.output[-5000:]


def read_files(space: Workspace) -> set[str]:
    """The flat inputs whose files the last build read (their compiled SQL calls the CSV reader)."""
    compiled = space.root / "target" / "compiled" / "customer_segments" / "models" / "staging"
    return {name for name, model in MODELS.items()
            if "raw_csv_records(" in next(compiled.rglob(f"{model}.sql")).read_text()}


def rows(space: Workspace) -> dict[str, list]:
    return {model: sorted(space.query(f"select * from {model}"), key=repr) for model in MODELS.values()}


def full_refresh_rows(space: Workspace, scratch: Path, vars_: str = "") -> dict[str, list]:
    """The tables of a --full-refresh on a copy of `space`'s raw files (modification times kept)."""
    shutil.rmtree(scratch, ignore_errors=True)
    reference = Workspace(scratch, generic_tests=False)  # the reference only: the incremental builds run them
    shutil.rmtree(reference.raw)
    shutil.copytree(space.raw, reference.raw, copy_function=shutil.copy2)
    build(reference, "--full-refresh", vars_=vars_)
    return rows(reference)


@pytest.fixture(scope="module")
def builds(tmp_path_factory: pytest.TempPathFactory) -> dict:
    from customer_segments.generate import generate

    root = tmp_path_factory.mktemp("incremental_flat_inputs")
    space = Workspace(root / "warehouse")
    generate(space.raw, space.truth, events=2_000, seed=11, progress=False, end_date="2026-10-31")
    seen: dict = {}

    build(space)
    seen["first"] = rows(space)

    build(space)
    seen["unchanged_read"], seen["unchanged"] = read_files(space), rows(space)

    first_order = (space.raw / "orders.csv").read_text().splitlines()[1]
    next_week = (datetime.now(timezone.utc) + timedelta(days=7)).strftime("%Y-%m-%dT%H:%M:%SZ")
    append_csv(space.raw / "orders.csv", "ord_flat_new,usr_flat,flat.new@example.com,500.00,USD,2026-10-30T10:00:00Z,completed",
               first_order)
    append_csv(space.raw / "consent.csv", f"email,flat.later@example.com,marketing,true,{next_week}")
    (space.raw / "accounts.csv").unlink()
    append_csv(space.raw / "intent_signals.csv", "flat-new.example,crm software,55,2026-10-30T10:00:00Z")
    build(space)
    seen["changed_read"], seen["changed"] = read_files(space), rows(space)
    seen["changed_expected"] = full_refresh_rows(space, root / "reference-changed")

    build(space)
    seen["waiting_read"], seen["waiting"] = read_files(space), rows(space)

    build(space, vars_=", max_order_amount: 100")
    seen["rule_read"], seen["rule"] = read_files(space), rows(space)
    seen["rule_expected"] = full_refresh_rows(space, root / "reference-rule", vars_=", max_order_amount: 100")
    return seen


def test_an_unchanged_input_is_not_read_and_its_table_is_kept(builds):
    assert builds["unchanged_read"] == set()
    assert builds["unchanged"] == builds["first"]


def test_changed_inputs_are_judged_whole_like_a_full_refresh(builds):
    assert builds["changed_read"] == {"orders", "consent", "intent_signals"}  # accounts has no file left to read
    assert builds["changed"] == builds["changed_expected"]
    orders = {row[5]: row for row in builds["changed"]["stg_shop__orders"]}  # order_id is the 6th column
    assert "ord_flat_new" in orders
    assert builds["changed"]["stg_crm__accounts"] == [], "a deleted file's rows must go"
    def duplicates(tables: dict) -> list:
        return [row for row in tables["stg_shop__orders"] if row[-1] == "duplicate_order_id"]

    assert len(duplicates(builds["changed"])) == len(duplicates(builds["first"])) + 1, \
        "the second copy of the old order is a duplicate"


def test_a_row_waiting_on_the_clock_makes_its_input_read_again(builds):
    consent = builds["waiting"]["stg_privacy__consent"]
    assert any(row[-2] == "timestamp_in_future" for row in consent), "the planted record must wait on the clock"
    assert builds["waiting_read"] == {"consent"}
    assert builds["waiting"] == builds["changed_expected"]


def test_a_changed_rule_judges_the_input_again(builds):
    assert "orders" in builds["rule_read"]
    assert builds["rule"] == builds["rule_expected"]
    reasons = {row[-2] for row in builds["rule"]["stg_shop__orders"]}
    assert "amount_out_of_range" in reasons, "the new rule must quarantine the 500.00 order"
