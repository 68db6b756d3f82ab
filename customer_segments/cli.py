"""The `segments` command: build the project end to end and say what the build did.

    segments build [--events N] [--seed S] [--unit-tests] [--all-tests] [-- <extra dbt build args>]
    segments summary
    segments report [--out FILE]
    segments publish [--region R] [--out FILE]
    segments sync [--config FILE] [--destination NAME] [--region R] [--snapshot]
    segments watch [--interval S] [--once] [--config FILE] [--region R] [-- <extra dbt build args>]
    segments compact
    segments export-person IDENTIFIER [--type TYPE] [--out FILE]
    segments explain IDENTIFIER [--type TYPE] [--json]

`build` generates demo data first when no raw data is configured (neither
SEGMENTS_RAW_PATH is set nor the default raw folder has events), runs
`dbt build` from the repository root (without dbt's unit tests, and after a
first build without the full suite's data tests: --unit-tests, --all-tests and
--full-refresh change that; docs/scheduling.md), and prints a short summary read back
from the warehouse. After a successful build it publishes the marts to the
serving database BI tools read (docs/serving.md);
`publish` does that step alone. A build that erased someone then compacts
the warehouse before it publishes (docs/privacy.md); `compact` does that step
alone, for warehouses built with plain `dbt build` (exit 1 when it could not).
After the build it runs `dbt source freshness` and prints one line naming
the stale sources (docs/own-data.md).
Exit codes: 0 success, 1 the dbt build failed or its result was not
published, or a source is past its freshness error threshold (also: another build or another process holds the warehouse, so
nothing was built), 2 bad usage or configuration (bad vars, unknown dbt
arguments, a folder that cannot be created), each with one line saying what
to do, never a Python traceback.
`report` writes the segment report, one static HTML page
(docs/report.md); `build` writes it too after a successful build and prints its path
(a report that cannot be written is said, and does not change the exit code).
`export-person` writes, as JSON, everything the warehouse holds about the
person an identifier belongs to (docs/privacy.md); it exits 1 when nobody
holds the identifier and 2 when it could mean several people.
`sync` delivers the segments to the destinations of the activation config,
exactly once (docs/activation.md); exit 1 when a receiver did not acknowledge
a batch (it is sent again by the next sync) or the last build may not be
used, 2 when the config is wrong. `watch` polls the raw folder and builds,
publishes and syncs when files land. `publish --region` writes a serving file
holding one region's people only (data residency).
`explain` shows one person: identifiers, scores with the events that
contributed most, and for every segment why they are or are not a member
(docs/segments.md); same exit codes as `export-person`.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from datetime import date, timedelta
from pathlib import Path

import duckdb

from customer_segments import activation, build_lock, compact, publish
from customer_segments.activation import watch as raw_watch
from customer_segments import explain, lookup
from customer_segments.dbt_output import DbtOutput
from customer_segments.dbt_runner import PROJECT_DIR, dbt_command, dbt_env, dbt_target
from customer_segments import summary as build_summary
from customer_segments.report import ReportError, render_report
from customer_segments.privacy import access

DEFAULT_RAW_PATH = "data/raw"
DEFAULT_TRUTH_PATH = "data/ground_truth"
DEFAULT_DUCKDB_PATH = "warehouse/segments.duckdb"
REPORT_NAME = "report.html"


class UsageError(Exception):
    """A problem the user can fix; printed as one line, without a traceback (exit 2)."""


class BuildFailed(Exception):
    """The build could not run or failed, for a reason one line says (exit 1)."""


def raw_path() -> Path:
    """The raw input folder, as the dbt project resolves it (docs/contract.md, Inputs)."""
    return _resolve(os.environ.get("SEGMENTS_RAW_PATH", DEFAULT_RAW_PATH))


def duckdb_path() -> Path:
    """The DuckDB file the `dev` target writes."""
    return _resolve(os.environ.get("SEGMENTS_DUCKDB_PATH", DEFAULT_DUCKDB_PATH))


def serving_path() -> Path:
    """The serving database BI tools read: SEGMENTS_SERVING_PATH, else serving.duckdb next to the warehouse."""
    configured = os.environ.get("SEGMENTS_SERVING_PATH")
    return _resolve(configured) if configured else duckdb_path().with_name(publish.DEFAULT_SERVING_NAME)


def _resolve(path: str) -> Path:
    candidate = Path(path)
    return candidate if candidate.is_absolute() else PROJECT_DIR / candidate


def has_events(folder: Path) -> bool:
    """True when the folder holds at least one events file (in events/ or a folder below it, hidden ones skipped),
    or warehouse-shape Parquet files under warehouse/ (var event_input_shape segment_warehouse, docs/own-data.md)."""
    events = folder / "events"
    if (folder / "warehouse").is_dir() and any((folder / "warehouse").rglob("*.parquet")):
        return True
    return events.is_dir() and any(
        path.is_file() and not any(part.startswith((".", "_")) for part in path.relative_to(events).parts)
        for path in events.rglob("*")
    )


def ensure_demo_data(events: int, seed: int) -> None:
    """Generate demo data into the default raw folder unless raw data is configured or present."""
    folder = raw_path()
    if "SEGMENTS_RAW_PATH" in os.environ:
        if not has_events(folder):
            raise UsageError(
                f"SEGMENTS_RAW_PATH={os.environ['SEGMENTS_RAW_PATH']} has no events/ files. "
                "Point it at a folder laid out as in docs/contract.md (Inputs), or unset it to build on demo data."
            )
        return
    if has_events(folder):
        print(f"Using the raw data already in {folder} (delete it to regenerate demo data).")
        return
    from customer_segments.generate import generate

    # the demo's history ends yesterday, so the freshness check sees data as fresh as a nightly load
    end = (date.today() - timedelta(days=1)).isoformat()
    print(f"No raw data configured: generating {events:,} demo events up to {end} into {folder} (seed {seed}).")
    generate(folder, _resolve(DEFAULT_TRUTH_PATH), events=events, seed=seed, end_date=end)


def run_dbt(args: list[str]) -> int:
    """Run dbt as every tool of the project does (dbt_runner) and return its exit code.

    dbt's output is shown as it comes, without Python tracebacks (dbt_output).
    Raises UsageError when dbt refused the vars (macro validate_vars) or its
    arguments, and BuildFailed when another process held the warehouse.
    """
    output = DbtOutput()
    env = dbt_env()
    with subprocess.Popen(
        dbt_command(*args, env=env), cwd=PROJECT_DIR, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        text=True, errors="replace", bufsize=1,
    ) as process:
        assert process.stdout is not None
        for raw in process.stdout:
            _show(output.feed(raw))
        _show(output.flush())
        code = process.wait()
    if code != 0 and output.invalid_vars:
        raise UsageError("dbt build refused the vars (listed above); nothing was built")
    if code != 0 and output.bad_usage:
        raise UsageError("dbt build refused its arguments (see dbt's message above); nothing was built")
    if code != 0 and output.lock_conflict:
        holder = build_lock.describe_lock_conflict(output.lock_conflict) or "another process"
        raise BuildFailed(build_lock.busy_message(duckdb_path(), holder, serving_path()))
    return code


def _show(lines: list[str]) -> None:
    for line in lines:
        print(line, flush=True)


def _make_folder(folder: Path, setting: str) -> None:
    """Create a folder the command writes to; a UsageError naming the setting when it cannot be created."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as problem:
        raise UsageError(f"cannot create the folder {folder} ({problem.strerror or problem}); check {setting}") from None


