"""Serving BI while dbt builds: readers of the serving file never see an error or half a build.

The end-to-end test copies the shared demo build's warehouse, publishes it,
and starts a reader process that, like a BI tool, opens the serving file
read-only every 50 ms and checks what it sees, while `segments build`
rebuilds the warehouse on more events and publishes again. Every snapshot
must be one whole published build: one build id in `_published`, every table
as long as `_published` says, and the same segment and people contents as
the warehouse had when that build was published.

The reader is a separate process on purpose: within one process DuckDB
shares one open database per path, so a connection opened while another is
still open reads the file the first one opened (the old build), which would
hide the swap. BI tools run in processes of their own.

The unit tests run on small hand-made warehouses (no dbt): the manifest, the
swap under an open reader, refusals (failed gate, unfinished build, failed
dbt build) that leave the serving file alone, and temporary-file cleanup.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

import duckdb
import pytest

from conftest import NO_GENERIC_TESTS, REPO_ROOT, DemoBuild, Workspace, serving_page_columns

from customer_segments import cli, publish, serving_reader

#: What a snapshot must agree on with the warehouse it was published from:
#: member counts both ways, and the contents of segment_members and people.
FINGERPRINT_SQL = """
select
    (select count(*) from segment_members) as members,
    (select sum(member_count) from segments) as member_count_total,
    (select count(*) from segments) as segments,
    (select count(*) from people) as people,
    (select bit_xor(hash(segment_id, entity_id, is_holdout)) from segment_members) as members_hash,
    (select bit_xor(hash(person_id, lifecycle_stage)) from people) as people_hash
"""


def fingerprint(connection: duckdb.DuckDBPyConnection) -> list:
    return [int(value) for value in connection.execute(FINGERPRINT_SQL).fetchone()]


def warehouse_fingerprint(database: Path) -> list:
    with duckdb.connect(str(database), read_only=True) as connection:
        return fingerprint(connection)


# --------------------------------------------------------------------------- end to end


def read_snapshot(connection: duckdb.DuckDBPyConnection) -> dict:
    """One BI query round: the manifest, every published table's length, the fingerprint."""
    manifest = connection.execute("select build_id, table_name, row_count from _published").fetchall()
    return {
        "build_ids": sorted({build_id for build_id, _, _ in manifest}),
        "manifest_counts": {table: count for _, table, count in manifest},
        "table_counts": {
            table: connection.execute(f'select count(*) from "{table}"').fetchone()[0] for _, table, _ in manifest
        },
        "fingerprint": fingerprint(connection),
    }


def read_loop(serving: Path, stop_file: Path, interval: float) -> None:
    """The reader process: a BI tool that connects for every query round, until told to stop."""
    while not stop_file.exists():
        record: dict = {"at": time.time()}
        try:
            with duckdb.connect(str(serving), read_only=True) as connection:
                record.update(read_snapshot(connection))
        except Exception as problem:  # noqa: BLE001 - any error is what the test looks for
            record["error"] = f"{type(problem).__name__}: {problem}"
        print(json.dumps(record), flush=True)
        time.sleep(interval)


def append_new_visitors(raw: Path, every: int = 10) -> int:
    """Replay every `every`-th anonymous message as a new visitor (new messageId and anonymousId, no userId)."""
    lines = (raw / "events" / "part-00000.jsonl").read_text().splitlines()
    added = []
    for number, line in enumerate(lines[::every]):
        try:
            message = json.loads(line)
        except ValueError:
            continue
        if not isinstance(message, dict) or not message.get("anonymousId"):
            continue
        message.update(messageId=f"serving-test-{number}", anonymousId=f"serving-{message['anonymousId']}", userId=None)
        # a new visitor: nothing may link it to the person it was copied from (device id, email trait)
        if isinstance(message.get("context"), dict):
            message["context"].pop("device", None)
        message.pop("traits", None)
        added.append(json.dumps(message))
    (raw / "events" / "part-00001.jsonl").write_text("\n".join(added) + "\n")
    return len(added)


@pytest.fixture
def served(passed_demo_build: DemoBuild, tmp_path: Path) -> Workspace:
    """A copy of the demo build's raw data and warehouse, in a folder of this test's own."""
    return passed_demo_build.workspace.copy(tmp_path / "space")


