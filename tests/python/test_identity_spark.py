"""The identity graph's SQL runs on Spark and agrees with DuckDB (identity-graph issue: "it must also run on Spark").

The graph is tested on its own, row by row (test_pipeline_spark.py builds the whole pipeline on
Spark and compares the marts): DuckDB builds a small generated data set, its int_identity_sightings
(the only input of the identity models that is not a seed) goes to Parquet, and a local Spark
(dbt-spark `session` method, the `spark` target of profiles.yml) loads it, seeds
identity_junk_values and identity_edge_sources and runs the identity models twice, the second time
reading int_identity_person_ids' own previous state as a later build would.
A third run has identity_max_user_ids_per_person = 2 (a walk over the alias walk, which Spark planned
out of memory when its rounds were CTEs) on sightings with planted users: two that share an email
(joined at K = 2) and three chained by anonymous ids (three user ids: joined to nobody); DuckDB runs
the same, and the two must agree row by row.

Every Spark step runs in one helper process (this module run with -m): one JVM instead of one per
dbt command keeps the test well under three minutes. Its warehouse, Derby metastore, dbt target and
logs all live under pytest's tmp folder.
"""

from __future__ import annotations

import datetime
import importlib.util
import json
import os
import shutil
import subprocess
import sys
from collections import Counter, defaultdict
from pathlib import Path

import duckdb
import pytest

from customer_segments.bench.identity import GRAPH_MODELS
from customer_segments.dbt_runner import dbt_env
from tests.python.conftest import REPO_ROOT, Workspace

pytestmark = pytest.mark.spark

IDENTITY_MODELS = GRAPH_MODELS  # the six graph models, as the benchmark times them
SEEDS = ["identity_junk_values", "identity_edge_sources"]
# The graph's inputs from outside it: copied from the DuckDB build into Spark tables.
INPUT_MODELS = ["int_identity_sightings", "int_erasure_targets"]
SPARK_SCHEMA = "segments_spark_test"
# identity_max_user_ids_per_person = 2, on sightings with these planted (identify calls): k2-user-a and k2-user-b
# share an email (joined at K = 2); k2-user-c, -d and -e are chained by two anonymous ids (three users > 2: not joined)
K2_VARS = '{"identity_max_user_ids_per_person": 2}'
K2_PLANTED = [
    ("k2-user-a", "email", "k2-shared@example.com"),
    ("k2-user-b", "email", "k2-shared@example.com"),
    ("k2-user-c", "anonymous_id", "k2-anon-cd"),
    ("k2-user-d", "anonymous_id", "k2-anon-cd"),
    ("k2-user-d", "anonymous_id", "k2-anon-de"),
    ("k2-user-e", "anonymous_id", "k2-anon-de"),
]
# Tiny data: a few shuffle partitions instead of 200, no web UI.
SPARK_SUBMIT_ARGS = "--conf spark.sql.shuffle.partitions=2 --conf spark.ui.enabled=false pyspark-shell"


def plain(value):
    """A cell as JSON can carry it and both engines give it (timestamps as ISO text)."""
    if isinstance(value, (datetime.datetime, datetime.date)):
        return value.isoformat()
    return value


# ------------------------------------------------------------------ the Spark side (helper process)

def run_on_spark(inputs: Path, out: Path, work: Path) -> None:
    """Seed, load the inputs (one parquet file per model in INPUT_MODELS), run the identity models twice; write every model's rows to `out`."""
    from dbt.cli.main import dbtRunner

    runner = dbtRunner()

    def dbt(*args: str) -> None:
        result = runner.invoke([*args, "--project-dir", str(REPO_ROOT),
                                "--target-path", str(work / "target"), "--log-path", str(work / "logs")])
        if not result.success:
            sys.exit(f"dbt {' '.join(args)} failed on Spark: {result.exception or 'see the output above'}")

    dbt("seed", "--select", *SEEDS)  # starts the Spark session with the profile's settings

    from pyspark.sql import SparkSession

    spark = SparkSession.builder.getOrCreate()  # the session dbt started
    nodes = json.loads((work / "target" / "manifest.json").read_text())["nodes"]

    def relation(model: str) -> str:
        node = nodes[f"model.customer_segments.{model}"]
        return f"{node['schema']}.{node['alias']}"

    for model in INPUT_MODELS:
        table = relation(model)
        spark.sql(f"create schema if not exists {table.split('.')[0]}")
        spark.read.parquet(str(inputs / f"{model}.parquet")).write.saveAsTable(table)

    def snapshot() -> dict:
        tables = {}
        for model in IDENTITY_MODELS:
            frame = spark.table(relation(model))
            tables[model] = {"columns": frame.columns,
                             "rows": [[plain(cell) for cell in row] for row in frame.collect()]}
        return tables

    dbt("run", "--select", *IDENTITY_MODELS)
    first = snapshot()
    dbt("run", "--select", *IDENTITY_MODELS)  # int_identity_person_ids now reads its previous ids
    second = snapshot()
    # K = 2 on the sightings with the planted users
    spark.read.parquet(str(inputs / "int_identity_sightings_k2.parquet")).write.mode("overwrite").saveAsTable(
        relation("int_identity_sightings") + "_k2")
    spark.sql(f"insert overwrite table {relation('int_identity_sightings')} select * from {relation('int_identity_sightings')}_k2")
    dbt("run", "--select", *[model for model in IDENTITY_MODELS if model != "int_identity_sightings"], "--vars", K2_VARS)
    k2 = snapshot()
    out.write_text(json.dumps({"first": first, "second": second, "k2": k2}))