def cmd_build(options: argparse.Namespace) -> int:
    _check_serving_path()
    _make_folder(duckdb_path().parent, "SEGMENTS_DUCKDB_PATH")
    _make_folder(serving_path().parent, "SEGMENTS_SERVING_PATH")
    try:
        with build_lock.build_lock(duckdb_path()):
            # events read from warehouse tables (var segment_warehouse_schema) need no event files
            if not any("segment_warehouse_schema" in argument for argument in options.dbt_args):
                ensure_demo_data(options.events, options.seed)
            holder = build_lock.warehouse_holder(duckdb_path())
            if holder:
                raise BuildFailed(build_lock.busy_message(duckdb_path(), holder, serving_path()))
            return _build(options)
    except build_lock.WarehouseBusy as busy:
        raise BuildFailed(str(busy)) from None


def _build(options: argparse.Namespace) -> int:
    """dbt build, compaction after an erasure, publish, summary and report, under the build lock."""
    erased_before = compact.erasure_log_rows(duckdb_path())
    code = run_dbt(build_arguments(options, first_build(options.dbt_args)))
    if compact.erasure_log_rows(duckdb_path()) > erased_before:
        # the purge deleted rows whose bytes stay in the file until it is rewritten
        print(_compact_line())
    # publish first, so BI tools get a good build as soon as dbt is done with it
    published, serving_line = _publish() if code == 0 else (False, _serving_kept("the build failed"))
    # after a good build: did every input arrive? (a failed build has said what went wrong already)
    fresh, sources_line = _source_freshness(options) if code == 0 else (True, "")
    print()
    if duckdb_path().exists():
        print(build_summary.render(duckdb_path()))
        if code == 0:
            print(_write_report_line(duckdb_path().with_name(REPORT_NAME)))
    if code != 0:
        print(
            "\nThe dbt build failed (see the errors above; dbt's full log is in logs/dbt.log). "
            "Tables that were not rebuilt keep their previous contents."
        )
    if sources_line:
        print(sources_line)
    print(serving_line)
    return 0 if published and fresh else 1


