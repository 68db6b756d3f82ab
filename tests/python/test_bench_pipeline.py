"""The pipeline benchmark's pieces, fast: the reference pass reads every event line once and counts users,
the increment adds about 1% as new files without touching the existing ones, and the verdicts follow the
targets. (The full benchmark runs by hand: bin/bench; its figures are in docs/benchmarks.md.)"""

from __future__ import annotations

import json
import os

import pytest

from customer_segments.bench import pipeline, reference_pass
from customer_segments.bench.identity import Workspace


def test_reference_pass_reads_every_parsable_line(tmp_path, capsys):
    events = tmp_path / "events"
    events.mkdir()
    lines = [json.dumps({"userId": f"u{i % 3}", "type": "track"}) for i in range(7)]
    lines += [json.dumps({"anonymousId": "a1", "type": "page"}), "not json at all"]
    (events / "part-0.jsonl").write_text("\n".join(lines) + "\n")
    assert reference_pass.main([str(events)]) == 0
    assert "4 users, 8 events read" in capsys.readouterr().out


def test_increment_adds_new_files_of_about_one_percent(tmp_path):
    from customer_segments.generate import generate

    space = Workspace(tmp_path / "space")
    generate(space.raw, space.truth, events=10_000, seed=3, progress=False, end_date="2026-10-31")
    before = {path.name: path.stat().st_mtime_ns for path in (space.raw / "events").iterdir()}
    added = pipeline.append_increment(space, 2_000, 4, "2026-10-31")
    after = {path.name for path in (space.raw / "events").iterdir()}
    assert set(before) < after
    assert all((space.raw / "events" / name).stat().st_mtime_ns == mtime for name, mtime in before.items())
    assert 1_000 <= added <= 4_000  # the generator's event count is approximate (a minimum of people)


def bench_result(full_over_reference: float, incremental_over_full: float, peak_rss_bytes: int) -> dict:
    """A benchmark result as pipeline.run returns it, with the three figures the targets judge."""
    return {
        "events": 1000, "raw_event_lines": 1000, "increment_lines": 10, "runs": 1,
        "reference": {"wall_seconds": 2.0, "peak_rss_bytes": 10**8},
        "full": {"wall_seconds": 10.0, "peak_rss_bytes": peak_rss_bytes},
        "incremental": {"wall_seconds": 3.0, "peak_rss_bytes": 1024**3},
        "full_over_reference": full_over_reference, "incremental_over_full": incremental_over_full,
        "peak_rss_bytes": peak_rss_bytes,
        "slowest": {"full": [["model people", 4.0], ["test unique_people_person_id", 0.5]], "incremental": []},
    }


GIB = 1024**3


@pytest.mark.parametrize(
    "full, incremental, peak, verdicts",
    [
        pytest.param(5.0, 0.3, 2 * GIB, [
            "full / reference        = 5.00x (target <= 15x at 10M events: met; stretch 6x: met)",
            "incremental / full      = 0.30 (target <= 0.1: NOT met)",
            "peak memory             = 2.00 GiB (target < 6 GB: met)",
        ], id="mixed"),
        pytest.param(20.0, 0.05, 7 * GIB, [
            "full / reference        = 20.00x (target <= 15x at 10M events: NOT met; stretch 6x: NOT met)",
            "incremental / full      = 0.05 (target <= 0.1: met)",
            "peak memory             = 7.00 GiB (target < 6 GB: NOT met)",
        ], id="the-other-way"),
        pytest.param(15.0, 0.1, 6 * GIB, [
            "full / reference        = 15.00x (target <= 15x at 10M events: met; stretch 6x: NOT met)",
            "incremental / full      = 0.10 (target <= 0.1: met)",
            "peak memory             = 6.00 GiB (target < 6 GB: NOT met)",
        ], id="at-the-targets"),
    ],
)
def test_render_reports_each_target_verdict(full, incremental, peak, verdicts):
    """Each target's line, whole: a wrong verdict on any one of them (or a line another's "met)" hides) fails."""
    lines = pipeline.render(bench_result(full, incremental, peak)).splitlines()
    assert lines[-3:] == verdicts


def test_render_lists_the_slowest_nodes():
    lines = pipeline.render(bench_result(5.0, 0.3, 2 * GIB)).splitlines()
    at = lines.index("slowest nodes of the full build (s; two run at a time):")
    assert lines[at + 1:at + 3] == ["       4.0  model people", "       0.5  test unique_people_person_id"]


