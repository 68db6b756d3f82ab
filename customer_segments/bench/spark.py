"""bin/bench --engine spark: the same generated data built on DuckDB and on local Spark, side by side.

    bin/bench --engine spark [--events N] [--seed S] [--no-duckdb] [--workdir DIR] [--keep] [--json PATH]

1. Generate N events (default 1M) of demo data (every fault, erasure requests).
2. `dbt build` as `segments build` runs a first build (no dbt unit tests; the full suite of data tests)
   on DuckDB, then on Spark (the `spark` target of profiles.yml: dbt-spark's session method, local[*]),
   each in its own process, from the same raw folder with the same vars: a fixed as_of, and the purchase
   predictions off on both (a dbt Python model, which Spark cannot run: test_pipeline_spark.py does the same).
3. Print for each engine the wall time, the peak memory of the whole process tree (Spark: the Python driver
   and its JVM; bench.measure samples it), the five slowest models and the time of the erasure purge (the
   on-run-end hook; both from dbt's run_results.json); then whether
   the two agree on the tables test_pipeline_spark.py compares (same key columns; scores within 1e-9).
The machine's load (os.getloadavg) before and after is printed beside the numbers: on a shared machine
they move with it.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from customer_segments.bench.identity import REPO_ROOT, BenchError, Measured, Workspace, generate_in_child, measure
from customer_segments.bench.pipeline import DEFAULT_EVENTS, FIRST_BUILD, add_workdir_arguments, run_in_workdir
from customer_segments.dbt_runner import dbt_command, dbt_env

SLOWEST = 5
SPARK_SCHEMA = "customer_segments_bench"
#: local[*] on this machine; a cluster sets these in its own profile (docs/spark.md, On a cluster)
SPARK_SUBMIT_ARGS = ("--driver-memory 6g --conf spark.sql.shuffle.partitions=8 --conf spark.ui.enabled=false "
                     "--conf spark.sql.adaptive.enabled=true pyspark-shell")
#: the tables test_pipeline_spark.py compares, with the columns that must agree exactly
COMPARED = {
    "people": ["person_id", "account_id", "account_link_method", "email", "first_seen_at", "last_seen_at", "lifecycle_stage",
               "consent_analytics", "consent_marketing", "consent_personalization"],
    "int_identity_person_ids": ["identifier_type", "identifier_value", "person_id"],
    "person_identifiers": ["person_id", "identifier_type", "identifier_value", "first_seen_at", "last_seen_at"],
    "segments": ["segment_id", "status", "member_count", "holdout_count", "entity_type", "priority", "goal", "definition_hash"],
    "segment_members": ["segment_id", "entity_type", "entity_id", "is_holdout", "priority", "is_primary"],
    "person_scores": ["person_id", "recency_days", "frequency", "monetary", "r_score", "f_score", "m_score", "rfm_segment",
                      "is_activated", "first_activation_at", "p_alive"],
    "quarantined_rows": ["source", "reason", "source_file", "line_number"],
    "int_source_rows_accounted": ["source", "raw_rows", "usable_rows", "duplicate_rows", "quarantined_rows", "files_read"],
    "dq_results": ["expectation", "severity", "success", "threshold"],
    "erasure_log": ["identifier_type", "identifier_hash"],
}
#: compared within 1e-9, not exactly (sums of floats in another order)
FLOATS = {"person_scores": ["person_id", "engagement_score", "intent_score"]}


def _progress(message: str) -> None:
    print(f"[bench-spark] {message}", file=sys.stderr, flush=True)


@dataclass
class SparkWorkspace(Workspace):
    """A Workspace whose dbt runs on the spark target: warehouse, Derby metastore and working folder under root."""

    submit_args: str = SPARK_SUBMIT_ARGS

    def env(self) -> dict[str, str]:
        return dbt_env(
            SEGMENTS_RAW_PATH=str(self.raw),
            SEGMENTS_TARGET="spark",
            SEGMENTS_SPARK_SCHEMA=SPARK_SCHEMA,
            SEGMENTS_SPARK_WAREHOUSE=str(self.root / "spark-warehouse"),
            SEGMENTS_SPARK_METASTORE=str(self.root / "spark-metastore"),
            DBT_PROFILES_DIR=str(REPO_ROOT),
            PYSPARK_SUBMIT_ARGS=self.submit_args,
            PYTHONPATH=os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")])),
        )

    def dbt(self, *args: str, progress=None) -> Measured:
        log = self.logs / "dbt-output.txt"
        env = self.env()
        # env: its SEGMENTS_TARGET (spark) starts dbt through the Python models' session method, as `segments build` does
        command = dbt_command(*args, "--project-dir", str(REPO_ROOT), "--target-path", str(self.target),
                              "--log-path", str(self.logs), env=env)
        # cwd: whatever Spark writes to its working folder stays in the workspace
        done = measure(command, env=env, log=log, progress=progress, cwd=self.root)
        if done.returncode != 0:
            tail = "\n".join(log.read_text(errors="replace").splitlines()[-25:])
            raise BenchError(f"dbt {' '.join(args)} failed on Spark (exit {done.returncode}); end of {log}:\n{tail}")
        return done


def slowest_models(space: Workspace, count: int = SLOWEST) -> list[list]:
    """The `count` slowest models of the last dbt invocation in `space`: [name, seconds], slowest first."""
    timed = [[result["unique_id"].split(".")[-1], round(result["execution_time"], 1)]
             for result in space.node_results() if result["unique_id"].startswith("model.")]
    return sorted(timed, key=lambda row: -row[1])[:count]


def purge_seconds(space: Workspace) -> float | None:
    """How long the on-run-end hooks of the last dbt invocation in `space` took (the erasure purge,
    dbt_project.yml), from run_results.json; None when none ran."""
    timed = [result["execution_time"] for result in space.node_results()
             if result["unique_id"].startswith("operation.") and "-on-run-end-" in result["unique_id"]]
    return round(sum(timed), 1) if timed else None


def _plain(value):
    """A cell as both engines give it: timestamps as ISO text, decimals as floats."""
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if type(value).__name__ == "Decimal":
        return float(value)
    return value


def columns_wanted() -> dict[str, list[str]]:
    wanted = {table: list(columns) for table, columns in COMPARED.items()}
    for table, columns in FLOATS.items():
        wanted[table] = list(dict.fromkeys(wanted.get(table, []) + columns))
    return wanted


def duckdb_tables(space: Workspace) -> dict[str, list[list]]:
    import duckdb

    with duckdb.connect(str(space.database), read_only=True) as con:
        return {table: [[_plain(cell) for cell in row] for row in con.sql(f"select {', '.join(columns)} from {table}").fetchall()]
                for table, columns in columns_wanted().items()}


def dump_spark_tables(target: Path, out: Path) -> None:
    """(Helper process, spark env) the compared columns of every compared table as JSON."""
    from pyspark.sql import SparkSession

    warehouse = os.environ["SEGMENTS_SPARK_WAREHOUSE"]
    metastore = os.environ["SEGMENTS_SPARK_METASTORE"]
    spark = (SparkSession.builder.enableHiveSupport()
             .config("spark.sql.warehouse.dir", warehouse)
             .config("spark.driver.extraJavaOptions", f"-Dderby.system.home={metastore}")
             .config("spark.sql.session.timeZone", "UTC").getOrCreate())
    nodes = json.loads((target / "manifest.json").read_text())["nodes"]
    tables = {}
    for table, columns in columns_wanted().items():
        node = nodes[f"model.customer_segments.{table}"]
        frame = spark.sql(f"select {', '.join(columns)} from {node['schema']}.{node['alias']}")
        tables[table] = [[_plain(cell) for cell in row] for row in frame.collect()]
    out.write_text(json.dumps(tables))


def compare(duck: dict[str, list[list]], spark: dict[str, list[list]]) -> dict[str, str]:
    """Per table: 'agree (N rows)' or how they differ. Suggested segments are compared too: Spark builds them."""
    verdicts = {}
    for table, columns in COMPARED.items():
        picked = [columns_wanted()[table].index(name) for name in columns]
        d = Counter(tuple(row[i] for i in picked) for row in duck[table])
        s = Counter(tuple(row[i] for i in picked) for row in spark[table])
        verdicts[table] = (f"agree ({sum(d.values()):,} rows)" if d == s else
                           f"DIFFER: {sum((d - s).values()):,} rows only on DuckDB, {sum((s - d).values()):,} only on Spark "
                           f"(e.g. {list((d - s))[:2]} / {list((s - d))[:2]})")
    for table, columns in FLOATS.items():
        picked = [columns_wanted()[table].index(name) for name in columns]
        d = {row[picked[0]]: [row[i] for i in picked[1:]] for row in duck[table]}
        s = {row[picked[0]]: [row[i] for i in picked[1:]] for row in spark[table]}
        off = [key for key in d if key not in s or any(
            (a is None) != (b is None) or (a is not None and abs(a - b) > 1e-9) for a, b in zip(d[key], s[key]))]
        verdicts[f"{table} ({', '.join(columns[1:])})"] = (f"agree within 1e-9 ({len(d):,} rows)" if not off and d.keys() == s.keys()
                                                            else f"DIFFER for {len(off):,} of {len(d):,}")
    return verdicts


def run(events: int, seed: int, workdir: Path, with_duckdb: bool = True, submit_args: str = SPARK_SUBMIT_ARGS) -> dict:
    data = Workspace(workdir / "data")
    _progress(f"generating {events:,} events into {data.raw}")
    manifest = generate_in_child(data, "--events", str(events), "--seed", str(seed), "--quiet")
    end = str(manifest.get("end_date") or manifest.get("end") or "2026-10-31")[:10]
    build_vars = json.dumps({"as_of": f"{end} 23:59:59", "predictions_min_customers": 1_000_000})
    raw_lines = sum(1 for path in (data.raw / "events").rglob("*.jsonl") for _ in path.open("rb"))
    command = [*FIRST_BUILD, "--vars", build_vars]
    result: dict = {"events": events, "raw_event_lines": raw_lines, "command": "dbt " + " ".join(command),
                    "load_before": os.getloadavg(), "cpus": os.cpu_count(), "engines": {}}

    duck = Workspace(workdir / "duckdb")
    if with_duckdb:
        shutil.rmtree(duck.raw)
        duck.raw.symlink_to(data.raw, target_is_directory=True)
        _progress("dbt build on DuckDB")
        measured = duck.dbt(*command, progress=lambda step: _progress(f"DuckDB: {step}"))
        result["engines"]["duckdb"] = _engine_result(measured, duck)

    spark = SparkWorkspace(workdir / "spark", submit_args=submit_args)
    shutil.rmtree(spark.raw)
    spark.raw.symlink_to(data.raw, target_is_directory=True)
    _progress("dbt build on Spark (local[*])")
    measured = spark.dbt(*command, progress=lambda step: _progress(f"Spark: {step}"))
    result["engines"]["spark"] = _engine_result(measured, spark)
    result["load_after"] = os.getloadavg()

    if with_duckdb:
        _progress("comparing the tables test_pipeline_spark.py compares")
        out = spark.root / "compared.json"
        dumped = subprocess.run([sys.executable, "-m", "customer_segments.bench.spark", "--dump", str(spark.target), str(out)],
                                cwd=spark.root, env=spark.env(), stdin=subprocess.DEVNULL, capture_output=True, text=True)
        if dumped.returncode != 0:
            raise BenchError(f"reading Spark's tables failed:\n{dumped.stderr[-3000:]}")
        result["agreement"] = compare(duckdb_tables(duck), json.loads(out.read_text()))
    return result


def _engine_result(measured: Measured, space: Workspace) -> dict:
    return {"wall_seconds": measured.wall_seconds, "cpu_seconds": measured.cpu_seconds,
            "peak_tree_rss_bytes": measured.peak_tree_rss_bytes, "peak_rss_bytes": measured.peak_rss_bytes,
            "slowest_models": slowest_models(space), "purge_seconds": purge_seconds(space)}


def render(result: dict) -> str:
    gib = 1024**3
    out = [f"Spark benchmark: {result['events']:,} events ({result['raw_event_lines']:,} raw lines), one run each, "
           f"{result['cpus']} cores, load {', '.join(f'{x:.1f}' for x in result['load_before'])} before, "
           f"{', '.join(f'{x:.1f}' for x in result['load_after'])} after",
           f"  {result['command']}",
           f"{'engine':<10}{'wall s':>9}{'peak GiB':>10}  (peak: the process tree, JVM included)"]
    for engine, figures in result["engines"].items():
        out.append(f"{engine:<10}{figures['wall_seconds']:>9.1f}{figures['peak_tree_rss_bytes'] / gib:>10.2f}")
    for engine, figures in result["engines"].items():
        if figures.get("purge_seconds") is not None:
            out.append(f"erasure purge (on-run-end) on {engine}: {figures['purge_seconds']:.1f} s")
    for engine, figures in result["engines"].items():
        out.append(f"five slowest models on {engine} (s):")
        out.extend(f"  {seconds:>8.1f}  {name}" for name, seconds in figures["slowest_models"])
    if "agreement" in result:
        out.append("DuckDB and Spark:")
        out.extend(f"  {table:<48}{verdict}" for table, verdict in result["agreement"].items())
    return "\n".join(out)


def agreed(result: dict) -> bool:
    return all(verdict.startswith("agree") for verdict in result.get("agreement", {}).values())


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["--dump"]:
        dump_spark_tables(Path(argv[1]), Path(argv[2]))
        return 0
    parser = argparse.ArgumentParser(prog="bin/bench --engine spark", description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=DEFAULT_EVENTS, help="events to generate (default 1000000)")
    parser.add_argument("--seed", type=int, default=42, help="random seed (default 42)")
    parser.add_argument("--no-duckdb", action="store_true", help="build on Spark only (no DuckDB figures, no comparison)")
    parser.add_argument("--spark-submit-args", default=SPARK_SUBMIT_ARGS, help=f"PYSPARK_SUBMIT_ARGS (default: {SPARK_SUBMIT_ARGS})")
    add_workdir_arguments(parser)
    options = parser.parse_args(argv)
    if options.events < 1_000:
        print("bench: --events must be at least 1000", file=sys.stderr)
        return 2
    results: list[dict] = []

    def bench(workdir: Path) -> dict:
        results.append(run(options.events, options.seed, workdir, not options.no_duckdb, options.spark_submit_args))
        return results[-1]

    code = run_in_workdir(options, "bench-spark-", bench, render)
    if code == 0 and not agreed(results[-1]):
        print("bench: DuckDB and Spark do not agree (above)", file=sys.stderr)
        return 1
    return code


if __name__ == "__main__":
    sys.exit(main())