def _passed_through(dbt_args: list[str]) -> list[str]:
    """The arguments of the build that `dbt source freshness` needs too: --vars and --target."""
    kept = []
    for index, argument in enumerate(dbt_args):
        name = argument.split("=")[0]
        if name in ("--vars", "--target", "-t"):
            kept += [argument] if "=" in argument else dbt_args[index:index + 2]
    return kept


def _source_freshness(options: argparse.Namespace) -> tuple[bool, str]:
    """Run `dbt source freshness` after a good build: whether no source is past its error threshold (var
    source_freshness_error_after_hours), and one line naming the stale sources (docs/own-data.md)."""
    import json
    import tempfile

    passed = _passed_through(list(options.dbt_args))
    if dbt_target(passed) == "spark":
        return True, "Sources: freshness is checked on DuckDB only (docs/spark.md)."
    with tempfile.TemporaryDirectory() as folder:
        results = Path(folder) / "sources.json"
        done = subprocess.run(
            dbt_command("source", "freshness", *passed, "--output", str(results)),
            cwd=PROJECT_DIR, env=dbt_env(), capture_output=True, text=True, errors="replace",
        )
        if not results.exists():
            return True, "Sources: freshness not checked (dbt source freshness failed; see logs/dbt.log)."
        found = json.loads(results.read_text())["results"]
    # only a source past its error threshold fails the command; a source that could not be read is said
    return not any(result["status"] == "error" for result in found), freshness_line(found)


def freshness_line(results: list[dict]) -> str:
    """One line of the build's output from dbt's sources.json results."""
    stale = []
    for result in sorted(results, key=lambda result: result["unique_id"]):
        name = result["unique_id"].split(".", 2)[-1]
        if result["status"] == "pass":
            continue
        newest = str(result.get("max_loaded_at") or "")[:16].replace("T", " ")
        age = result.get("max_loaded_at_time_ago_in_s")
        said = "no data" if not newest or newest.startswith("0001") else f"newest {newest}, {age / 3600:,.0f} h old"
        stale.append(f"{name} {result['status']} ({said})" if age is not None or said == "no data" else
                     f"{name} {result['status']}")
    if not stale:
        return f"Sources: all {len(results)} fresh (dbt source freshness)."
    return f"Sources: {len(results) - len(stale)} of {len(results)} fresh; " + ", ".join(stale) + " (dbt source freshness)."