def test_dbt_progress_reads_the_last_node_of_the_current_run(tmp_path):
    from customer_segments.bench.identity import dbt_progress

    log = tmp_path / "dbt-output.txt"
    log.write_text("17:00:01  3 of 9 OK created sql table model main.old_run ... [OK in 0.1s]\n")
    offset = log.stat().st_size
    assert dbt_progress(log, offset) is None  # the new run has not started a node yet
    with log.open("a") as handle:
        handle.write("17:01:02  Found 421 models, 12 seeds\n"
                     "17:01:05  1 of 423 START sql view model main.stg_a ........ [RUN]\n"
                     "17:01:06  1 of 423 OK created sql view model main.stg_a ... [OK in 0.2s]\n"
                     "17:01:07  27 of 423 PASS not_null_people_person_id ........ [PASS in 0.1s]\n"
                     "17:01:07  Concurrency: 2 threads\n")
    assert dbt_progress(log, offset) == "node 27 of 423"


def workspace_with_results(tmp_path, results: list[dict]) -> Workspace:
    """A workspace whose last dbt invocation wrote these node results (target/run_results.json)."""
    space = Workspace(tmp_path / "space")
    space.target.mkdir(parents=True, exist_ok=True)
    write_results(space, results)
    return space


def write_results(space: Workspace, results: list[dict]) -> None:
    (space.target / "run_results.json").write_text(json.dumps({"results": results}))


def test_slowest_nodes_names_each_node_once_slowest_first(tmp_path):
    results = [
        {"unique_id": "model.customer_segments.people", "execution_time": 1.5},
        {"unique_id": "test.customer_segments.unique_people_person_id.5a1b2c3d4e", "execution_time": 3.0},
        {"unique_id": "unit_test.customer_segments.people.people_keeps_one_row", "execution_time": 0.2},
    ]
    space = workspace_with_results(tmp_path, results)
    assert pipeline.slowest_nodes(space, count=2) == [["test unique_people_person_id", 3.0], ["model people", 1.5]]


def test_node_seconds_keeps_two_tests_whose_names_meet_apart(tmp_path):
    # dbt shortens a long generic test's name and ends its id with a hash: two such tests can share the shortened name
    results = [
        {"unique_id": "test.customer_segments.accepted_values_stg_a_long_name.1111111111", "execution_time": 0.5},
        {"unique_id": "test.customer_segments.accepted_values_stg_a_long_name.2222222222", "execution_time": 0.25},
        {"unique_id": "test.customer_segments.assert_people_have_ids", "execution_time": 0.125},
    ]
    space = workspace_with_results(tmp_path, results)
    assert pipeline.node_seconds(space) == {
        "test accepted_values_stg_a_long_name": 0.5,
        "test accepted_values_stg_a_long_name.2222222222": 0.25,
        "test assert_people_have_ids": 0.12,
    }


def test_the_benchmark_times_the_builds_segments_build_runs():
    assert pipeline.FIRST_BUILD == ["build", "--exclude-resource-type", "unit_test"]
    assert pipeline.SCHEDULED_BUILD == [*pipeline.FIRST_BUILD, "--exclude", "config.meta.test_tier:full_suite"]


# ------------------------------------------------------------------ bin/bench --engine spark

def test_process_tree_memory_counts_a_child_the_command_never_waits_for():
    """Spark's JVM is a child of the Python driver: the tree's memory must include it (ru_maxrss does not)."""
    import subprocess
    import sys
    import time

    from customer_segments.bench.measure import tree_rss_bytes

    alone = tree_rss_bytes(os.getpid())
    script = "import subprocess, sys, time; c = subprocess.Popen([sys.executable, '-c', 'x = bytearray(300 * 2**20); import time; time.sleep(30)']); time.sleep(30)"
    parent = subprocess.Popen([sys.executable, "-c", script])
    try:
        deadline, seen = time.monotonic() + 20, 0
        while time.monotonic() < deadline and seen < 300 * 2**20:
            seen = tree_rss_bytes(parent.pid)  # the parent holds little; its child 300 MiB
            time.sleep(0.2)
        assert seen >= 300 * 2**20
        assert tree_rss_bytes(os.getpid()) >= alone + 300 * 2**20  # this process's tree now holds both
    finally:
        for child in subprocess.run(["pgrep", "-P", str(parent.pid)], capture_output=True, text=True).stdout.split():
            os.kill(int(child), 9)
        parent.kill()
        parent.wait()


