"""Build identity and idempotency, with dbt's partial parsing on (its default), in one warehouse.

Builds, all with `segments build` in one workspace and one dbt target folder, so
that every build after the first reuses the parse of the one before (as a
scheduled job does):

1. generated data (no erasure requests: erasure changes data by design);
2. the same data again: it must change no contract table and no other mart
   (history tables only gain this build's rows), and have an id of its own in
   `dq_results`, `build_audit` and the summary, with its own gate outcome;
3. a bad load (non-JSON lines above the quarantine threshold): the gate fails,
   the summary says so, nothing is published;
4. a `dbt build` killed with SIGKILL after the gate;
5. `segments build` again: it must publish.

dbt used to take the build id of `int_dq_checks` from YAML config, which dbt renders
when it parses and partial parsing then reuses: builds 2 to 5 wrote their
checks under build 1's id, so `dq_results` lost them, `build_audit` called
warned builds passed, the summary showed an old build's verdict, and after the
killed build nothing was published again.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import duckdb
import pytest

from conftest import NO_GENERIC_TESTS, REPO_ROOT, Workspace

from customer_segments import publish
from customer_segments.dbt_runner import dbt_command

#: Columns that are the build's own stamp, not its data: allowed to differ between two builds.
BUILD_STAMPS = {"build_id", "built_at", "checked_at", "recorded_at", "erased_at", "synced_at"}
#: History tables: a rebuild keeps their rows and may add rows of its own build only.
HISTORY_TABLES = {"dq_results", "build_audit", "build_audit_segments", "segment_member_changes",
                  "identity_person_merges", "erasure_log", "sync_log"}
#: Checks whose value depends on the build's wall clock or on the previous build, not on the data.
BUILD_DEPENDENT_CHECKS = {"events_staleness_hours", "events_volume_change"}


@dataclass
class Build:
    returncode: int
    output: str
    snapshot: Path | None = None


@dataclass
class History:
    space: Workspace
    serving: Path
    builds: list[Build] = field(default_factory=list)
    killed_build_id: str | None = None


def build_env(space: Workspace, serving: Path) -> dict[str, str]:
    env = space.env()
    env.update(
        SEGMENTS_SERVING_PATH=str(serving),
        DBT_TARGET_PATH=str(space.root / "target"),
        DBT_LOG_PATH=str(space.root / "logs"),
    )
    env.pop("DBT_PARTIAL_PARSE", None)  # dbt's default: partial parsing on
    return env


def segments_build(space: Workspace, serving: Path, name: str) -> Build:
    # without the generic data tests, as Workspace(generic_tests=False) runs them (about 10 s a build): this module
    # is about build ids and what a rebuild changes; its singular tests and the gate still run
    done = subprocess.run(
        [sys.executable, "-m", "customer_segments.cli", "build", "--", *NO_GENERIC_TESTS],
        cwd=REPO_ROOT, env=build_env(space, serving), capture_output=True, text=True,
    )
    snapshot = None
    if space.database.exists():
        snapshot = space.root / "snapshots" / f"{name}.duckdb"
        snapshot.parent.mkdir(exist_ok=True)
        shutil.copy(space.database, snapshot)
    return Build(done.returncode, done.stdout + done.stderr, snapshot)


def kill_dbt_build_after_the_gate(space: Workspace, serving: Path) -> str:
    """Start `dbt build`, SIGKILL it (and its children) once it is past the gate; the killed build's output."""
    process = subprocess.Popen(
        dbt_command("build", *NO_GENERIC_TESTS), cwd=REPO_ROOT, env=build_env(space, serving),
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True,
    )
    seen = []
    deadline = time.monotonic() + 900
    try:
        assert process.stdout is not None
        for line in process.stdout:
            seen.append(line)
            if "OK created sql table model main.int_build_context" in line:
                time.sleep(2)  # somewhere in identity and scores
                break
            assert time.monotonic() < deadline, "".join(seen[-50:])
        else:
            pytest.fail("dbt build ended before it could be killed:\n" + "".join(seen[-50:]))
    finally:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    assert process.returncode == -signal.SIGKILL
    return "".join(seen)