#: The data tests only the full suite runs (dbt_project.yml, `data_tests:`; docs/scheduling.md).
FULL_SUITE_TESTS = "config.meta.test_tier:full_suite"


def build_arguments(options: argparse.Namespace, first_build: bool = False) -> list[str]:
    """The dbt build command line: the user's arguments, and no unit tests unless asked for (or the user chose
    resource types themselves). dbt's own advice: unit tests test the code, so they belong to CI.
    The full suite of data tests runs on a first build (`first_build`: the warehouse holds no staged events
    yet), with --full-refresh and with --all-tests; other builds leave out the tests of the intermediate
    layer and of the catalog views over all history (FULL_SUITE_TESTS)."""
    arguments = ["build", *options.dbt_args]
    chose_types = any(argument.split("=")[0] in ("--resource-type", "--resource-types", "--exclude-resource-type",
                                                  "--exclude-resource-types") for argument in arguments)
    if not options.unit_tests and not chose_types:
        arguments += ["--exclude-resource-type", "unit_test"]
    if not (first_build or options.all_tests or {"--full-refresh", "-f"} & set(arguments)):
        arguments += ["--exclude", FULL_SUITE_TESTS]
    return arguments


def first_build(dbt_args: list[str]) -> bool:
    """Whether a build starts the warehouse: on DuckDB, no staged events table yet (dbt builds every
    incremental model whole then). On Spark this is not looked up: False (--full-refresh or --all-tests)."""
    if dbt_target(dbt_args) == "spark":
        return False
    if not duckdb_path().exists():
        return True
    try:
        with duckdb.connect(str(duckdb_path()), read_only=True) as connection:
            # (any schema: a profile may name another than main, and every layer lands in it on DuckDB)
            return not publish.has_table(connection, "stg_segment__events", schema=None)
    except duckdb.Error:
        return True


def _compact_line() -> str:
    try:
        return f"Erasure: {compact.compact(duckdb_path()).line()}."
    except compact.CompactError as problem:
        return f"Erasure: warehouse not compacted ({problem}); run `segments compact`."


def cmd_compact(_options: argparse.Namespace) -> int:
    if not duckdb_path().exists():
        raise UsageError(f"No warehouse at {duckdb_path()}: run `segments build` first.")
    try:
        print(f"Warehouse: {compact.compact(duckdb_path()).line()}.")
    except compact.CompactError as problem:
        print(f"segments: {problem}", file=sys.stderr)
        return 1
    return 0


def _check_serving_path() -> None:
    if serving_path().resolve() == duckdb_path().resolve():
        raise UsageError(
            f"SEGMENTS_SERVING_PATH is the warehouse itself ({duckdb_path()}); BI tools need a file of their own."
        )


def _publish(region: str | None = None, out: Path | None = None) -> tuple[bool, str]:
    """Publish the warehouse to the serving file (or one region's file); whether it did, and the line saying so."""
    target = out or serving_path()
    try:
        published = publish.publish(duckdb_path(), target, region=region)
    except publish.PublishError as problem:
        return False, _serving_kept(str(problem), target)
    only = f" ({region} people and accounts only)" if region else ""
    return True, f"Serving: published {published.line()}{only} to {published.path}."


def _serving_kept(reason: str, path: Path | None = None) -> str:
    """The summary line of a build that did not publish: why, and what BI tools read instead."""
    path = path or serving_path()
    kept = publish.current(path)
    still = f"BI tools keep reading {kept.line()}" if kept else "there is no serving file yet"
    return f"Serving: not published ({reason}); {still} at {path}."


def _write_report_line(out: Path) -> str:
    """Write the segment report after a build; one summary line either way (the build's result stands)."""
    try:
        return f"Report: {render_report(duckdb_path(), out)}"
    except ReportError as problem:
        return f"Report: not written ({problem})"


def cmd_report(options: argparse.Namespace) -> int:
    if not duckdb_path().exists():
        raise UsageError(f"No warehouse at {duckdb_path()}: run `segments build` first.")
    out = Path(options.out) if options.out else duckdb_path().with_name(REPORT_NAME)
    try:
        written = render_report(duckdb_path(), out)
    except ReportError as problem:
        raise UsageError(str(problem))
    print(f"Wrote the segment report to {written}.")
    return 0


