"""The events summed per caller follow new events without summing all history (macros/incremental_callers.sql).

One small warehouse (int_events_per_caller and the person-level models that read it) is built four times:
1. the generated events, as_of ten days before the last of them (so some callers hold events after as_of);
2. plus a file of new events (a known caller's, a new caller's), as_of after every event: the callers whose
   rows counted by the old as_of are summed again, the others combine their new events with their rows;
3. plus another file of new events, same as_of: only combining, nobody summed again;
4. the second build's file deleted: events the table summed are gone, so every caller is summed again.
After the third and the fourth build the caller table and the person-level models that read it (milestones,
signals) must equal a `--full-refresh` of the same files and as_of, row for row; the debug log says which way
each build went.
"""

from __future__ import annotations

import json
import re

import pytest

from tests.python.conftest import Workspace

FIRST_AS_OF = "2026-10-21 00:00:00"
AS_OF = "2026-11-02 23:59:59"
#: the tables compared with a full refresh; the judged_at stamps differ between the two warehouses by design, and
#: a row no build touched keeps the as_of it was summed at (summed_as_of), not the later one of a full refresh
COMPARED = {
    "int_events_per_caller": "select * exclude (last_judged_at, summed_as_of) from int_events_per_caller",
    "int_person_milestones": "select * from int_person_milestones",
    "int_person_signals": "select * from int_person_signals",
}


def build(space: Workspace, as_of: str, *flags: str) -> None:
    # people reads the table too (first and last seen): the equivalence test compares it after every batch
    run = space.dbt("build", *flags, "--select", "+int_events_per_caller", "+int_person_signals",
                    "+int_person_milestones", "--exclude-resource-type", "unit_test", "--indirect-selection", "cautious",
                    "--vars", f"{{as_of: '{as_of}'}}")
    assert run.returncode == 0, run.output[-5000:]


def way_taken(space: Workspace) -> str:
    """What the last build said of int_events_per_caller (its debug log line)."""
    log = (space.root / "logs" / "dbt.log").read_text(errors="replace")
    lines = re.findall(r"int_events_per_caller: ((?:combines|sums every)[^\n]*)", log)
    assert lines, "no line of int_events_per_caller in the log"
    return lines[-1]


def track(template: dict, message_id: str, stamp: str, **ids: str) -> dict:
    call = dict(template, messageId=message_id, timestamp=stamp, receivedAt=stamp, **ids)
    call.pop("sentAt", None)
    return call


def write_calls(path, calls: list[dict]) -> None:
    path.write_text("".join(json.dumps(call, separators=(",", ":")) + "\n" for call in calls))


def compared_with_full_refresh(space: Workspace, tmp_path_factory, as_of: str) -> dict:
    full = space.copy(tmp_path_factory.mktemp("callers_full"))  # generic tests off, as in the module's workspace
    build(full, as_of, "--full-refresh")
    return {table: [sorted(workspace.query(sql), key=repr) for workspace in (space, full)]
            for table, sql in COMPARED.items()}


@pytest.fixture(scope="module")
def builds(tmp_path_factory: pytest.TempPathFactory) -> dict:
    from customer_segments.generate import generate

    space = Workspace(tmp_path_factory.mktemp("incremental_callers"), generic_tests=False, debug_log=True)  # way_taken
    generate(space.raw, space.truth, events=2_000, seed=37, progress=False, end_date="2026-10-31")
    build(space, FIRST_AS_OF)
    seen = {"held_after_as_of": space.scalar(
        "select count(*) from int_events_per_caller where last_event_at > summed_as_of")}
    raw_line, user_id, anonymous_id = space.query(
        "select staged.raw_line, usable.user_id, usable.anonymous_id from stg_segment__events as staged "
        "inner join int_events_deduplicated as usable on usable.message_id = staged.message_id "
        "where usable.message_type = 'track' and usable.canonical_event is not null "
        "and usable.user_id is not null and usable.anonymous_id is not null "
        "order by usable.event_at limit 1")[0]
    template = json.loads(raw_line)
    second = space.raw / "events" / "second.jsonl"
    write_calls(second, [
        track(template, "planted-caller-1", "2026-11-01T10:00:00.000Z"),
        track(template, "planted-caller-2", "2026-11-01T11:00:00.000Z", userId=None, anonymousId="planted-anon-1"),
    ])
    build(space, AS_OF)
    seen["second"] = way_taken(space)
    write_calls(space.raw / "events" / "third.jsonl", [
        track(template, "planted-caller-3", "2026-11-02T10:00:00.000Z"),
        track(template, "planted-caller-4", "2026-11-02T11:00:00.000Z", userId=None, anonymousId="planted-anon-1"),
    ])
    build(space, AS_OF)
    seen["third"] = way_taken(space)
    seen["third_compared"] = compared_with_full_refresh(space, tmp_path_factory, AS_OF)
    seen["planted_caller"] = space.query(
        "select events from int_events_per_caller where user_id is null and anonymous_id = 'planted-anon-1'")
    second.unlink()
    build(space, AS_OF)
    seen["fourth"] = way_taken(space)
    seen["fourth_compared"] = compared_with_full_refresh(space, tmp_path_factory, AS_OF)
    return seen


def test_the_first_build_held_events_after_its_as_of(builds):
    assert builds["held_after_as_of"] > 0


def test_a_later_as_of_sums_again_the_rows_that_counted_by_the_old_one(builds):
    assert builds["second"].startswith("combines the events judged after")
    assert "sums again the callers whose rows count by another as_of" in builds["second"]


def test_new_events_alone_are_combined_with_their_callers_rows(builds):
    assert builds["third"].startswith("combines the events judged after")
    assert "sums again" not in builds["third"]
    assert builds["planted_caller"] == [(2,)], "the new anonymous caller's two events, one per build"


def test_a_deleted_file_sums_every_caller_again(builds):
    assert builds["fourth"].startswith("sums every caller again")


# the second build's rows summed again are compared after the third (a full refresh each costs a build)
@pytest.mark.parametrize("step", ["third", "fourth"])
@pytest.mark.parametrize("table", sorted(COMPARED))
def test_the_build_equals_a_full_refresh(builds, step, table):
    incremental, full = builds[f"{step}_compared"][table]
    assert len(incremental) > 20
    assert incremental == full
