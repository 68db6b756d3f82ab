"""Benchmark the whole pipeline: a full build, then an incremental build after +1% new events.

    python -m customer_segments.bench.pipeline [--events N] [--runs R] [--seed S]
                                               [--workdir DIR] [--keep] [--json PATH]

1. Generate N events (default 1M) of demo data.
2. R times, interleaved, each in its own process (wall time, CPU time, peak RSS):
   (a) the reference: one DuckDB pass that reads the same raw event files and
       aggregates them by user (customer_segments.bench.reference_pass), the floor
       any pipeline over these files must pay;
   (b) a full `dbt build` into a new DuckDB file.
3. Append 1% new events (a second generated world, its events files only, with
   the same end date) and time (c) `dbt build` on the database of the last full
   build: the incremental build.
   Both builds are the ones `segments build` runs (no dbt unit tests; the full
   suite of data tests on the first build only: cli.build_arguments).
4. Print medians, events per second, the ten slowest nodes of the last full and
   of the incremental build (dbt's run_results.json), and the targets: full / reference
   (target <= 15 at 10M events, stretch 6), incremental / full (target <= 0.10), peak
   memory (target < 6 GB). Only ratios measured in this run mean anything;
   absolute times move with the machine.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Callable

from customer_segments import cli
from customer_segments.bench.identity import BenchError, Measured, UsageError, Workspace, measure

DEFAULT_EVENTS = 1_000_000
FULL_TARGET = 15.0
FULL_STRETCH = 6.0
INCREMENTAL_TARGET = 0.10
MEMORY_TARGET_BYTES = 6 * 1024**3
#: The builds `segments build` runs: a first build (the full suite of data tests) and a later one
#: (the tests of the changed slice and of what BI reads; docs/scheduling.md).
FIRST_BUILD = cli.build_arguments(cli.parse_arguments(["build"]), first_build=True)
SCHEDULED_BUILD = cli.build_arguments(cli.parse_arguments(["build"]))
SLOWEST = 10


def node_seconds(space: Workspace) -> dict[str, float]:
    """Every node of the last dbt invocation in `space`: {"<kind> <name>": seconds}."""
    timed = {}
    for result in space.node_results():
        kind, _, name = result["unique_id"].split(".", 2)
        if kind == "test" and f"{kind} {name.rsplit('.', 1)[0]}" not in timed:
            name = name.rsplit(".", 1)[0]  # a generic test's id ends in a hash (kept when two names would meet)
        timed[f"{kind} {name}"] = round(result["execution_time"], 2)
    return timed


def slowest_nodes(space: Workspace, count: int = SLOWEST) -> list[list]:
    """The `count` slowest nodes of the last dbt invocation in `space`: [name, seconds], slowest first."""
    return sorted(([name, seconds] for name, seconds in node_seconds(space).items()), key=lambda row: -row[1])[:count]


def _progress(message: str) -> None:
    print(f"[bench-pipeline] {message}", file=sys.stderr, flush=True)


def generate(space: Workspace, events: int, seed: int) -> dict:
    from customer_segments.generate import generate as generate_data

    return generate_data(space.raw, space.truth, events=events, seed=seed, progress=True)


def append_increment(space: Workspace, events: int, seed: int, end_date: str) -> int:
    """Add `events` new events as extra files in raw/events (a second world, same end date); return the lines added."""
    from customer_segments.generate import generate as generate_data

    with tempfile.TemporaryDirectory(dir=space.root) as scratch:
        scratch_path = Path(scratch)
        generate_data(scratch_path / "raw", scratch_path / "truth", events=events, seed=seed, progress=False, end_date=end_date)
        lines = 0
        for path in sorted((scratch_path / "raw" / "events").iterdir()):
            target = space.raw / "events" / f"increment-{seed}-{path.name}"
            shutil.move(str(path), target)
            if path.suffix == ".jsonl":
                with target.open("rb") as handle:
                    lines += sum(1 for _ in handle)
    return lines


def reference(space: Workspace) -> Measured:
    log = space.logs / "reference.txt"
    done = measure([sys.executable, "-m", "customer_segments.bench.reference_pass", str(space.raw / "events")],
                   env=space.env(), log=log)
    if done.returncode != 0:
        raise BenchError(f"the reference pass failed; see {log}")
    return done


def _median(values: list[float]) -> float:
    return statistics.median(values)


def run(events: int, runs: int, seed: int, workdir: Path) -> dict:
    data = Workspace(workdir / "data")
    _progress(f"generating {events:,} events into {data.raw}")
    manifest = generate(data, events, seed)
    raw_lines = sum(1 for path in (data.raw / "events").glob("*.jsonl") for _ in path.open("rb"))
    end_date = manifest.get("end_date") or manifest.get("end") or "2026-10-31"

    references, fulls = [], []
    for index in range(runs):
        _progress(f"run {index + 1}/{runs}: reference pass")
        references.append(reference(data))
        space = Workspace(workdir / f"build-{index}")
        shutil.rmtree(space.raw)
        space.raw.symlink_to(data.raw, target_is_directory=True)
        _progress(f"run {index + 1}/{runs}: full dbt build")
        fulls.append(space.dbt(*FIRST_BUILD, progress=lambda step: _progress(f"run {index + 1}/{runs}: full dbt build: {step}")))
    full_slowest = slowest_nodes(space)

    increment = max(1, events // 100)
    _progress(f"appending {increment:,} new events (1%)")
    added = append_increment(data, increment, seed + 1, str(end_date)[:10])
    _progress("incremental dbt build on the last full build's database")
    incremental = space.dbt(*SCHEDULED_BUILD, progress=lambda step: _progress(f"incremental dbt build: {step}"))

    reference_wall = _median([m.wall_seconds for m in references])
    full_wall = _median([m.wall_seconds for m in fulls])
    peak = max([m.peak_rss_bytes for m in fulls] + [incremental.peak_rss_bytes])
    return {
        "events": events,
        "raw_event_lines": raw_lines,
        "increment_lines": added,
        "runs": runs,
        "reference": {"wall_seconds": reference_wall, "peak_rss_bytes": max(m.peak_rss_bytes for m in references),
                      "runs": [m.__dict__ for m in references]},
        "full": {"wall_seconds": full_wall, "peak_rss_bytes": max(m.peak_rss_bytes for m in fulls),
                 "runs": [m.__dict__ for m in fulls]},
        "incremental": {"wall_seconds": incremental.wall_seconds, "peak_rss_bytes": incremental.peak_rss_bytes},
        "slowest": {"full": full_slowest, "incremental": slowest_nodes(space)},
        "full_over_reference": full_wall / reference_wall,
        "incremental_over_full": incremental.wall_seconds / full_wall,
        "peak_rss_bytes": peak,
        "targets": {"full_over_reference": FULL_TARGET, "incremental_over_full": INCREMENTAL_TARGET,
                    "peak_rss_bytes": MEMORY_TARGET_BYTES},
    }


def render(result: dict) -> str:
    gib = 1024**3
    lines_in = result["raw_event_lines"]
    rows = [
        ("reference (1 DuckDB pass)", result["reference"]["wall_seconds"], result["reference"]["peak_rss_bytes"], lines_in),
        ("full dbt build", result["full"]["wall_seconds"], result["full"]["peak_rss_bytes"], lines_in),
        ("incremental build (+1%)", result["incremental"]["wall_seconds"], result["incremental"]["peak_rss_bytes"],
         lines_in + result["increment_lines"]),
    ]
    out = [f"Pipeline benchmark: {result['events']:,} events ({lines_in:,} raw lines), medians of {result['runs']} run(s)",
           f"{'step':<28}{'wall s':>9}{'peak GiB':>10}{'events/s':>12}"]
    for name, wall, peak, lines in rows:
        out.append(f"{name:<28}{wall:>9.1f}{peak / gib:>10.2f}{lines / wall:>12,.0f}")
    for build, nodes in result.get("slowest", {}).items():
        out.append(f"slowest nodes of the {build} build (s; two run at a time):")
        out.extend(f"  {seconds:>8.1f}  {name}" for name, seconds in nodes)

    def verdict(ok: bool) -> str:
        return "met" if ok else "NOT met"

    full_ratio, incremental_ratio = result["full_over_reference"], result["incremental_over_full"]
    out.append(f"full / reference        = {full_ratio:.2f}x (target <= {FULL_TARGET:g}x at 10M events: "
               f"{verdict(full_ratio <= FULL_TARGET)}; stretch {FULL_STRETCH:g}x: {verdict(full_ratio <= FULL_STRETCH)})")
    out.append(f"incremental / full      = {incremental_ratio:.2f} (target <= {INCREMENTAL_TARGET:g}: "
               f"{verdict(incremental_ratio <= INCREMENTAL_TARGET)})")
    out.append(f"peak memory             = {result['peak_rss_bytes'] / gib:.2f} GiB (target < 6 GB: "
               f"{verdict(result['peak_rss_bytes'] < MEMORY_TARGET_BYTES)})")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = argparse.ArgumentParser(
        prog="bin/bench", description=__doc__.split("\n\n")[0],
        epilog="bin/bench --micro-batch instead times one ~10k-event batch on a 100k and a 2M history "
               "(customer_segments.bench.micro_batch; bin/bench --micro-batch --help).",
    )
    parser.add_argument("--events", type=int, default=DEFAULT_EVENTS, help="events to generate (default 1000000; 10000000 for the target size)")
    parser.add_argument("--runs", type=int, default=1, help="timed runs of the reference and the full build (default 1; medians reported)")
    parser.add_argument("--seed", type=int, default=42, help="random seed (default 42)")
    add_workdir_arguments(parser)
    options = parser.parse_args(argv)
    if options.events < 10_000 or options.runs < 1:
        print("bench: --events must be at least 10000 and --runs at least 1", file=sys.stderr)
        return 2
    return run_in_workdir(options, "bench-pipeline-", lambda workdir: run(options.events, options.runs, options.seed, workdir),
                          render)


def add_workdir_arguments(parser: argparse.ArgumentParser) -> None:
    """The options run_in_workdir reads: --workdir, --keep, --json."""
    parser.add_argument("--workdir", help="new or empty folder to work in (default: a new folder under the temp dir)")
    parser.add_argument("--keep", action="store_true", help="keep the work folder")
    parser.add_argument("--json", help="also write the results as JSON to this file")


def run_in_workdir(options: argparse.Namespace, prefix: str, bench: Callable[[Path], dict],
                   show: Callable[[dict], str]) -> int:
    """Run `bench` in options.workdir (new or empty; default a new temp folder), print `show` of its result and
    write it to options.json; remove the folder unless options.keep. Exit code: 0, 1 (it failed), 2 (usage)."""
    workdir = Path(options.workdir) if options.workdir else Path(tempfile.mkdtemp(prefix=prefix))
    if workdir.exists() and any(workdir.iterdir()):
        print(f"bench: {workdir} is not empty; give a new or empty --workdir", file=sys.stderr)
        return 2
    workdir.mkdir(parents=True, exist_ok=True)
    try:
        result = bench(workdir)
    except UsageError as problem:
        print(f"bench: {problem}", file=sys.stderr)
        return 2
    except BenchError as problem:
        print(f"bench: {problem}", file=sys.stderr)
        return 1
    finally:
        if not options.keep:
            shutil.rmtree(workdir, ignore_errors=True)
    print(show(result))
    if options.json:
        Path(options.json).write_text(json.dumps(result, indent=2))
    return 0

if __name__ == "__main__":
    sys.exit(main())