# ------------------------------------------------------------------ the test

def require_spark() -> None:
    """pyspark and Java are part of the project's setup: their absence fails the test, it does not skip it."""
    if importlib.util.find_spec("pyspark") is None:
        pytest.fail("pyspark is not installed in this environment; run bin/setup (requirements.txt pins it)")
    java = shutil.which("java", path=os.path.join(os.environ["JAVA_HOME"], "bin")) if os.environ.get("JAVA_HOME") else None
    if not (java or shutil.which("java")):
        pytest.fail("Java (17) is needed for the Spark target: no java on PATH or in JAVA_HOME")


def run_spark_helper(module: str, args: list[str], work: Path, schema: str, timeout: int = 900, **env_vars: str) -> None:
    """Run `python -m module args` as the Spark helper process: the spark target, its schema, and a
    warehouse, Derby metastore and working directory of its own under `work`."""
    work.mkdir(parents=True, exist_ok=True)
    env = dbt_env(
        SEGMENTS_TARGET="spark",
        SEGMENTS_SPARK_SCHEMA=schema,
        SEGMENTS_SPARK_WAREHOUSE=str(work / "warehouse"),
        SEGMENTS_SPARK_METASTORE=str(work / "metastore"),
        DBT_PROFILES_DIR=str(REPO_ROOT),
        PYSPARK_SUBMIT_ARGS=SPARK_SUBMIT_ARGS,
        PYTHONPATH=os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")])),
        **env_vars,
    )
    # cwd: anything Spark still writes to its working directory stays out of the repository
    done = subprocess.run([sys.executable, "-m", module, *args], cwd=work, env=env, capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, (done.stdout + done.stderr)[-8000:]


def duckdb_tables(space: Workspace) -> dict:
    tables = {}
    for model in IDENTITY_MODELS:
        columns = [row[0] for row in space.query(f"select column_name from (describe {model})")]
        rows = [[plain(cell) for cell in row] for row in space.query(f"select * from {model}")]
        tables[model] = {"columns": columns, "rows": rows}
    return tables


def as_counter(rows: list[list], columns: list[str], keep: list[str] | None = None) -> Counter:
    picked = [columns.index(name) for name in keep] if keep else range(len(columns))
    return Counter(tuple(row[i] for i in picked) for row in rows)


@pytest.fixture(scope="module")
def engines(tmp_path_factory: pytest.TempPathFactory) -> dict:
    require_spark()
    from customer_segments.generate import generate

    space = Workspace(tmp_path_factory.mktemp("identity_spark"))
    generate(space.raw, space.truth, events=5_000, seed=7, progress=False)
    # no erasure here: the DuckDB build would purge erased people's graph rows at its end (leaving gaps in the
    # node numbering) after Spark's input was read from the same sightings; erasure has its own tests
    for path in space.raw.glob("erasure_requests.*"):
        path.unlink()
    # the graph, everything it reads, and the tests of those models alone (cautious: a test that also reads a
    # model outside the selection, such as attribution's, would fail on a table this build never makes)
    run = space.dbt("build", "--select", "+int_identity_person_ids", "--indirect-selection", "cautious")
    assert run.returncode == 0, run.output[-5000:]
    inputs = space.root / "inputs"
    inputs.mkdir()
    for model in INPUT_MODELS:
        space.query(f"copy {model} to '{inputs / (model + '.parquet')}' (format parquet)")
    first = duckdb_tables(space)
    # K = 2 on DuckDB: the planted users added to the sightings, the graph run again (its previous ids: the first run's)
    columns = [row[0] for row in space.query("select column_name from (describe int_identity_sightings)")]
    for user_id, partner_type, partner_value in K2_PLANTED:
        values = {"source": "identify", "identifier_type": "user_id", "identifier_value": user_id, "partner_type": partner_type,
                  "partner_value": partner_value, "sightings": 1, "first_seen_at": "2026-10-01 00:00:00",
                  "last_seen_at": "2026-10-01 00:00:00"}
        with duckdb.connect(str(space.database)) as connection:
            connection.execute(f"insert into int_identity_sightings ({', '.join(values)}) values ({', '.join('?' for _ in values)})",
                               list(values.values()))
    space.query(f"copy int_identity_sightings to '{inputs / 'int_identity_sightings_k2.parquet'}' (format parquet)")
    k2_run = space.dbt("run", "--select", *[model for model in IDENTITY_MODELS if model != "int_identity_sightings"], "--vars", K2_VARS)
    assert k2_run.returncode == 0, k2_run.output[-5000:]
    assert set(columns) >= {"source", "identifier_type", "identifier_value", "partner_type", "partner_value"}

    work = space.root / "spark"
    out = work / "tables.json"
    run_spark_helper("tests.python.test_identity_spark", [str(inputs), str(out), str(work)], work, SPARK_SCHEMA)
    spark = json.loads(out.read_text())
    return {"duckdb": first, "spark": spark["first"], "spark_again": spark["second"],
            "duckdb_k2": duckdb_tables(space), "spark_k2": spark["k2"]}


@pytest.mark.parametrize("model", IDENTITY_MODELS)
def test_spark_builds_every_identity_model_as_duckdb_does(engines: dict, model: str):
    duck, spark = engines["duckdb"][model], engines["spark"][model]
    assert spark["columns"] == duck["columns"]
    assert len(duck["rows"]) > 0
    expected, got = as_counter(duck["rows"], duck["columns"]), as_counter(spark["rows"], spark["columns"])
    assert got == expected, f"{model}: only on DuckDB {list((expected - got).items())[:5]}, only on Spark {list((got - expected).items())[:5]}"


def test_person_ids_agree_across_engines_and_a_second_spark_build_keeps_them(engines: dict):
    keep = ["identifier_type", "identifier_value", "person_id"]
    duck, again = engines["duckdb"]["int_identity_person_ids"], engines["spark_again"]["int_identity_person_ids"]
    assert as_counter(again["rows"], again["columns"], keep) == as_counter(duck["rows"], duck["columns"], keep)
    # the second build read the first one's ids (Spark copies them aside first): every id was kept
    history = as_counter(again["rows"], again["columns"], ["previous_person_id", "person_id", "id_origin"])
    assert {(previous == person, origin) for previous, person, origin in history} == {(True, "kept")}


@pytest.mark.parametrize("model", IDENTITY_MODELS)
def test_spark_builds_the_graph_with_two_user_ids_per_person_as_duckdb_does(engines: dict, model: str):
    duck, spark = engines["duckdb_k2"][model], engines["spark_k2"][model]
    expected, got = as_counter(duck["rows"], duck["columns"]), as_counter(spark["rows"], spark["columns"])
    assert got == expected, f"{model}: only on DuckDB {list((expected - got).items())[:5]}, only on Spark {list((got - expected).items())[:5]}"


def test_two_user_ids_per_person_joins_the_planted_pair_and_not_the_chain_of_three(engines: dict):
    groups = {}
    for engine in ("spark_k2", "spark"):
        table = engines[engine]["int_identity_user_groups"]
        groups[engine] = {user_id: group for user_id, group in as_counter(table["rows"], table["columns"], ["user_id", "user_group_id"])}
    k2 = groups["spark_k2"]
    assert k2["k2-user-a"] == k2["k2-user-b"]  # one email, two users: one person at K = 2
    assert len({k2["k2-user-c"], k2["k2-user-d"], k2["k2-user-e"]}) == 3  # three users chained: over the limit, not joined
    assert "k2-user-a" not in groups["spark"]  # planted for the K = 2 run only
    # nothing else moved: the other users are grouped as in the K = 1 run (node ids may shift: compared as sets)

    def grouped(by_user: dict) -> set:
        members = defaultdict(set)
        for user, group in by_user.items():
            if not user.startswith("k2-"):
                members[group].add(user)
        return {frozenset(users) for users in members.values()}

    assert grouped(k2) == grouped(groups["spark"])


if __name__ == "__main__":
    run_on_spark(Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3]))