def cmd_summary(_options: argparse.Namespace) -> int:
    if not duckdb_path().exists():
        raise UsageError(f"No warehouse at {duckdb_path()}: run `segments build` first.")
    print(build_summary.render(duckdb_path()))
    served = publish.current(serving_path())
    print(f"Serving: {served.line()} at {served.path}." if served else f"Serving: nothing published at {serving_path()} yet.")
    return 0


def cmd_publish(options: argparse.Namespace) -> int:
    _check_serving_path()
    if not duckdb_path().exists():
        raise UsageError(f"No warehouse at {duckdb_path()}: run `segments build` first.")
    region = getattr(options, "region", None)
    out = Path(options.out) if getattr(options, "out", None) else None
    if region and out is None:
        # never overwrite the deployment's full serving file with a region's part of it
        out = serving_path().with_name(f"serving-{region.lower()}.duckdb")
    if out is not None and out.resolve() == duckdb_path().resolve():
        raise UsageError(f"--out is the warehouse itself ({duckdb_path()}); publish to a file of its own.")
    _make_folder((out or serving_path()).parent, "SEGMENTS_SERVING_PATH")
    published, serving_line = _publish(region, out)
    print(serving_line, file=sys.stdout if published else sys.stderr)
    return 0 if published else 1


def _activation_config(options: argparse.Namespace) -> activation.ActivationConfig:
    try:
        return activation.load_config(activation.config.config_path(options.config, duckdb_path()))
    except activation.ConfigError as problem:
        raise UsageError(str(problem)) from None


def _sync(config: activation.ActivationConfig, options: argparse.Namespace) -> int:
    """Sync under the build lock the caller holds: print one line per destination; 0 when all acknowledged."""
    try:
        result = activation.sync(duckdb_path(), config, names=options.destination or None, region=options.region,
                                 snapshot=getattr(options, "snapshot", False))
    except activation.ConfigError as problem:
        raise UsageError(str(problem)) from None
    except activation.SyncError as problem:
        print(f"segments: {problem}", file=sys.stderr)
        return 1
    for line in result.lines():
        print(line, flush=True)
    return 0 if result.ok else 1


def cmd_sync(options: argparse.Namespace) -> int:
    config = _activation_config(options)
    if not duckdb_path().exists():
        raise UsageError(f"No warehouse at {duckdb_path()}: run `segments build` first.")
    try:
        with build_lock.build_lock(duckdb_path()):
            return _sync(config, options)
    except build_lock.WarehouseBusy:
        raise BuildFailed(f"a build (or another sync) holds {duckdb_path()}; nothing synced: sync when it ends") from None


def cmd_watch(options: argparse.Namespace) -> int:
    """Poll the raw folder; when files land: incremental build, publish, sync. --once: one poll, then exit."""
    config = _activation_config(options)
    _check_serving_path()
    _make_folder(duckdb_path().parent, "SEGMENTS_DUCKDB_PATH")
    folder = raw_path()
    print(f"Watching {folder} every {options.interval:g} s (Ctrl-C to stop).", flush=True)
    code = 0
    while True:
        current = raw_watch.scan(folder)
        changes = raw_watch.compare(raw_watch.load(duckdb_path()), current)
        if changes:
            code = _watch_round(config, options, current, changes)
        elif code != 0 and raw_watch.load(duckdb_path()):
            # the last round built but a receiver did not acknowledge everything: sync again
            try:
                with build_lock.build_lock(duckdb_path()):
                    code = _sync(config, options)
            except build_lock.WarehouseBusy:
                code = 1
        elif options.once:
            print("Watch: no new raw files; nothing to do.", flush=True)
        if options.once:
            return code
        time.sleep(options.interval)