def test_readers_see_whole_builds_while_dbt_builds_and_publishes(served: Workspace):
    space = served
    serving = space.root / "serving" / "bi.duckdb"
    first = publish.publish(space.database, serving)
    expected = {first.build_id: warehouse_fingerprint(space.database)}
    assert append_new_visitors(space.raw) > 500

    held_open = duckdb.connect(str(serving), read_only=True)  # a dashboard that keeps its connection
    stop_file, log = space.root / "stop-reader", space.root / "reader.jsonl"
    with log.open("w") as reader_output:
        reader = subprocess.Popen(
            [sys.executable, __file__, str(serving), str(stop_file), "0.05"], stdout=reader_output, stderr=subprocess.STDOUT
        )
    env = space.env()
    env.update(
        SEGMENTS_SERVING_PATH=str(serving),
        DBT_TARGET_PATH=str(space.root / "target"),
        DBT_LOG_PATH=str(space.root / "logs"),
    )
    try:
        while not log.read_text():
            assert reader.poll() is None, log.read_text()
            time.sleep(0.05)
        started = time.time()
        build = subprocess.run(  # without the generic data tests: the readers need a build, not its checks
            [sys.executable, "-m", "customer_segments.cli", "build", "--", *NO_GENERIC_TESTS],
            cwd=REPO_ROOT, env=env, capture_output=True, text=True,
        )
        finished = time.time()
        time.sleep(0.5)
    finally:
        stop_file.touch()
        reader.wait(timeout=60)
    output = build.stdout + build.stderr
    assert build.returncode == 0, output[-5000:]
    assert f"to {serving}." in output, output[-2000:]
    assert "Traceback" not in output

    # the dashboard that kept its connection still reads the old build, whole
    with held_open:
        assert held_open.execute("select distinct build_id from _published").fetchall() == [(first.build_id,)]
        assert fingerprint(held_open) == expected[first.build_id]
    second = publish.current(serving)  # a new connection, now that this process holds none
    assert second is not None and second.build_id != first.build_id
    assert second.build_id == space.scalar("select build_id from build_audit order by built_at desc limit 1")
    expected[second.build_id] = warehouse_fingerprint(space.database)
    assert expected[second.build_id] != expected[first.build_id], "the new events changed nothing"

    records = [json.loads(line) for line in log.read_text().splitlines()]
    errors = [record for record in records if "error" in record]
    snapshots = [record for record in records if "error" not in record]
    during = [s for s in snapshots if started <= s["at"] <= finished]
    print(
        f"\nreader: {len(records)} query rounds ({len(during)} during the {finished - started:.1f} s build "
        f"and publish), {len(errors)} errors"
    )
    assert errors == []
    assert len(during) > 20
    for snapshot in snapshots:
        assert len(snapshot["build_ids"]) == 1, snapshot
        (build_id,) = snapshot["build_ids"]
        assert snapshot["table_counts"] == snapshot["manifest_counts"], build_id
        assert snapshot["fingerprint"] == expected[build_id], build_id
    seen = [snapshot["build_ids"][0] for snapshot in snapshots]
    assert seen[0] == first.build_id and seen[-1] == second.build_id
    switched = seen.index(second.build_id)
    assert set(seen[switched:]) == {second.build_id}, "a new connection saw the old build after the new one"
    assert publish.temp_files(serving) == []


# --------------------------------------------------------------------------- hand-made warehouses