def test_spark_bench_times_the_purge_from_the_on_run_end_hook(tmp_path):
    from customer_segments.bench import spark

    results = [
        {"unique_id": "operation.customer_segments.customer_segments-on-run-start-0", "execution_time": 0.5},
        {"unique_id": "model.customer_segments.people", "execution_time": 9.0},
        {"unique_id": "operation.customer_segments.customer_segments-on-run-end-0", "execution_time": 61.25},
    ]
    space = workspace_with_results(tmp_path, results)
    assert spark.purge_seconds(space) == 61.2
    write_results(space, results[:2])
    assert spark.purge_seconds(space) is None


def test_spark_bench_starts_dbt_through_the_python_models_session_method(tmp_path, monkeypatch):
    # plain dbt stops on Spark before the dbt Python models (hook require_spark_python_session): the bench's
    # Spark build must start dbt as `segments build` does, whatever SEGMENTS_TARGET this process has
    import sys

    from customer_segments.bench import spark
    from customer_segments.bench.identity import Measured
    from customer_segments.dbt_runner import SPARK_DBT_MODULE

    monkeypatch.delenv("SEGMENTS_TARGET", raising=False)
    ran = []
    monkeypatch.setattr(spark, "measure", lambda command, env, **kwargs: ran.append((command, env)) or Measured(0, 1.0, 1.0, 1, 1))
    spark.SparkWorkspace(tmp_path / "space").dbt("build")
    command, env = ran[0]
    assert command[:3] == [sys.executable, "-m", SPARK_DBT_MODULE] and command[3] == "build"
    assert env["SEGMENTS_TARGET"] == "spark"


def test_spark_comparison_names_the_tables_that_differ():
    from customer_segments.bench import spark

    wanted = spark.columns_wanted()
    duck = {table: [[f"{table}-{column}-{n}" for column in columns] for n in range(3)] for table, columns in wanted.items()}
    duck["person_scores"] = [[f"p{n}" if column == "person_id" else 0.5 for column in wanted["person_scores"]] for n in range(3)]
    same = spark.compare(duck, json.loads(json.dumps(duck)))
    assert all(verdict.startswith("agree") for verdict in same.values()) and len(same) == len(spark.COMPARED) + 1
    # suggested segments (k-means, a dbt Python model) are built on Spark too: one only DuckDB has is a difference,
    # the same one on both engines agrees
    status = wanted["segments"].index("status")
    suggested = [("suggested" if i == status else "x") for i in range(len(wanted["segments"]))]
    with_suggested = dict(duck, segments=duck["segments"] + [suggested])
    assert spark.compare(with_suggested, duck)["segments"].startswith("DIFFER: 1 rows only on DuckDB")
    assert spark.compare(with_suggested, json.loads(json.dumps(with_suggested)))["segments"].startswith("agree")
    # one quarantined line numbered differently, one score off by more than 1e-9
    moved = json.loads(json.dumps(duck))
    moved["quarantined_rows"][0][wanted["quarantined_rows"].index("line_number")] = 7
    moved["person_scores"][1][wanted["person_scores"].index("engagement_score")] = 0.5 + 1e-6
    verdicts = spark.compare(duck, moved)
    assert verdicts["quarantined_rows"].startswith("DIFFER: 1 rows only on DuckDB, 1 only on Spark")
    assert verdicts["person_scores (engagement_score, intent_score)"] == "DIFFER for 1 of 3"
    assert [table for table, verdict in verdicts.items() if not verdict.startswith("agree")] == [
        "quarantined_rows", "person_scores (engagement_score, intent_score)"]
    assert not spark.agreed({"agreement": verdicts}) and spark.agreed({"agreement": same})


@pytest.mark.parametrize("argv, chosen", [
    (["--engine", "spark", "--events", "5000"], ("spark", ["--events", "5000"])),
    (["--events", "5000", "--engine=spark"], ("spark", ["--events", "5000"])),
    (["--engine", "duckdb", "--events", "5000"], ("pipeline", ["--events", "5000"])),
    (["--events", "5000"], ("pipeline", ["--events", "5000"])),
])
def test_bench_engine_option_picks_the_benchmark(monkeypatch, argv, chosen):
    from customer_segments.bench import __main__ as bench_main

    calls = []
    monkeypatch.setattr(bench_main.spark, "main", lambda rest: calls.append(("spark", rest)) or 0)
    monkeypatch.setattr(bench_main.pipeline, "main", lambda rest: calls.append(("pipeline", rest)) or 0)
    assert bench_main.main(argv) == 0
    assert calls == [chosen]
    assert bench_main.main(["--engine", "presto"]) == 2