def _watch_round(config, options: argparse.Namespace, current: dict, changes) -> int:
    started = time.time()
    print(f"Watch: {changes.line()}; building.", flush=True)
    try:
        with build_lock.build_lock(duckdb_path()):
            holder = build_lock.warehouse_holder(duckdb_path())
            if holder:
                print(f"segments: {build_lock.busy_message(duckdb_path(), holder, serving_path())}", file=sys.stderr)
                return 1
            erased_before = compact.erasure_log_rows(duckdb_path())
            code = run_dbt(build_arguments(options, first_build(options.dbt_args)))
            if code != 0:
                print("Watch: the build failed (see above); nothing published or synced; trying again on the next poll.")
                return 1
            if compact.erasure_log_rows(duckdb_path()) > erased_before:
                print(_compact_line())
            published, serving_line = _publish()
            print(serving_line, flush=True)
            synced = _sync(config, options)
            raw_watch.save(duckdb_path(), current)
    except build_lock.WarehouseBusy:
        print(f"segments: a build holds {duckdb_path()}; trying again on the next poll.", file=sys.stderr)
        return 1
    done = time.time()
    landed = changes.newest_mtime_ns / 1e9 if changes.newest_mtime_ns else started
    print(f"Watch: built, published and synced in {done - started:.1f} s; "
          f"landing to delivery {done - landed:.1f} s.", flush=True)
    return 0 if published and synced == 0 else 1


def _open_read_only():
    """The warehouse, read-only (a person's data is only read); a UsageError when it cannot be opened."""
    import duckdb

    path = duckdb_path()
    if not path.exists():
        raise UsageError(f"No warehouse at {path}: run `segments build` first.")
    try:
        return duckdb.connect(str(path), read_only=True)
    except duckdb.Error as problem:
        first_line = str(problem).strip().splitlines()[0]
        raise UsageError(f"Cannot open {path} read-only ({first_line}); if a build is running, retry when it ends.")


def _about_person(read, options: argparse.Namespace):
    """`read(connection, identifier, type)` on the warehouse, or None (message printed) when nobody holds it.

    A value that does not identify one person is a usage error (exit 2), as in export-person and explain.
    """
    connection = _open_read_only()
    try:
        return read(connection, options.identifier, options.type)
    except lookup.PersonNotFound as missing:
        print(f"segments: {missing}", file=sys.stderr)
        return None
    except lookup.AccessError as problem:
        raise UsageError(str(problem))
    finally:
        connection.close()


def cmd_export_person(options: argparse.Namespace) -> int:
    document = _about_person(access.export_person, options)
    if document is None:
        return 1
    text = access.to_json(document)
    if options.out is None:
        sys.stdout.write(text)
        return 0
    out = Path(options.out)
    try:
        # personal data: readable by its owner only
        descriptor = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.write(text)
    except OSError as problem:
        raise UsageError(f"Cannot write {out}: {problem.strerror}.")
    print(f"Wrote the access export of {document['person_id']} to {out}.")
    return 0