def append_bad_lines(space: Workspace) -> Path:
    """Non-JSON lines: 10% of the events input, twice the default dq_max_quarantine_rate."""
    lines = sum(1 for _ in (space.raw / "events" / "part-00000.jsonl").open())
    bad = space.raw / "events" / "part-99999.jsonl"
    bad.write_text("".join(f"not json {number}\n" for number in range(lines // 10)))
    return bad


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> History:
    from customer_segments.generate import generate

    space = Workspace(tmp_path_factory.mktemp("build_identity"), generic_tests=False)
    generate(space.raw, space.truth, events=5_000, seed=7, progress=False)
    requests = space.raw / "erasure_requests.csv"
    requests.write_text(requests.read_text().splitlines()[0] + "\n")  # the header only: no erasure
    serving = space.root / "serving" / "serving.duckdb"
    done = History(space, serving)
    done.builds.append(segments_build(space, serving, "first"))
    done.builds.append(segments_build(space, serving, "same_data"))
    bad = append_bad_lines(space)
    done.builds.append(segments_build(space, serving, "bad_load"))
    bad.unlink()
    with duckdb.connect(str(space.database), read_only=True) as connection:
        before_kill = {row[0] for row in connection.execute("select distinct build_id from dq_results").fetchall()}
    kill_dbt_build_after_the_gate(space, serving)
    with duckdb.connect(str(space.database), read_only=True) as connection:
        killed = {row[0] for row in connection.execute("select distinct build_id from dq_results").fetchall()} - before_kill
    done.killed_build_id = killed.pop() if len(killed) == 1 else None
    done.builds.append(segments_build(space, serving, "after_kill"))
    return done


def build_ids(snapshot: Path, table: str) -> list[str]:
    """The build ids of a history table, oldest first."""
    stamp = {"dq_results": "checked_at", "build_audit": "built_at", "segment_member_changes": "recorded_at"}[table]
    with duckdb.connect(str(snapshot), read_only=True) as connection:
        return [row[0] for row in connection.execute(
            f"select build_id from {table} group by 1 order by min({stamp}), 1").fetchall()]


# --------------------------------------------------------------------------- build identity


def test_two_builds_in_a_row_have_two_ids_everywhere(history: History):
    first, second = history.builds[:2]
    assert first.returncode == 0, first.output[-5000:]
    assert second.returncode == 0, second.output[-5000:]
    results_ids = build_ids(second.snapshot, "dq_results")
    audit_ids = build_ids(second.snapshot, "build_audit")
    assert len(results_ids) == 2, results_ids
    assert audit_ids == results_ids
    with duckdb.connect(str(second.snapshot), read_only=True) as connection:
        per_build = connection.execute("select build_id, count(*) from dq_results group by 1").fetchall()
        started = connection.execute("select build_id from int_build_started").fetchone()[0]
    assert len({count for _, count in per_build}) == 1, per_build  # every build ran every check
    assert results_ids[-1] == started
    # the summary and the published file speak of this build
    assert f"Serving: published build {results_ids[-1]} " in second.output


def test_each_builds_gate_outcome_is_its_own(history: History):
    snapshot = history.builds[1].snapshot
    with duckdb.connect(str(snapshot), read_only=True) as connection:
        audited = connection.execute(
            "select build_id, dq_gate_outcome, dq_checks, dq_failed_checks, dq_warned_checks from build_audit"
        ).fetchall()
        for build_id, outcome, checks, failed, warned in audited:
            expected = connection.execute(
                "select count(*), count(*) filter (where not success and severity = 'fail'),"
                " count(*) filter (where not success and severity = 'warn') from dq_results where build_id = ?",
                [build_id],
            ).fetchone()
            assert (checks, failed, warned) == expected and checks > 0, build_id
            assert outcome == ("failed" if failed else "passed with warnings" if warned else "passed"), build_id
    # the generated data ends weeks before today: the freshness check warns in every build
    assert [outcome for _, outcome, *_ in audited] == ["passed with warnings"] * 2


def test_a_failed_gate_is_reported_as_failed_and_not_published(history: History):
    good, failed = history.builds[1], history.builds[2]
    assert failed.returncode == 1, failed.output[-5000:]
    assert "Data quality: GATE FAILED, segments not rebuilt" in failed.output, failed.output[-3000:]
    assert "events_quarantine_rate" in failed.output
    results_ids = build_ids(failed.snapshot, "dq_results")
    assert len(results_ids) == 3 and build_ids(failed.snapshot, "build_audit") == results_ids[:2]
    with duckdb.connect(str(failed.snapshot), read_only=True) as connection:
        failures = connection.execute(
            "select count(*) from dq_results where build_id = ? and not success and severity = 'fail'", [results_ids[2]]
        ).fetchone()[0]
    assert failures >= 1
    assert f"BI tools keep reading build {build_ids(good.snapshot, 'build_audit')[-1]} " in failed.output


def test_after_a_killed_build_the_next_build_publishes(history: History):
    after = history.builds[3]
    assert history.killed_build_id is not None, "the killed build got past dq_results"
    assert after.returncode == 0, after.output[-5000:]
    audit_ids = build_ids(after.snapshot, "build_audit")
    results_ids = build_ids(after.snapshot, "dq_results")
    assert history.killed_build_id in results_ids and history.killed_build_id not in audit_ids
    assert results_ids[-1] == audit_ids[-1] != history.killed_build_id
    assert len(audit_ids) == 3 and len(results_ids) == 5
    assert f"Serving: published build {audit_ids[-1]} " in after.output
    served = publish.current(history.serving)
    assert served is not None and served.build_id == audit_ids[-1]
    assert "Traceback" not in after.output


def test_change_log_carries_the_build_ids_of_the_audit(history: History):
    snapshot = history.builds[3].snapshot
    assert set(build_ids(snapshot, "segment_member_changes")) <= set(build_ids(snapshot, "build_audit"))


def test_no_per_run_value_is_rendered_at_parse_time():
    """YAML config is rendered when dbt parses; partial parsing reuses it for later runs."""
    per_run = re.compile(r"\{[{%][^}]*\b(invocation_id|run_started_at|datetime\.now|datetime\.utcnow)\b")
    offenders = []
    for path in [*REPO_ROOT.glob("models/**/*.yml"), *REPO_ROOT.glob("python_models/**/*.yml"), REPO_ROOT / "dbt_project.yml"]:
        offenders += [f"{path.relative_to(REPO_ROOT)}: {found[1]}" for found in per_run.finditer(path.read_text())]
    for path in REPO_ROOT.glob("python_models/**/*.py"):
        if "dbt.config.get(\"build_id\")" in path.read_text() or "dbt.config.get(\"checked_at\")" in path.read_text():
            offenders.append(f"{path.relative_to(REPO_ROOT)}: build stamp from config")
    assert offenders == []


# --------------------------------------------------------------------------- idempotency


def mart_names() -> set[str]:
    marts = {path.stem for path in (REPO_ROOT / "models" / "marts").rglob("*.sql")}
    marts |= {path.stem for path in (REPO_ROOT / "python_models" / "marts").rglob("*.py")}
    return marts


def table_rows(connection: duckdb.DuckDBPyConnection, database: str, table: str, columns: list[str]) -> list[tuple]:
    selected = ", ".join(f'"{column}"' for column in columns)
    return connection.execute(f'select {selected} from {database}.main."{table}" order by all').fetchall()


def test_a_rebuild_without_new_data_changes_no_table(history: History):
    first, second = history.builds[0].snapshot, history.builds[1].snapshot
    connection = duckdb.connect()
    connection.execute(f"attach '{first}' as first (read_only)")
    connection.execute(f"attach '{second}' as second (read_only)")
    tables = sorted(
        row[0] for row in connection.execute(
            "select table_name from duckdb_tables() where database_name = 'second' and schema_name = 'main'"
        ).fetchall()
        if row[0] in mart_names()
    )
    assert set(publish.CONTRACT_TABLES) - {"sync_log", "suppressions"} <= set(tables)
    (new_build,) = set(build_ids(second, "build_audit")) - set(build_ids(first, "build_audit"))
    changed = []
    for table in tables:
        columns = [row[0] for row in connection.execute(
            "select column_name from duckdb_columns() where database_name = 'second' and table_name = ? order by column_index",
            [table],
        ).fetchall()]
        before = table_rows(connection, "first", table, columns)
        after = table_rows(connection, "second", table, columns)
        if table in HISTORY_TABLES:
            kept = [row for row in after if "build_id" not in columns or row[columns.index("build_id")] != new_build]
            if kept != before:
                changed.append(f"{table}: rows of earlier builds changed")
            if table not in ("dq_results", "build_audit", "build_audit_segments") and len(after) != len(before):
                changed.append(f"{table}: {len(after) - len(before)} rows added by a build without new data")
            continue
        data_columns = [column for column in columns if column not in BUILD_STAMPS]
        if table_rows(connection, "first", table, data_columns) != table_rows(connection, "second", table, data_columns):
            differing = [
                column for column in data_columns
                if table_rows(connection, "first", table, [column]) != table_rows(connection, "second", table, [column])
            ]
            changed.append(f"{table}: {', '.join(differing) or 'rows'}")
    assert changed == []


def test_a_rebuild_records_the_same_checks_and_audit(history: History):
    first, second = history.builds[0].snapshot, history.builds[1].snapshot
    old_id, new_id = build_ids(second, "build_audit")
    compared = "expectation, severity, success, observed_value, threshold, details"
    with duckdb.connect(str(second), read_only=True) as connection:
        old, new = (
            connection.execute(
                f"select {compared} from dq_results where build_id = ? and expectation not in "
                f"({', '.join(repr(name) for name in BUILD_DEPENDENT_CHECKS)}) order by all", [build_id]
            ).fetchall()
            for build_id in (old_id, new_id)
        )
        assert old == new and len(old) > 20
        audit = "as_of, code_version, input_rows, raw_rows_total, quarantined_rows_total, dq_checks"
        rows = connection.execute(f"select {audit} from build_audit order by built_at").fetchall()
        assert rows[0] == rows[1]
        segments = "segment_id, status, model_name, definition_hash"
        old_hashes, new_hashes = (
            connection.execute(f"select {segments} from build_audit_segments where build_id = ? order by all", [b]).fetchall()
            for b in (old_id, new_id)
        )
        assert old_hashes == new_hashes


def test_quarantined_at_is_when_the_rows_file_was_written(history: History):
    space = history.space
    snapshot = history.builds[1].snapshot
    with duckdb.connect(str(snapshot), read_only=True) as connection:
        stamps = connection.execute("select source_file, min(quarantined_at), max(quarantined_at) from quarantined_rows group by 1").fetchall()
    assert stamps
    for source_file, earliest, latest in stamps:
        written = datetime.fromtimestamp(int((space.raw / source_file).stat().st_mtime), timezone.utc).replace(tzinfo=None)
        assert earliest == latest == written, source_file
