"""The build audit trail: one row per build with its code version, inputs, gate outcome and segment hashes.

Build 1 is the shared demo build; build 2 builds the same data again with the same code. Then a
copy of the project appends two more audit rows to a copy of that warehouse, rebuilding only the
build context, `segments` and the audit tables: build 3 with the code unchanged (the copy's folder
must not change the code version), build 4 after an edit to one catalog segment's SQL (its
definition hash and the code version must change, and nothing else).
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import pytest

from conftest import DemoBuild, Workspace
from project_copy import copy_project

# int_build_started takes the build id of this invocation; without it a partial run reuses the last one.
AUDIT_MODELS = ["int_build_started", "int_build_context", "path:models/marts/segments/segments.sql", "build_audit_segments", "build_audit"]


@dataclass
class Audited:
    space: Workspace
    builds: list[tuple]  # (build_id, code_version) in the order they were built


@pytest.fixture(scope="module")
def audited(passed_demo_build: DemoBuild, tmp_path_factory: pytest.TempPathFactory) -> Audited:
    root = tmp_path_factory.mktemp("audit")
    space = passed_demo_build.workspace.copy(root / "space")
    space.generic_tests = False  # the demo build ran them on the same data

    run = space.dbt("build")  # build 2: same data, same code
    assert run.returncode == 0, run.output[-5000:]

    project = copy_project(root / "project")
    run = space.dbt("run", "--project-dir", str(project), "--select", *AUDIT_MODELS)  # build 3: same code, other folder
    assert run.returncode == 0, run.output[-5000:]
    champions = project / "models" / "marts" / "segments" / "catalog" / "seg_champions.sql"
    text = champions.read_text()
    assert "and engagement_score >=" in text
    champions.write_text(text.replace("and engagement_score >=", "and frequency >= 2\n        and engagement_score >="))
    run = space.dbt("run", "--project-dir", str(project), "--select", "seg_champions", *AUDIT_MODELS)  # build 4
    assert run.returncode == 0, run.output[-5000:]

    builds = space.query("select build_id, code_version from build_audit order by built_at, build_id")
    return Audited(space, builds)


def segment_hashes(space: Workspace, build_id: str) -> dict[str, str]:
    rows = space.query("select segment_id, definition_hash from build_audit_segments where build_id = ?", [build_id])
    return dict(rows)


def test_one_row_per_build_with_its_own_id(audited: Audited):
    ids = [build_id for build_id, _ in audited.builds]
    assert len(ids) == 4 and len(set(ids)) == 4


def test_same_code_same_version_in_any_folder(audited: Audited):
    versions = [version for _, version in audited.builds]
    assert len(versions[0]) == 32
    assert versions[0] == versions[1] == versions[2]


def test_input_counts_are_the_builds_row_accounting(audited: Audited):
    space = audited.space
    build_id, _ = audited.builds[1]
    input_rows, raw_total, quarantined_total = space.query(
        "select input_rows, raw_rows_total, quarantined_rows_total from build_audit where build_id = ?", [build_id]
    )[0]
    accounted = {
        source: {"raw": raw, "usable": usable, "duplicate": duplicate, "quarantined": quarantined}
        for source, raw, usable, duplicate, quarantined in space.query(
            "select source, raw_rows, usable_rows, duplicate_rows, quarantined_rows from int_source_rows_accounted"
        )
    }
    assert json.loads(input_rows) == accounted
    assert raw_total == sum(counts["raw"] for counts in accounted.values())
    assert quarantined_total == sum(counts["quarantined"] for counts in accounted.values())
    # and DuckDB reads the JSON text as JSON
    assert space.scalar("select cast(input_rows->'events'->>'raw' as bigint) from build_audit where build_id = ?", [build_id]) \
        == accounted["events"]["raw"]


def test_gate_outcome_is_this_builds_dq_results(audited: Audited):
    space = audited.space
    for build_id, _ in audited.builds[:2]:
        outcome, checks, failed, warned = space.query(
            "select dq_gate_outcome, dq_checks, dq_failed_checks, dq_warned_checks from build_audit where build_id = ?",
            [build_id],
        )[0]
        expected = space.query(
            "select count(*),"
            " count(*) filter (where not success and severity = 'fail'),"
            " count(*) filter (where not success and severity = 'warn')"
            " from dq_results where build_id = ?",
            [build_id],
        )[0]
        assert (checks, failed, warned) == expected and checks > 0 and failed == 0
        assert outcome == ("passed with warnings" if warned else "passed")


def test_segment_hashes_are_the_segments_definition_hashes(audited: Audited):
    space = audited.space
    latest, _ = audited.builds[-1]
    audited_rows = set(space.query(
        "select segment_id, status, model_name, definition_hash from build_audit_segments where build_id = ?", [latest]
    ))
    assert audited_rows == set(space.query("select segment_id, status, model_name, definition_hash from segments"))
    assert {status for _, status, _, _ in audited_rows} >= {"active", "draft", "suggested"}


def test_a_changed_segment_changes_its_hash_and_the_code_version(audited: Audited):
    space = audited.space
    (before, version_before), (after, version_after) = audited.builds[2], audited.builds[3]
    assert version_after != version_before
    old, new = segment_hashes(space, before), segment_hashes(space, after)
    assert old.keys() == new.keys()
    changed = sorted(segment for segment in old if old[segment] != new[segment])
    assert changed == ["champions"]


def test_history_survives_a_full_refresh_run_of_the_audit(audited: Audited):
    space = audited.space
    run = space.dbt("run", "--full-refresh", "--select", "build_audit", "build_audit_segments")
    assert run.returncode == 0, run.output[-5000:]
    assert space.scalar("select count(*) from build_audit") == 4  # kept, and no row for a stale build context
    assert space.scalar("select count(distinct build_id) from build_audit_segments") == 4