def cmd_explain(options: argparse.Namespace) -> int:
    explanation = _about_person(explain.explain_person, options)
    if explanation is None:
        return 1
    sys.stdout.write(explain.to_json(explanation) if options.json else explain.render_text(explanation))
    return 0


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="segments", description=__doc__.split("\n\n")[0])
    commands = top.add_subparsers(dest="command", required=True)
    build = commands.add_parser("build", help="generate demo data if needed, run dbt build, print a summary")
    build.add_argument("--events", type=int, default=200_000, help="demo events to generate (default 200000)")
    build.add_argument("--seed", type=int, default=42, help="demo data seed (default 42)")
    build.add_argument(
        "--unit-tests",
        action="store_true",
        help="also run the dbt unit tests (CI runs them; a scheduled build skips them: they test the code, not the data)",
    )
    build.add_argument(
        "--all-tests",
        action="store_true",
        help="run the full suite of data tests (a first build and --full-refresh do; other builds leave out "
        "the intermediate layer's and the catalog views' tests over all history: docs/scheduling.md)",
    )
    build.add_argument("dbt_args", nargs=argparse.REMAINDER, help="extra arguments for dbt build, after --")
    build.set_defaults(handler=cmd_build)
    summary = commands.add_parser("summary", help="print the summary of the last build")
    summary.set_defaults(handler=cmd_summary)
    report = commands.add_parser("report", help="write the segment report (static HTML) of the last build")
    report.add_argument(
        "--out", metavar="FILE", help=f"where to write it (default: {REPORT_NAME} next to the warehouse file)"
    )
    report.set_defaults(handler=cmd_report)
    publish_command = commands.add_parser(
        "publish", help="publish the last good build to the serving database BI tools read (build does this too)"
    )
    publish_command.add_argument(
        "--region", help="data residency: publish only this region's people and accounts (people.region), "
        "to serving-<region>.duckdb next to the warehouse unless --out says where")
    publish_command.add_argument("--out", metavar="FILE", help="the serving file to write (default: SEGMENTS_SERVING_PATH)")
    publish_command.set_defaults(handler=cmd_publish)
    for name, text in (
        ("sync", "deliver segment entries and exits to the destinations of the activation config, exactly once"),
        ("watch", "poll the raw folder; when files land, build incrementally, publish and sync"),
    ):
        command = commands.add_parser(name, help=text)
        command.add_argument("--config", metavar="FILE", help="the activation config (default: "
                             "SEGMENTS_ACTIVATION_CONFIG, else activation.yml next to the warehouse)")
        command.add_argument("--destination", action="append", metavar="NAME",
                             help="sync only this destination (repeatable; default: all)")
        command.add_argument("--region", help="sync only the destinations declared for this region (data residency)")
        if name == "sync":
            command.add_argument("--snapshot", action="store_true",
                                 help="send each segment's whole audience (a full list to replace the destination's)")
            command.set_defaults(handler=cmd_sync)
        else:
            command.add_argument("--interval", type=float, default=30.0, help="seconds between polls (default 30)")
            command.add_argument("--once", action="store_true", help="poll once, act if needed, exit")
            command.add_argument("--unit-tests", action="store_true", help=argparse.SUPPRESS)
            command.add_argument("--all-tests", action="store_true", help=argparse.SUPPRESS)
            command.add_argument("dbt_args", nargs=argparse.REMAINDER, help="extra arguments for dbt build, after --")
            command.set_defaults(handler=cmd_watch)
    compact_command = commands.add_parser(
        "compact", help="rewrite the warehouse into a fresh file so deleted (erased) rows leave no bytes behind"
    )
    compact_command.set_defaults(handler=cmd_compact)
    export = commands.add_parser(
        "export-person", help="write everything the warehouse holds about one person as JSON (access request)"
    )
    export.add_argument("identifier", help="an identifier of the person: email, user id, anonymous id, ...")
    export.add_argument(
        "--type",
        choices=lookup.IDENTIFIER_TYPES,
        help="the identifier's type (default: try every type)",
    )
    export.add_argument("--out", metavar="FILE", help="write the JSON to this file (default: standard output)")
    export.set_defaults(handler=cmd_export_person)
    explain_command = commands.add_parser(
        "explain", help="show one person: identifiers, scores and what made them, why in or not in each segment"
    )
    explain_command.add_argument("identifier", help="an identifier of the person: email, user id, anonymous id, ...")
    explain_command.add_argument(
        "--type", choices=lookup.IDENTIFIER_TYPES, help="the identifier's type (default: try every type)"
    )
    explain_command.add_argument("--json", action="store_true", help="print the explanation as JSON")
    explain_command.set_defaults(handler=cmd_explain)
    return top


def parse_arguments(argv: list[str] | None = None) -> argparse.Namespace:
    options = parser().parse_args(argv)
    if getattr(options, "dbt_args", None) and options.dbt_args[0] == "--":
        options.dbt_args = options.dbt_args[1:]
    return options


def main(argv: list[str] | None = None) -> int:
    options = parse_arguments(argv)
    try:
        return options.handler(options)
    except UsageError as problem:
        print(f"segments: {problem}", file=sys.stderr)
        return 2
    except BuildFailed as problem:
        print(f"segments: {problem}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("segments: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
