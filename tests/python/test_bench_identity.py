"""Smoke test of the identity benchmark (customer_segments.bench.identity) on a tiny graph.

Checks the run is well formed, never how fast it is: times are machine-dependent,
and the real benchmark reports a ratio, not a verdict.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import duckdb

from customer_segments.bench.identity import GRAPH_MODELS

REPO_ROOT = Path(__file__).resolve().parents[2]


def test_benchmark_runs_end_to_end_on_a_tiny_graph(tmp_path: Path):
    workdir, report = tmp_path / "bench", tmp_path / "bench.json"
    done = subprocess.run(
        [sys.executable, "-m", "customer_segments.bench.identity", "--people", "300", "--events", "3000", "--runs", "2",
         "--workdir", str(workdir), "--keep", "--json", str(report)],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=300,
    )
    assert done.returncode == 0, done.stderr[-5000:]
    assert "ratio  graph models / reference:" in done.stdout
    assert "[bench-identity] run 2/2" in done.stderr

    result = json.loads(report.read_text())
    sql, reference, ratio = result["sql"], result["reference"], result["ratio"]
    with duckdb.connect(str(workdir / "warehouse" / "segments.duckdb"), read_only=True) as connection:
        edges = connection.execute("select count(*) from int_identity_edges").fetchone()[0]
    assert edges > 0
    assert sql["edges"] == reference["edges"] == edges
    assert sql["nodes_in_edges"] == reference["nodes"] > 0
    assert sql["people"] > 0 and reference["people"] > 0
    assert len(sql["runs"]) == len(reference["runs"]) == 2
    assert set(sql["per_model_seconds"]) == set(GRAPH_MODELS)
    for seconds in (sql["model_seconds"], sql["wall_seconds"], sql["cpu_seconds"], reference["seconds"],
                    reference["process_wall_seconds"], reference["process_cpu_seconds"]):
        assert seconds > 0
    assert sql["wall_seconds"] > sql["model_seconds"]
    assert sql["peak_rss_bytes"] > 0 and reference["peak_rss_bytes"] > 0
    assert ratio["models_to_reference"] == sql["model_seconds"] / reference["seconds"] > 0
    assert ratio["dbt_wall_to_reference"] == sql["wall_seconds"] / reference["seconds"]
    # the SQL graph only cuts links, never adds one: every SQL person lies inside one reference component
    assert result["sanity"]["sql_people_within_reference_components"]


def test_benchmark_refuses_a_workdir_with_files_in_it(tmp_path: Path):
    (tmp_path / "precious.txt").write_text("keep me")
    done = subprocess.run(
        [sys.executable, "-m", "customer_segments.bench.identity", "--people", "300", "--runs", "1", "--workdir", str(tmp_path)],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=60,
    )
    assert done.returncode == 2
    assert "must be an empty or new folder" in done.stderr and "Traceback" not in done.stderr
    assert (tmp_path / "precious.txt").read_text() == "keep me"
