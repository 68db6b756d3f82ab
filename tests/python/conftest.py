"""Shared fixtures: run dbt against generated data in a temporary folder.

Builds write their DuckDB file, dbt target/ and logs/ under pytest's tmp
folders, so tests never touch the developer's warehouse/ or target/ and can
run while a demo build is open.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import shutil
import subprocess
import sys
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pytest

from customer_segments.dbt_runner import PROJECT_DIR as REPO_ROOT
from customer_segments.dbt_runner import dbt_command, dbt_env, dbt_target

# In a pytest-xdist worker (bin/test), __main__ has neither __spec__ nor __file__, which pyspark.sql.connect
# (imported by great_expectations) takes for a doctest run and answers with sys.exit(0) mid-import.
_main = sys.modules["__main__"]
if getattr(_main, "__spec__", None) is None and not hasattr(_main, "__file__"):
    _main.__file__ = "<pytest-xdist worker>"


#: dbt's partial-parse file (target/partial_parse.msgpack), by the project folder, --vars and --target it was
#: parsed with, for this process (one pytest worker). A new workspace's first dbt command used to parse the whole
#: project again (about 10 s a time, over a hundred times a run); given a parse made with the same settings it
#: parses only what changed, which is nothing. dbt itself checks that the file matches: the project's files by
#: their hashes, the --vars, the profile, the target and the values of the environment variables dbt_project.yml
#: and profiles.yml read. Those are the same in every workspace because Workspace.dbt gives the paths relative
#: to the workspace (PARSE_STABLE_PATHS); if anything else differs, dbt parses whole, as it would have anyway.
_PARSES: dict[tuple[str, str, str], bytes] = {}  # about 3 MB each
#: the environment variables of the workspace's paths, as Workspace.dbt gives them (dbt runs in the workspace)
PARSE_STABLE_PATHS = {"SEGMENTS_RAW_PATH": "raw", "SEGMENTS_DUCKDB_PATH": "warehouse/segments.duckdb"}


def _parse_settings(args: tuple[str, ...]) -> tuple[str, str, str]:
    """The project folder, --vars and --target of a dbt command line (what dbt's partial-parse check compares,
    with the files)."""
    def value(flag: str) -> str:
        return args[args.index(flag) + 1] if flag in args[:-1] else ""

    return value("--project-dir"), value("--vars"), value("--target")


@dataclass
class DbtRun:
    """The outcome of one dbt invocation."""

    returncode: int
    output: str


#: Workspace.dbt runs dbt on DuckDB inside the test process (dbt's programmatic entry point, dbtRunner) instead of
#: starting `dbt` anew: a new process spends about 6 s importing dbt, Great Expectations and the adapter before it
#: does anything, and the suite runs dbt about 140 times. SEGMENTS_TEST_DBT_SUBPROCESS=1 starts a process per
#: command as before (to rule the harness out when a test fails). The user-facing commands (`segments build`,
#: bin/demo) always run dbt as a process; the tests of those start them as processes themselves.
DBT_IN_PROCESS = os.environ.get("SEGMENTS_TEST_DBT_SUBPROCESS", "") in ("", "0")


def _dbt_in_process(args: list[str], cwd: Path, env: dict[str, str]) -> DbtRun:
    """`dbt <args>` run by dbtRunner in this process, in `cwd` with exactly `env`, as the process would be.

    The return code is the dbt CLI's (0 success, 1 a node failed, 2 dbt could not run) and the output its console
    log. dbt-duckdb keeps its database open between invocations of one process; it is closed after each, so that
    the test reads the file (and the next workspace's dbt opens its own file, the same relative path)."""
    from dbt.adapters.duckdb.connections import DuckDBConnectionManager
    from dbt.cli.main import dbtRunner
    from dbt_common.events.functions import capture_stdout_logs, stop_capture_stdout_logs

    saved_env, saved_cwd, stream = dict(os.environ), os.getcwd(), io.StringIO()
    os.environ.clear()
    os.environ.update(env)
    os.chdir(cwd)
    capture_stdout_logs(stream)
    try:
        result = dbtRunner().invoke(list(args))
    finally:
        stop_capture_stdout_logs()
        with DuckDBConnectionManager._LOCK:
            if DuckDBConnectionManager._ENV is not None:
                DuckDBConnectionManager._ENV.close()
                DuckDBConnectionManager._ENV = None
        os.chdir(saved_cwd)
        os.environ.clear()
        os.environ.update(saved_env)
    output = stream.getvalue()
    if result.exception is not None:
        output += f"\n{type(result.exception).__name__}: {result.exception}\n"
    return DbtRun(0 if result.success else 2 if result.exception is not None else 1, output)


#: dbt's arguments that leave out the generic data tests (Workspace(generic_tests=False) adds them to its builds; a
#: `segments build` or a dbt process of a test's own takes them after its other arguments)
NO_GENERIC_TESTS = ("--exclude", "test_type:generic")


@dataclass
class Workspace:
    """A raw-data folder, a warehouse file and private dbt target/log folders."""

    root: Path
    #: run dbt's unit tests in builds; they test model logic on fixed rows, not the data, so the shared demo
    #: build runs them and the other workspaces leave them out (about 10 s per build)
    unit_tests: bool = False
    #: run the generic data tests (not_null, unique, accepted values, relationships: about 400) in builds and
    #: `dbt test`. They check the models' contracts on the data, about 10 s a build, most of it dbt's per-node
    #: overhead. The shared demo builds, the incremental and bad-input modules run them; a module
    #: whose several builds only make the history its own assertions read turns them off (singular tests still run)
    generic_tests: bool = True
    #: write dbt's debug log file (logs/dbt.log). Off unless a module reads it: every line goes through a
    #: rotating file handler, and a tiny build took 43.6 s of CPU without the file against 49.2 s with it (means of
    #: six alternating builds each, 2026-12-07); console output (DbtRun.output) is kept either way
    debug_log: bool = False
    raw: Path = field(init=False)
    truth: Path = field(init=False)
    database: Path = field(init=False)
    #: the project folder, --vars and --target of this workspace's partial-parse file (None: it has none yet)
    _parsed_with: tuple[str, str, str] | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        self.raw = self.root / "raw"
        self.truth = self.root / "ground_truth"
        self.database = self.root / "warehouse" / "segments.duckdb"
        self.raw.mkdir(parents=True, exist_ok=True)
        self.database.parent.mkdir(parents=True, exist_ok=True)

    def env(self) -> dict[str, str]:
        """dbt's environment for this workspace (dbt_runner.dbt_env), on the repository's profiles.yml."""
        env = dbt_env(
            SEGMENTS_RAW_PATH=str(self.raw),
            SEGMENTS_DUCKDB_PATH=str(self.database),
            DBT_PROFILES_DIR=str(REPO_ROOT),
        )
        if self.unit_tests:
            env.pop("DBT_EXCLUDE_RESOURCE_TYPES", None)
        else:
            env["DBT_EXCLUDE_RESOURCE_TYPES"] = "unit_test"
        return env

    def dbt_arguments(self, *args: str) -> tuple[str, ...]:
        """dbt's arguments (after the executable) for `args` in this workspace: its project, target and log folders."""
        if not self.generic_tests and args and args[0] in ("build", "test"):
            args = (*args, *NO_GENERIC_TESTS)
        if not self.debug_log:
            args = (*args, "--log-level-file", "none")
        project = () if "--project-dir" in args else ("--project-dir", str(REPO_ROOT))  # a test's copy of the project
        return (*args, *project, "--target-path", str(self.root / "target"), "--log-path", str(self.root / "logs"))

    def dbt_environment(self) -> dict[str, str]:
        """dbt's environment here, run in the workspace folder: its paths relative to it, so that every workspace's
        dbt sees the same settings and can start from a parse another one made (_PARSES)."""
        return {**self.env(), **PARSE_STABLE_PATHS}

    def dbt(self, *args: str) -> DbtRun:
        arguments = self.dbt_arguments(*args)
        saved, settings = self.root / "target" / "partial_parse.msgpack", _parse_settings(args)
        cached = _PARSES.get(settings)
        if cached is not None and self._parsed_with != settings:
            saved.parent.mkdir(parents=True, exist_ok=True)
            saved.write_bytes(cached)
        env = self.dbt_environment()
        if DBT_IN_PROCESS and dbt_target(args, env) == "dev":
            done = _dbt_in_process(list(arguments), cwd=self.root, env=env)
        else:
            process = subprocess.run(dbt_command(*arguments, env=env), cwd=self.root, env=env, capture_output=True, text=True)
            done = DbtRun(process.returncode, process.stdout + process.stderr)
        if saved.exists():
            self._parsed_with = settings
            if settings not in _PARSES:
                _PARSES[settings] = saved.read_bytes()
        return done

    def query(self, sql: str, parameters: list | None = None) -> list[tuple]:
        with duckdb.connect(str(self.database), read_only=True) as connection:
            return connection.execute(sql, parameters or []).fetchall()

    def scalar(self, sql: str, parameters: list | None = None):
        return self.query(sql, parameters)[0][0]

    def copy(self, root: Path) -> Workspace:
        """A new workspace at `root` with this one's raw files (copy2: each keeps its mtime) and warehouse file,
        for a test that builds on top of a shared build without changing it."""
        copy = Workspace(root, generic_tests=self.generic_tests, debug_log=self.debug_log)
        shutil.copytree(self.raw, copy.raw, dirs_exist_ok=True)
        shutil.copy(self.database, copy.database)
        return copy


@pytest.fixture
def workspace(tmp_path: Path) -> Workspace:
    return Workspace(tmp_path)


@dataclass
class DemoBuild:
    workspace: Workspace
    manifest: dict
    build: DbtRun


@pytest.fixture(scope="session")
def demo_build(tmp_path_factory: pytest.TempPathFactory) -> DemoBuild:
    """One full `dbt build` on generated data with every injected fault (session-wide: it is the slow part)."""
    from customer_segments.generate import generate

    space = Workspace(tmp_path_factory.mktemp("demo"), unit_tests=True)
    manifest = generate(space.raw, space.truth, events=20_000, seed=7, progress=False)
    # no erasure requests in the shared build: its tests compare staging and aggregates with the generator's
    # counts, which an end-of-build purge would change; erasure has its own builds (test_privacy_erasure.py)
    requests = space.raw / "erasure_requests.csv"
    requests.write_text(requests.read_text().splitlines()[0] + "\n")
    build = space.dbt("build")
    return DemoBuild(space, manifest, build)


@pytest.fixture(scope="module")
def passed_demo_build(demo_build: DemoBuild) -> DemoBuild:
    """The shared demo build, checked to have passed: a test reading its tables would otherwise fail for the wrong reason."""
    assert demo_build.build.returncode == 0, demo_build.build.output[-5000:]
    return demo_build


@pytest.fixture(scope="module")
def demo_warehouse(passed_demo_build: DemoBuild):
    """The demo build's warehouse, open read-only (the access export, explain)."""
    with duckdb.connect(str(passed_demo_build.workspace.database), read_only=True) as connection:
        yield connection


#: The identifier types every person of demo_people has.
REQUIRED_TYPES = ("anonymous_id", "user_id", "email")


@pytest.fixture(scope="module")
def demo_people(passed_demo_build: DemoBuild) -> dict[str, list[dict]]:
    """Ground-truth identifiers of the demo build's people that a lookup (access export, explain) can be tested on.

    Not erased, no trap values, all in one linkable group (the data can link
    them), with an anonymous id, a user id and an email, and no identifier
    whose only record the generator broke on purpose (faults.csv: e.g. a CRM
    row with an invalid email is quarantined, so the project never holds its
    contact id outside quarantined_rows).
    """
    folder = passed_demo_build.workspace.truth
    erased = {row["person_id"] for row in csv.DictReader((folder / "people.csv").open()) if row["is_erased"] == "true"}
    faulted = {row["record_id"] for row in csv.DictReader((folder / "faults.csv").open()) if row["record_id"]}
    people: dict[str, list[dict]] = defaultdict(list)
    for row in csv.DictReader((folder / "identifiers.csv").open()):
        if row["person_id"]:
            people[row["person_id"]].append(row)
    return {
        person: rows
        for person, rows in people.items()
        if person not in erased
        and not any(row["is_trap"] == "true" or row["identifier_value"] in faulted for row in rows)
        and len({row["linkable_group"] for row in rows}) == 1
        and all(any(row["identifier_type"] == kind for row in rows) for kind in REQUIRED_TYPES)
    }


def picks(people: dict[str, list[dict]]) -> list[str]:
    """A few of demo_people with the most kinds of identifiers, and one who was aliased (two user ids)."""
    def richness(person: str):
        rows = people[person]
        return (-len({row["identifier_type"] for row in rows}), -len(rows), person)

    ranked = sorted(people, key=richness)
    aliased = [p for p in ranked if sum(row["identifier_type"] == "user_id" for row in people[p]) > 1]
    return list(dict.fromkeys(ranked[:3] + aliased[:1]))


def identity_only(connection: duckdb.DuckDBPyConnection, rows: list[tuple[str, str, str]]) -> None:
    """A hand-made warehouse holding only the identity graph: (person_id, identifier_type, identifier_value) rows."""
    connection.execute(
        "create table int_identity_person_ids (person_id varchar, identifier_type varchar, identifier_value varchar,"
        " first_seen_at timestamp, last_seen_at timestamp)"
    )
    for person_id, kind, value in rows:
        connection.execute(
            "insert into int_identity_person_ids values (?, ?, ?, timestamp '2026-10-01 10:00:00',"
            " timestamp '2026-10-02 11:30:00.250')",
            [person_id, kind, value],
        )


@pytest.fixture(scope="session")
def demo_200k(tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    """What bin/demo builds: 200k events, seed 42, every fault and trap (session-wide)."""
    from customer_segments.generate import generate

    space = Workspace(tmp_path_factory.mktemp("demo_200k"))
    generate(space.raw, space.truth, events=200_000, seed=42, progress=False)
    run = space.dbt("build")
    assert run.returncode == 0, run.output[-5000:]
    return space


def append_csv(path: Path, *lines: str) -> None:
    """Append rows (already CSV text) to a raw file, as a producer adding records does."""
    with path.open("a", encoding="utf-8") as handle:
        handle.write("".join(line + "\n" for line in lines))


def read_manifest(truth: Path) -> dict:
    return json.loads((truth / "manifest.json").read_text())



def serving_page_columns() -> dict[str, str]:
    """docs/serving.md's "Columns and types" table: each published table's column definitions, as DuckDB DDL."""
    page = (REPO_ROOT / "docs" / "serving.md").read_text(encoding="utf-8")
    section = page.split("## Columns and types", 1)[1].split("\n## ", 1)[0]
    tables = {}
    for table, columns in re.findall(r"^\| `(\w+)` \| (`.*) \|$", section, flags=re.M):
        tables[table] = ", ".join(
            f'"{name}" {kind}' for name, kind in re.findall(r"`(\w+)` ([a-z]+(?:\(\d+,\d+\))?)", columns)
        )
    return tables


#: The slowest modules (bin/test's durations), started first so that the two workers finish together
#: instead of one running a long module alone at the end. Order: slowest first.
SLOW_MODULES = (
    "test_pipeline_spark", "test_segment_history", "test_consent_suppressions",
    "test_build_identity", "test_privacy_erasure", "test_identity_stability", "test_incremental_equivalence",
    "test_serving", "test_quality_gate", "test_warehouse_inputs", "test_input_errors", "test_raw_containment",
)


#: The modules that use a slow session build, by build: bin/test's scheduler keeps each set on one worker, so the
#: build is made once per run, not once per worker (test_suite_layout checks these sets against the fixtures used,
#: directly or through the fixtures above built on them).
SHARED_BUILDS = {
    "demo_200k": ("test_identity_graph", "test_scores_personas", "test_segment_personas"),
    "demo_build": (
        "test_access_export", "test_activation", "test_build_audit", "test_explain",
        "test_privacy_retention_pseudonymization", "test_report", "test_segment_overlaps", "test_segment_suggestions",
        "test_sensitive_attributes", "test_serving", "test_serving_bi", "test_staging_ground_truth", "test_persona_layers",
    ),
}
_WORKER_GROUP = {module: build for build, modules in SHARED_BUILDS.items() for module in modules}


#: `bin/test --quick` (pytest -m quick), for development: the modules of Python unit tests, and test_docs_coverage,
#: whose one small end-to-end build (seed, run, docs generate on a few hand-made rows) checks the whole project
#: compiles and runs. A test of these modules that uses a shared session build is left out (its build takes minutes).
QUICK_MODULES = (
    "test_docs_coverage", "test_bgnbd", "test_purchase_history", "test_quality_suite", "test_predictions_odd_histories",
    "test_segment_suggestions", "test_generate", "test_cli_build_arguments", "test_serving", "test_access_export",
    "test_explain", "test_bench_pipeline", "test_suite_layout", "test_package_imports", "test_docs_links",
    "test_serving_bi", "test_freshness_line", "test_warehouse_memory", "test_activation", "test_spark_python",
)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark the quick tests (QUICK_MODULES) and run the slow modules first (a stable sort: the order within a
    module is kept)."""
    for item in items:
        if item.module.__name__.rsplit(".", 1)[-1] in QUICK_MODULES and not set(SHARED_BUILDS) & set(item.fixturenames):
            item.add_marker(pytest.mark.quick)
    rank = {name: position for position, name in enumerate(SLOW_MODULES)}
    items.sort(key=lambda item: rank.get(item.module.__name__.rsplit(".", 1)[-1], len(SLOW_MODULES)))


@pytest.hookimpl(optionalhook=True)  # a hook of pytest-xdist: absent under -p no:xdist
def pytest_xdist_make_scheduler(config: pytest.Config, log):
    """--dist loadfile, with the modules of one shared build as one unit (xdist's own loadgroup cannot be used:
    pytest-xdist 3.8 marks groups in Item._nodeid, which pytest 9 no longer reads)."""
    if config.getvalue("dist") != "loadfile":
        return None
    from xdist.scheduler import LoadFileScheduling

    class SharedBuildScheduling(LoadFileScheduling):
        def _split_scope(self, nodeid: str) -> str:
            path = nodeid.split("::", 1)[0]
            return _WORKER_GROUP.get(Path(path).stem, path)

    return SharedBuildScheduling(config, log)
