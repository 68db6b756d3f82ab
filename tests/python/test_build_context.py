"""The build's reference time: one row whatever the data, and `as_of` honoured when set."""

from __future__ import annotations

from conftest import Workspace

from customer_segments.generate import generate


def test_as_of_var_gives_one_build_row_and_scores_at_that_time(workspace: Workspace):
    workspace.generic_tests = False
    generate(workspace.raw, workspace.truth, events=1_500, seed=2, progress=False)
    run = workspace.dbt("build", "--select", "+person_scores", "--indirect-selection", "cautious", "--vars", '{as_of: "2026-10-15 00:00:00"}')
    assert run.returncode == 0, run.output[-4000:]
    assert workspace.query("select cast(as_of as varchar) from int_build_context") == [("2026-10-15 00:00:00",)]
    people, distinct = workspace.query("select count(*), count(distinct person_id) from person_scores")[0]
    assert people == distinct > 0
    # every score is computed at the var's as_of, not at the latest event
    assert workspace.scalar("select count(*) from person_scores where as_of <> timestamp '2026-10-15 00:00:00'") == 0


def test_as_of_in_iso_8601_with_an_offset_is_read_as_utc(workspace: Workspace):
    workspace.generic_tests = False
    generate(workspace.raw, workspace.truth, events=1_500, seed=2, progress=False)
    # 02:00 at +02:00 is midnight UTC; a T and a Z in min_valid_event_at too
    as_of = '{as_of: "2026-10-15T02:00:00+02:00", min_valid_event_at: "2010-01-01T00:00:00Z"}'
    run = workspace.dbt("build", "--select", "+person_scores", "--indirect-selection", "cautious", "--vars", as_of)
    assert run.returncode == 0, run.output[-4000:]
    assert workspace.query("select cast(as_of as varchar) from int_build_context") == [("2026-10-15 00:00:00",)]
    assert workspace.scalar("select count(*) from person_scores where as_of <> timestamp '2026-10-15 00:00:00'") == 0
    assert workspace.scalar("select count(*) from person_scores") > 0