def make_warehouse(path: Path) -> Path:
    """Every published table, empty, with the columns and types docs/serving.md lists (the BI views read them)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    columns = serving_page_columns()
    with duckdb.connect(str(path)) as connection:
        for name in (*publish.CONTRACT_TABLES, *publish.EVIDENCE_TABLES):
            connection.execute(f"create table {name} ({columns[name]})")
    return path


def record_build(path: Path, build_id: str, day: int, *, gate: str = "passed", finished: bool = True, members: int = 3) -> None:
    """What a dbt build leaves: its checks; unless the gate failed, new segment tables; if it finished, an audit row."""
    at = datetime(2026, 11, day)
    with duckdb.connect(str(path)) as connection:
        connection.execute(
            "insert into dq_results by name select ? as build_id, ? as checked_at, 'events_quarantine_rate' as expectation,"
            " ? as success, 'fail' as severity", [build_id, at, gate != "failed"]
        )
        if gate == "failed":
            return  # the gate stops the build: the marts keep their contents
        connection.execute("delete from segment_members")
        connection.execute("delete from segments")
        connection.execute("insert into segment_members by name select 'champions' as segment_id, 'p' || i as entity_id from range(?) as t(i)", [members])
        connection.execute("insert into segments by name select 'champions' as segment_id, ? as member_count", [members])
        if finished:
            connection.execute("insert into build_audit by name select ? as build_id, ? as built_at, ? as as_of, 'v1' as code_version,"
                " 'passed' as dq_gate_outcome", [build_id, at, at])


@pytest.fixture
def warehouse(tmp_path: Path) -> Path:
    path = make_warehouse(tmp_path / "warehouse" / "segments.duckdb")
    record_build(path, "b1", 1)
    return path


def served_build(serving: Path) -> tuple[str, int]:
    with duckdb.connect(str(serving), read_only=True) as connection:
        (build_id,) = {row[0] for row in connection.execute("select build_id from _published").fetchall()}
        return build_id, connection.execute("select count(*) from segment_members").fetchone()[0]


def test_publish_copies_every_table_with_a_manifest_and_no_temporary_file(warehouse: Path, tmp_path: Path):
    serving = tmp_path / "serving" / "serving.duckdb"
    done = publish.publish(warehouse, serving)
    assert done.build_id == "b1" and done.path == serving.resolve()
    with duckdb.connect(str(serving), read_only=True) as connection:
        tables = {row[0] for row in connection.execute("select table_name from duckdb_tables()").fetchall()}
        manifest = connection.execute("select build_id, table_name, row_count from _published").fetchall()
    assert tables == {*publish.CONTRACT_TABLES, *publish.EVIDENCE_TABLES, publish.MANIFEST_TABLE}
    expected_counts = {table: 0 for table in tables - {publish.MANIFEST_TABLE}}
    expected_counts.update(segments=1, segment_members=3, dq_results=1, build_audit=1)
    assert {table: count for _, table, count in manifest} == expected_counts
    assert {build_id for build_id, _, _ in manifest} == {"b1"}
    assert sorted(p.name for p in serving.parent.iterdir()) == ["serving.duckdb"]


def test_the_swap_replaces_the_file_while_open_readers_keep_the_old_one(warehouse: Path, tmp_path: Path):
    serving = tmp_path / "serving.duckdb"
    publish.publish(warehouse, serving)
    before = serving.stat().st_ino
    with duckdb.connect(str(serving), read_only=True) as reading:
        record_build(warehouse, "b2", 2, members=5)
        publish.publish(warehouse, serving)
        assert reading.execute("select distinct build_id from _published").fetchall() == [("b1",)]
        assert reading.execute("select count(*) from segment_members").fetchone() == (3,)
    assert serving.stat().st_ino != before
    assert served_build(serving) == ("b2", 5)
    assert publish.temp_files(serving) == []


@pytest.mark.parametrize(
    "gate,finished,reason",
    [
        ("failed", True, "the data-quality gate failed in the last build (b2: 1 failed checks"),
        ("passed", False, "the last build (b2) passed the data-quality gate but did not finish"),
    ],
)
def test_a_build_that_failed_the_gate_or_did_not_finish_publishes_nothing(
    warehouse: Path, tmp_path: Path, gate: str, finished: bool, reason: str
):
    serving = tmp_path / "serving.duckdb"
    publish.publish(warehouse, serving)
    before = serving.stat()
    record_build(warehouse, "b2", 2, gate=gate, finished=finished, members=5)
    with pytest.raises(publish.PublishError) as refused:
        publish.publish(warehouse, serving)
    assert str(refused.value).startswith(reason)
    after = serving.stat()
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)
    assert served_build(serving) == ("b1", 3)
    assert publish.temp_files(serving) == []


def test_a_later_partial_run_without_the_checks_publishes_its_own_audit_row(warehouse: Path, tmp_path: Path):
    """`dbt run --select ... build_audit` (as the audit tests do) runs no checks but is a finished build."""
    with duckdb.connect(str(warehouse)) as connection:
        connection.execute(
            "insert into build_audit by name select 'b1-rerun' as build_id, timestamp '2026-11-03' as built_at,"
            " timestamp '2026-11-03' as as_of, 'v2' as code_version, 'passed' as dq_gate_outcome"
        )
    assert publish.publish(warehouse, tmp_path / "serving.duckdb").build_id == "b1-rerun"


def test_an_error_while_writing_removes_the_temporary_file_and_keeps_the_old_one(
    warehouse: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    serving = tmp_path / "serving.duckdb"
    publish.publish(warehouse, serving)
    record_build(warehouse, "b2", 2)

    def disk_full(path: Path) -> None:
        assert publish.temp_files(serving), "the new file is written next to the serving file"
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(publish, "_fsync", disk_full)
    with pytest.raises(publish.PublishError, match="No space left on device"):
        publish.publish(warehouse, serving)
    assert publish.temp_files(serving) == []
    assert served_build(serving) == ("b1", 3)


def test_temporary_files_of_a_killed_publish_are_removed_by_the_next(warehouse: Path, tmp_path: Path):
    serving = tmp_path / "serving.duckdb"
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead_pid = int(gone.stdout)
    leftovers = [tmp_path / f".serving.duckdb.{dead_pid}-0badc0de.tmp", tmp_path / f".serving.duckdb.{dead_pid}-0badc0de.tmp.wal"]
    ours = tmp_path / f".serving.duckdb.{os.getppid()}-c0ffee00.tmp"  # a live process: maybe publishing right now
    for path in (*leftovers, ours):
        path.write_text("half a database")
    publish.publish(warehouse, serving)
    assert publish.temp_files(serving) == [ours]


def test_a_warehouse_without_a_finished_build_publishes_nothing(tmp_path: Path):
    empty = tmp_path / "segments.duckdb"
    duckdb.connect(str(empty)).close()
    with pytest.raises(publish.PublishError, match="the warehouse has no person_identifiers, people"):
        publish.publish(empty, tmp_path / "serving.duckdb")
    assert not (tmp_path / "serving.duckdb").exists()


def test_every_mart_is_published_or_deliberately_not():
    marts = {path.stem for path in (REPO_ROOT / "models" / "marts").rglob("*.sql")}
    marts |= {path.stem for path in (REPO_ROOT / "python_models" / "marts").rglob("*.py")}
    published = {*publish.CONTRACT_TABLES, *publish.EVIDENCE_TABLES, *publish.OPTIONAL_TABLES}
    undecided = sorted(
        name for name in marts
        if name not in published and name not in publish.NOT_PUBLISHED and not name.startswith(publish.NOT_PUBLISHED_PREFIXES)
    )
    assert undecided == [], "publish these in customer_segments/publish.py, or say in NOT_PUBLISHED why not"
    assert published.isdisjoint(publish.NOT_PUBLISHED)
    assert sorted(set(publish.NOT_PUBLISHED) - marts) == [], "NOT_PUBLISHED names a model that no longer exists"


# --------------------------------------------------------------------------- the command line


@pytest.fixture
def command_line(warehouse: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """`segments` on the hand-made warehouse, with dbt and the summary stubbed out; returns the serving path."""
    serving = warehouse.with_name("serving.duckdb")
    monkeypatch.setenv("SEGMENTS_DUCKDB_PATH", str(warehouse))
    monkeypatch.delenv("SEGMENTS_SERVING_PATH", raising=False)
    monkeypatch.setattr(cli, "ensure_demo_data", lambda events, seed: None)
    monkeypatch.setattr(cli.build_summary, "render", lambda database: "Build summary")
    # other steps after a build read tables this warehouse does not have
    monkeypatch.setattr(cli, "_write_report_line", lambda out: "Report: not written (stubbed)", raising=False)
    monkeypatch.setattr(cli, "_source_freshness", lambda options: (True, "Sources: not checked (stubbed)"))
    return serving


def test_segments_build_publishes_after_a_good_build(command_line: Path, monkeypatch, capsys):
    monkeypatch.setattr(cli, "run_dbt", lambda args: 0)
    assert cli.serving_path() == command_line
    assert cli.main(["build"]) == 0
    output = capsys.readouterr().out
    assert f"Serving: published build b1 (as_of 2026-11-01 00:00" in output
    assert output.rstrip().endswith(f"to {command_line}.")
    assert served_build(command_line) == ("b1", 3)


def test_segments_build_does_not_publish_a_failed_build(command_line: Path, warehouse: Path, monkeypatch, capsys):
    monkeypatch.setattr(cli, "run_dbt", lambda args: 0)
    cli.main(["build"])
    record_build(warehouse, "b2", 2, members=5)  # even a complete record: dbt's exit code says it failed
    monkeypatch.setattr(cli, "run_dbt", lambda args: 1)
    capsys.readouterr()
    assert cli.main(["build"]) == 1
    output = capsys.readouterr().out
    assert "The dbt build failed" in output
    assert f"Serving: not published (the build failed); BI tools keep reading build b1 " in output
    assert output.rstrip().endswith(f"at {command_line}.")
    assert served_build(command_line) == ("b1", 3)
    assert publish.temp_files(command_line) == []


def test_segments_publish_refuses_a_failed_gate_in_one_line(command_line: Path, warehouse: Path, capsys):
    record_build(warehouse, "b2", 2, gate="failed")
    assert cli.main(["publish"]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith("Serving: not published (the data-quality gate failed in the last build (b2")
    assert captured.err.count("\n") == 1
    assert "there is no serving file yet" in captured.err
    assert not command_line.exists()


def test_serving_path_is_configurable_but_never_the_warehouse(command_line: Path, warehouse: Path, monkeypatch, capsys):
    other = warehouse.parent / "bi" / "marts.duckdb"
    monkeypatch.setenv("SEGMENTS_SERVING_PATH", str(other))
    assert cli.main(["publish"]) == 0
    assert served_build(other) == ("b1", 3)
    monkeypatch.setenv("SEGMENTS_SERVING_PATH", str(warehouse))
    assert cli.main(["publish"]) == 2
    assert "is the warehouse itself" in capsys.readouterr().err



# --------------------------------------------------------------------------- one line, no traceback


HOLDER = "import duckdb, sys, time; connection = duckdb.connect(sys.argv[1], read_only=sys.argv[2] == 'ro'); print('ready', flush=True); time.sleep(600)"


@pytest.fixture(params=["rw", "ro"])
def held_warehouse(warehouse: Path, request: pytest.FixtureRequest):
    """Another process (a BI tool, a database client) with the warehouse open, read-write or read-only."""
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(warehouse), request.param], stdout=subprocess.PIPE, text=True)
    assert holder.stdout is not None and holder.stdout.readline().strip() == "ready"
    yield holder
    holder.kill()
    holder.wait()


def refuse_dbt(args):
    raise AssertionError("dbt must not start while another process holds the warehouse")


def test_segments_build_refuses_in_one_line_while_another_process_holds_the_warehouse(
    command_line: Path, held_warehouse: subprocess.Popen, monkeypatch, capsys
):
    monkeypatch.setattr(cli, "run_dbt", refuse_dbt)
    assert cli.main(["build"]) == 1
    captured = capsys.readouterr()
    assert captured.err.count("\n") == 1 and captured.err.startswith("segments: the warehouse ")
    assert f"(PID {held_warehouse.pid})" in captured.err and "nothing was built" in captured.err
    assert "Traceback" not in captured.out + captured.err


def test_a_second_segments_build_is_refused_in_one_line(command_line: Path, warehouse: Path, monkeypatch, capsys):
    from customer_segments import build_lock

    monkeypatch.setattr(cli, "run_dbt", refuse_dbt)
    with build_lock.build_lock(warehouse):  # the first build, still running
        assert cli.main(["build"]) == 1
    captured = capsys.readouterr()
    assert captured.err == (
        f"segments: another `segments build` (PID {os.getpid()}) is building {warehouse}; "
        "nothing was built: run this one when it has finished\n"
    )
    monkeypatch.setattr(cli, "run_dbt", lambda args: 0)
    assert cli.main(["build"]) == 0, "the lock is released when the first build ends"


def test_dbt_meeting_a_locked_warehouse_prints_no_traceback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
):
    """The race the probe cannot close: another process takes the warehouse after it, before dbt connects."""
    database = tmp_path / "warehouse" / "segments.duckdb"
    database.parent.mkdir()
    duckdb.connect(str(database)).close()
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(database), "rw"], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "ready"
        for name, value in {
            "SEGMENTS_DUCKDB_PATH": str(database), "SEGMENTS_RAW_PATH": str(tmp_path / "raw"),
            "DBT_TARGET_PATH": str(tmp_path / "target"), "DBT_LOG_PATH": str(tmp_path / "logs"),
            "DBT_PROFILES_DIR": str(REPO_ROOT),
        }.items():
            monkeypatch.setenv(name, value)
        with pytest.raises(cli.BuildFailed) as refused:
            cli.run_dbt(["build"])
    finally:
        holder.kill()
        holder.wait()
    shown = capsys.readouterr().out
    assert "Could not set lock on file" in shown  # dbt's own message stays
    assert "Traceback" not in shown and "File \"" not in shown, shown
    assert str(refused.value).startswith(f"the warehouse {database} is open in another process, python")
    assert f"(PID {holder.pid})" in str(refused.value)


def test_a_serving_folder_that_cannot_be_created_stops_before_the_build(
    command_line: Path, tmp_path: Path, monkeypatch, capsys
):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("SEGMENTS_SERVING_PATH", str(blocker / "serving" / "serving.duckdb"))
    monkeypatch.setattr(cli, "run_dbt", refuse_dbt)
    assert cli.main(["build"]) == 2
    captured = capsys.readouterr()
    assert captured.err.startswith(f"segments: cannot create the folder {blocker / 'serving'}")
    assert "SEGMENTS_SERVING_PATH" in captured.err and captured.err.count("\n") == 1
    assert cli.main(["publish"]) == 2


def test_publish_to_a_folder_that_cannot_be_created_is_a_publish_error(warehouse: Path, tmp_path: Path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    with pytest.raises(publish.PublishError, match="cannot create or write the folder"):
        publish.publish(warehouse, blocker / "serving.duckdb")


def test_a_publish_that_fails_after_a_good_build_says_so_in_one_line(command_line: Path, monkeypatch, capsys):
    monkeypatch.setattr(cli, "run_dbt", lambda args: 0)

    def disk_full(path: Path) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(publish, "_fsync", disk_full)
    assert cli.main(["build"]) == 1
    captured = capsys.readouterr()
    assert "Serving: not published (cannot write " in captured.out and "No space left on device" in captured.out
    assert "Traceback" not in captured.out + captured.err

if __name__ == "__main__":  # the reader process of the end-to-end test
    read_loop(Path(sys.argv[1]), Path(sys.argv[2]), float(sys.argv[3]))


# --------------------------------------------------------------------------- a reader that keeps its connection


def test_a_held_connection_goes_stale_and_the_serving_reader_follows_the_publish(warehouse: Path, tmp_path: Path):
    """docs/serving.md's advice, tested: a kept connection reads the old build after a publish, with no error;
    serving_reader.ServingReader polls `_published.build_id` and reconnects, so its next query reads the new one."""
    serving = tmp_path / "serving.duckdb"
    publish.publish(warehouse, serving)
    members = "select count(*) from segment_members"
    with serving_reader.ServingReader(serving) as reader:
        assert reader.query(members) == [(3,)] and reader.build_id == "b1"
        held = duckdb.connect(str(serving), read_only=True)  # a pooled BI connection
        record_build(warehouse, "b2", 2, members=5)
        publish.publish(warehouse, serving)

        assert held.execute(members).fetchone() == (3,), "a held connection should still read the old build"
        assert serving_reader.published_build_id(serving) == "b2"
        held.close()
        assert reader.query(members) == [(5,)]
        assert (reader.build_id, reader.reconnects) == ("b2", 1)
        assert reader.query(members) == [(5,)] and reader.reconnects == 1, "no reconnect while the build stays"


def test_the_serving_reader_checks_at_most_every_check_every_seconds(warehouse: Path, tmp_path: Path):
    serving = tmp_path / "serving.duckdb"
    publish.publish(warehouse, serving)
    with serving_reader.ServingReader(serving, check_every=3600) as reader:
        reader.query("select 1")
        record_build(warehouse, "b2", 2, members=5)
        publish.publish(warehouse, serving)
        assert reader.query("select count(*) from segment_members") == [(3,)]  # not checked yet
        reader.reconnect()
        assert reader.query("select count(*) from segment_members") == [(5,)]
    assert serving_reader.published_build_id(tmp_path / "missing.duckdb") is None


def test_has_table_asks_the_right_database_and_schema(tmp_path: Path):
    from customer_segments.publish import has_table

    warehouse = tmp_path / "segments.duckdb"
    with duckdb.connect(str(warehouse)) as connection:
        connection.execute("create table people (person_id varchar)")
        connection.execute("create view people_view as select * from people")
        connection.execute("create schema analytics")
        connection.execute("create table analytics.segments (segment_id varchar)")
        assert has_table(connection, "people")
        assert not has_table(connection, "people_view"), "a view is not a table"
        assert not has_table(connection, "segments"), "main only, unless told otherwise"
        assert has_table(connection, "segments", schema="analytics") and has_table(connection, "segments", schema=None)
    with duckdb.connect() as connection:
        connection.execute(f"attach '{warehouse}' as warehouse (read_only)")
        assert not has_table(connection, "people"), "the current database is the in-memory one"
        assert has_table(connection, "people", "warehouse") and not has_table(connection, "missing", "warehouse")
