"""Benchmark the identity graph against scipy's connected components on the same edges.

    python -m customer_segments.bench.identity [--people N] [--events N] [--seed S] [--runs R]
                                               [--workdir DIR] [--keep] [--json PATH]

1. Generate demo data (many people, few events each: edges grow with people).
2. Build staging and the identity graph once with dbt (warm-up, untimed), so
   int_identity_sightings exists and int_identity_person_ids has a previous
   state, as in any build after the first.
3. Write the edges once more with their ends as strings (untimed, table
   reference.EDGE_TABLE: int_identity_edges keeps node ids only), the input the
   reference starts from.
4. R times each, interleaved: (a) `dbt run` of exactly the graph models
   (GRAPH_MODELS): the sum of their execution times from run_results.json, the
   wall time and peak RSS of the dbt process; (b) the reference in a fresh
   Python process (customer_segments.bench.reference): read the same edges from
   the same DuckDB file, factorize, scipy connected_components.
5. Print medians and their ratios, and a sanity check of the two partitions.

The target is a ratio: the graph models within TARGET_RATIO times the
reference, both measured in this run. Absolute times never pass or fail
anything. The SQL graph is not plain connected components (junk and shared
identifiers link nobody, two user ids are never merged), so the people counts
differ by design; the check is that every SQL person lies inside one reference
component.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from customer_segments.bench.reference import EDGE_TABLE
from customer_segments.dbt_runner import PROJECT_DIR, dbt_command, dbt_env

REPO_ROOT = PROJECT_DIR
GRAPH_MODELS = [
    "int_identity_nodes",
    "int_identity_edges",
    "int_identity_user_groups",
    "int_identity_anchors",
    "int_identity_components",
    "int_identity_person_ids",
]
DEFAULT_PEOPLE = 550_000  # about 5.9 edges per person with 5 events each: ~3.2M edges
EVENTS_PER_PERSON = 5
TARGET_RATIO = 3.0


class BenchError(RuntimeError):
    """A step failed; the message says which and where its log is."""


class UsageError(BenchError):
    """Bad arguments; the message (or the generator's, printed above) says what to change."""


def _progress(message: str) -> None:
    print(f"[bench-identity] {message}", file=sys.stderr, flush=True)


PROGRESS_SECONDS = 30
_DBT_STEP = re.compile(rb"\b(\d+) of (\d+) (?:START|OK|PASS|WARN|ERROR|FAIL|SKIP)")


def dbt_progress(log: Path, offset: int = 0) -> str | None:
    """How far the dbt run writing `log` (from byte `offset` on) got: 'node N of M', or None before its first node."""
    with log.open("rb") as handle:
        handle.seek(max(offset, log.stat().st_size - 65_536))
        steps = _DBT_STEP.findall(handle.read())
    return f"node {int(steps[-1][0]):,} of {int(steps[-1][1]):,}" if steps else None


@dataclass
class Measured:
    """One child process: how it ended, how long it ran and its own peak resident memory."""

    returncode: int
    wall_seconds: float
    cpu_seconds: float  # user + system: less sensitive than wall time to other work on the machine
    peak_rss_bytes: int
    peak_tree_rss_bytes: int = 0  # the command and every process under it (a JVM), sampled (bench.measure)


def measure(command: list[str], *, env: dict[str, str], log: Path, stdout: Path | None = None,
            progress: Callable[[str], None] | None = None, cwd: Path = REPO_ROOT) -> Measured:
    """Run `command` through customer_segments.bench.measure, output appended to `log` (stdout to `stdout` if given).

    The small measuring process forks the command, so its peak RSS is not floored
    at this process's size (see that module), and wait4 gives that one child's usage.
    With `progress`, every PROGRESS_SECONDS it is told how far dbt got (the last
    "N of M" line of the log), so a build of many minutes is not silent.
    """
    report = log.with_name(log.name + ".measure.json")
    report.unlink(missing_ok=True)
    wrapper = [sys.executable, "-m", "customer_segments.bench.measure", str(report), "--", *command]
    started, offset = time.monotonic(), log.stat().st_size if log.exists() else 0
    with log.open("ab") as errors, (stdout.open("wb") if stdout else log.open("ab")) as output:
        child = subprocess.Popen(wrapper, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=output, stderr=errors)
        while True:
            try:
                returncode = child.wait(timeout=PROGRESS_SECONDS if progress else None)
                break
            except subprocess.TimeoutExpired:
                step = dbt_progress(log, offset)
                progress(f"{step or 'starting'}, {time.monotonic() - started:.0f} s")  # type: ignore[misc]
    if returncode != 0 or not report.exists():
        raise BenchError(f"could not run {command[0]} (exit {returncode}); see {log}")
    result = json.loads(report.read_text())
    return Measured(result["returncode"], result["wall_seconds"], result["cpu_seconds"], result["peak_rss_bytes"],
                    result.get("peak_tree_rss_bytes", 0))


@dataclass
class Workspace:
    """Raw data, ground truth, the DuckDB file and private dbt target/log folders under one root."""

    root: Path
    raw: Path = field(init=False)
    truth: Path = field(init=False)
    database: Path = field(init=False)
    target: Path = field(init=False)
    logs: Path = field(init=False)

    def __post_init__(self) -> None:
        self.raw, self.truth = self.root / "raw", self.root / "ground_truth"
        self.database = self.root / "warehouse" / "segments.duckdb"
        self.target, self.logs = self.root / "target", self.root / "logs"
        for folder in (self.raw, self.database.parent, self.logs):
            folder.mkdir(parents=True, exist_ok=True)

    def env(self) -> dict[str, str]:
        return dbt_env(
            SEGMENTS_RAW_PATH=str(self.raw),
            SEGMENTS_DUCKDB_PATH=str(self.database),
            SEGMENTS_TARGET="dev",
            DBT_PROFILES_DIR=str(REPO_ROOT),
        )

    def node_results(self) -> list[dict]:
        """The per-node results of the last dbt invocation here (target/run_results.json)."""
        return json.loads((self.target / "run_results.json").read_text())["results"]

    def dbt(self, *args: str, progress: Callable[[str], None] | None = None) -> Measured:
        log = self.logs / "dbt-output.txt"
        command = dbt_command(*args, "--target-path", str(self.target), "--log-path", str(self.logs))
        done = measure(command, env=self.env(), log=log, progress=progress)
        if done.returncode != 0:
            tail = "\n".join(log.read_text(errors="replace").splitlines()[-25:])
            raise BenchError(f"dbt {' '.join(args)} failed (exit {done.returncode}); end of {log}:\n{tail}")
        return done


def generate_in_child(space: Workspace, *arguments: str) -> dict:
    """Run the generator into `space` with `arguments` in a child process (its memory goes away with it instead
    of staying in this one); return the truth manifest."""
    generator = [sys.executable, "-m", "customer_segments.generate", "--out", str(space.raw), "--truth", str(space.truth),
                 *arguments]
    done = subprocess.run(generator, cwd=REPO_ROOT, env=space.env(), stdin=subprocess.DEVNULL)
    if done.returncode == 2:
        raise UsageError("the generator refused the arguments (see its message above)")
    if done.returncode != 0:
        raise BenchError(f"generating the data failed (exit {done.returncode})")
    return json.loads((space.truth / "manifest.json").read_text())


def prepare(space: Workspace, people: int, events: int, seed: int) -> dict:
    """Generate the data and build everything the graph models read, plus one untimed build of them."""
    _progress(f"generating {people:,} people with {events:,} events (seed {seed}) into {space.raw}")
    manifest = generate_in_child(space, "--events", str(events), "--people", str(people), "--seed", str(seed))
    _progress("dbt seed")
    space.dbt("seed")
    _progress("dbt run --select +int_identity_person_ids (warm-up: staging, quality gate, identity graph; untimed)")
    warm_up = space.dbt("run", "--select", "+int_identity_person_ids")
    _progress(f"warm-up build took {warm_up.wall_seconds:.1f}s")
    write_reference_edges(space)
    return manifest


def write_reference_edges(space: Workspace) -> None:
    """The reference's input: every edge of int_identity_edges with its ends' type and value (untimed).

    The graph models run on the same data every time, so their edges stay these."""
    with duckdb.connect(str(space.database)) as connection:
        connection.execute(
            f"""
            create or replace table {EDGE_TABLE} as
            select from_node.identifier_type as from_type, from_node.identifier_value as from_value,
                to_node.identifier_type as to_type, to_node.identifier_value as to_value
            from int_identity_edges as edges
            inner join int_identity_nodes as from_node on edges.from_node_id = from_node.node_id
            inner join int_identity_nodes as to_node on edges.to_node_id = to_node.node_id
            """
        )


def sql_fingerprint() -> str:
    """A hash of the project's SQL and config, so a run can tell when the code under test changed mid-benchmark."""
    digest = hashlib.sha256()
    files = [REPO_ROOT / "dbt_project.yml", *sorted((REPO_ROOT / "models").rglob("*")), *sorted((REPO_ROOT / "macros").rglob("*"))]
    for path in files:
        if path.is_file():
            digest.update(str(path.relative_to(REPO_ROOT)).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def run_graph_models(space: Workspace) -> dict:
    """One timed `dbt run` of exactly the graph models."""
    fingerprint = sql_fingerprint()
    done = space.dbt("run", "--select", *GRAPH_MODELS)
    results = space.node_results()
    # models only: the project's on-run-start/on-run-end hooks (erasure) are operations, not graph models
    per_model = {
        result["unique_id"].rsplit(".", 1)[-1]: float(result["execution_time"])
        for result in results
        if result["unique_id"].startswith("model.")
    }
    if sorted(per_model) != sorted(GRAPH_MODELS):
        raise BenchError(f"dbt ran {sorted(per_model)}, expected exactly {GRAPH_MODELS}")
    return {
        "model_seconds": sum(per_model.values()),
        "per_model_seconds": per_model,
        "wall_seconds": done.wall_seconds,
        "cpu_seconds": done.cpu_seconds,
        "peak_rss_bytes": done.peak_rss_bytes,
        "sql_fingerprint": fingerprint,
    }


def run_reference(space: Workspace, labels: Path | None = None) -> dict:
    """One timed reference run in a fresh Python process."""
    command = [sys.executable, "-m", "customer_segments.bench.reference", str(space.database)]
    if labels is not None:
        command += ["--labels", str(labels)]
    log, out = space.logs / "reference-output.txt", space.logs / "reference.json"
    done = measure(command, env=space.env(), log=log, stdout=out)
    if done.returncode != 0:
        tail = "\n".join(log.read_text(errors="replace").splitlines()[-25:])
        raise BenchError(f"the reference failed (exit {done.returncode}); end of {log}:\n{tail}")
    result = json.loads(out.read_text())
    result["process_wall_seconds"] = done.wall_seconds
    result["process_cpu_seconds"] = done.cpu_seconds
    result["process_peak_rss_bytes"] = done.peak_rss_bytes
    return result


def graph_counts(space: Workspace, labels: Path) -> dict:
    """Sizes of the SQL graph and how its people sit inside the reference's components."""
    with duckdb.connect() as connection:
        connection.execute(f"attach '{_quote(space.database)}' as warehouse (read_only)")
        connection.execute("use warehouse")
        row = connection.execute(
            f"""
            with edge_nodes as (
                select from_node_id as node_id from int_identity_edges
                union
                select to_node_id from int_identity_edges
            ),
            people as (
                select component_id, count(*) as size from int_identity_components group by 1
            ),
            reference as (
                select identifier, label from read_parquet('{_quote(labels)}')
            ),
            paired as (
                select components.component_id, reference.label
                from int_identity_components as components
                inner join int_identity_nodes as nodes on components.node_id = nodes.node_id
                inner join reference on reference.identifier = nodes.identifier_type || ':' || nodes.identifier_value
            )
            select
                (select count(*) from int_identity_edges),
                (select count(*) from int_identity_nodes),
                (select count(*) from edge_nodes),
                (select count(distinct person_id) from int_identity_person_ids),
                (select count(distinct components.component_id)
                 from int_identity_components as components inner join edge_nodes using (node_id)),
                (select coalesce(max(size), 0) from people),
                (select count(*) from (select component_id from paired group by 1 having count(distinct label) > 1)),
                (select count(*) from (select label from paired group by 1 having count(distinct component_id) > 1)),
                (select count(*) from int_identity_nodes where node_id not in (select node_id from int_identity_components))
            """
        ).fetchone()
    names = ["edges", "nodes", "nodes_in_edges", "people", "people_in_edges", "largest_component",
             "people_across_reference_components", "reference_components_split", "nodes_left_out"]
    return dict(zip(names, (int(value) for value in row)))


def _quote(path: Path) -> str:
    return str(path).replace("'", "''")


def summarize(config: dict, manifest: dict, graph_runs: list[dict], reference_runs: list[dict], counts: dict) -> dict:
    """Medians, ratios and counts as one JSON-ready dict."""
    def median(runs: list[dict], key: str) -> float:
        return statistics.median(run[key] for run in runs)

    model_s, wall_s, reference_s = median(graph_runs, "model_seconds"), median(graph_runs, "wall_seconds"), median(reference_runs, "seconds")
    reference = reference_runs[-1]
    return {
        "config": config,
        "generated": {"people": manifest["people"], "event_lines": manifest["events"]["raw_lines"]},
        "sql": {
            **{key: counts[key] for key in ("edges", "nodes", "nodes_in_edges", "people", "people_in_edges", "largest_component")},
            "model_seconds": model_s,
            "wall_seconds": wall_s,
            "cpu_seconds": median(graph_runs, "cpu_seconds"),
            "per_model_seconds": {model: statistics.median(run["per_model_seconds"][model] for run in graph_runs) for model in GRAPH_MODELS},
            "peak_rss_bytes": max(run["peak_rss_bytes"] for run in graph_runs),
            "runs": graph_runs,
        },
        "reference": {
            **{key: reference[key] for key in ("edges", "nodes", "people", "largest_component")},
            "seconds": reference_s,
            "process_wall_seconds": median(reference_runs, "process_wall_seconds"),
            "process_cpu_seconds": median(reference_runs, "process_cpu_seconds"),
            "breakdown_seconds": {part: median(reference_runs, f"{part}_seconds") for part in ("read", "factorize", "components")},
            "peak_rss_bytes": max(run["peak_rss_bytes"] for run in reference_runs),
            "process_peak_rss_bytes": max(run["process_peak_rss_bytes"] for run in reference_runs),
            "runs": reference_runs,
        },
        "ratio": {
            "models_to_reference": model_s / reference_s,
            "dbt_wall_to_reference": wall_s / reference_s,
            "dbt_cpu_to_reference_cpu": median(graph_runs, "cpu_seconds") / median(reference_runs, "process_cpu_seconds"),
            "target": TARGET_RATIO,
            "within_target": model_s / reference_s <= TARGET_RATIO,
        },
        "sanity": {
            "edges_agree": counts["edges"] == reference["edges"],
            "nodes_in_edges_agree": counts["nodes_in_edges"] == reference["nodes"],
            "people_across_reference_components": counts["people_across_reference_components"],
            "reference_components_split": counts["reference_components_split"],
            "sql_people_within_reference_components": counts["people_across_reference_components"] == 0,
            "sql_unchanged_between_runs": len({run["sql_fingerprint"] for run in graph_runs}) == 1,
        },
    }


def _gib(size: float) -> str:
    return f"{size / 2**30:.2f} GiB"


def render(result: dict) -> str:
    """The table printed at the end of a run."""
    config, sql, ref, ratio, sanity = result["config"], result["sql"], result["reference"], result["ratio"], result["sanity"]
    rows = [
        ("", "SQL (dbt, DuckDB)", "reference (scipy)"),
        ("edges", f"{sql['edges']:,}", f"{ref['edges']:,}"),
        ("nodes in edges", f"{sql['nodes_in_edges']:,}", f"{ref['nodes']:,}"),
        ("nodes (every identifier)", f"{sql['nodes']:,}", "-"),
        ("people in edges (components)", f"{sql['people_in_edges']:,}", f"{ref['people']:,}"),
        ("people (every identifier)", f"{sql['people']:,}", "-"),
        ("largest person (identifiers)", f"{sql['largest_component']:,}", f"{ref['largest_component']:,}"),
        ("time: graph build, median", f"{sql['model_seconds']:.2f} s (sum of 6 models)", f"{ref['seconds']:.2f} s (read+factorize+cc)"),
        ("time: process wall, median", f"{sql['wall_seconds']:.2f} s (dbt run)", f"{ref['process_wall_seconds']:.2f} s (python)"),
        ("time: process CPU, median", f"{sql['cpu_seconds']:.2f} s (dbt run)", f"{ref['process_cpu_seconds']:.2f} s (python)"),
        ("peak RSS, max of runs", _gib(sql["peak_rss_bytes"]), f"{_gib(ref['peak_rss_bytes'])} (process {_gib(ref['process_peak_rss_bytes'])})"),
    ]
    width = [max(len(row[column]) for row in rows) for column in range(3)]
    lines = [
        f"identity graph benchmark: {result['generated']['people']:,} people, {config['events']:,} events "
        f"({result['generated']['event_lines']:,} lines), seed {config['seed']}, {config['runs']} run(s), medians",
        "",
        *("  ".join(cell.ljust(width[index]) for index, cell in enumerate(row)).rstrip() for row in rows),
        "",
        f"ratio  graph models / reference: {ratio['models_to_reference']:.2f}x   "
        f"(target: within {ratio['target']:g}x -> {'met' if ratio['within_target'] else 'NOT met'})",
        f"ratio  dbt wall / reference:     {ratio['dbt_wall_to_reference']:.2f}x",
        f"ratio  dbt CPU / reference CPU:  {ratio['dbt_cpu_to_reference_cpu']:.2f}x   "
        f"(whole processes; DuckDB may use all {config['cpu_count']} cores, scipy uses one)",
        "per model, median s: " + ", ".join(f"{model.removeprefix('int_identity_')} {seconds:.2f}" for model, seconds in sql["per_model_seconds"].items()),
        "reference, median s: " + ", ".join(f"{part} {seconds:.2f}" for part, seconds in ref["breakdown_seconds"].items()),
        f"sanity: same edges: {'yes' if sanity['edges_agree'] else 'NO'}; same nodes in edges: {'yes' if sanity['nodes_in_edges_agree'] else 'NO'}; "
        f"every SQL person inside one reference component: "
        + ("yes" if sanity["sql_people_within_reference_components"] else f"NO ({sanity['people_across_reference_components']:,} span several)"),
        f"        reference components the guard rails split into several people: {sanity['reference_components_split']:,} "
        "(expected: the SQL graph cuts shared and junk identifiers and never merges two user ids)",
    ]
    if not sanity["sql_unchanged_between_runs"]:
        lines.append("WARNING: models/ or macros/ changed between the timed runs; the runs measured different SQL")
    return "\n".join(lines)


def bench(people: int, events: int, seed: int, runs: int, root: Path) -> dict:
    space = Workspace(root)
    manifest = prepare(space, people, events, seed)
    labels = space.root / "reference_labels.parquet"
    graph_runs, reference_runs = [], []
    for run in range(1, runs + 1):  # interleaved, so drift on the machine hits both sides alike
        graph_runs.append(run_graph_models(space))
        _progress(f"run {run}/{runs}: graph models {graph_runs[-1]['model_seconds']:.2f}s (dbt wall {graph_runs[-1]['wall_seconds']:.2f}s)")
        reference_runs.append(run_reference(space, labels if run == runs else None))
        _progress(f"run {run}/{runs}: reference {reference_runs[-1]['seconds']:.2f}s")
    counts = graph_counts(space, labels)
    config = {"people": people, "events": events, "seed": seed, "runs": runs, "cpu_count": os.cpu_count()}
    return summarize(config, manifest, graph_runs, reference_runs, counts)


def _workdir(requested: str | None) -> tuple[Path, bool]:
    """The folder to work in and whether this run created it; a given folder must be empty or absent."""
    if requested is None:
        return Path(tempfile.mkdtemp(prefix="bench-identity-")), True
    folder = Path(requested).resolve()
    if folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
        raise BenchError(f"--workdir {folder} must be an empty or new folder (it is deleted afterwards unless --keep)")
    created = not folder.exists()
    folder.mkdir(parents=True, exist_ok=True)
    return folder, created


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m customer_segments.bench.identity",
        description="Time the identity graph models against scipy connected components on the same edges.",
    )
    parser.add_argument("--people", type=int, default=DEFAULT_PEOPLE,
                        help=f"people to generate (default {DEFAULT_PEOPLE:,}: about 3.2 million edges)")
    parser.add_argument("--events", type=int, default=None,
                        help=f"events to generate (default {EVENTS_PER_PERSON} per person)")
    parser.add_argument("--seed", type=int, default=42, help="random seed (default 42)")
    parser.add_argument("--runs", type=int, default=3, help="timed runs of each side (default 3; medians are reported)")
    parser.add_argument("--workdir", help="empty or new folder to work in (default: a new folder under the temp dir)")
    parser.add_argument("--keep", action="store_true", help="keep the work folder (data, DuckDB file, dbt logs)")
    parser.add_argument("--json", help="also write the results as JSON to this file")
    options = parser.parse_args(argv)
    if options.runs < 1:
        parser.error("--runs must be at least 1")
    if options.people < 1 or (options.events is not None and options.events < 1):
        parser.error("--people and --events must be positive")
    events = options.events if options.events is not None else EVENTS_PER_PERSON * options.people

    try:
        root, created = _workdir(options.workdir)
    except BenchError as problem:
        print(f"bench-identity: {problem}", file=sys.stderr)
        return 2
    try:
        result = bench(options.people, events, options.seed, options.runs, root)
    except UsageError as problem:
        print(f"bench-identity: {problem}", file=sys.stderr)
        return 2
    except BenchError as problem:
        print(f"bench-identity: {problem}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("bench-identity: interrupted", file=sys.stderr)
        return 130
    finally:
        if options.keep:
            _progress(f"kept {root}")
        elif created:
            shutil.rmtree(root, ignore_errors=True)
        else:
            for child in root.iterdir():
                shutil.rmtree(child) if child.is_dir() else child.unlink()

    result["workdir"] = str(root) if options.keep else None
    print(render(result))
    if options.json:
        Path(options.json).write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
