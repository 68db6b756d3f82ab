"""The whole pipeline builds on Spark and agrees with DuckDB (scale issue, part 3).

One small generated data set (gzipped JSON lines with every fault and trap, in a nested folder as
Segment's S3 destination writes them, next to a hidden folder both engines skip; CSV flat files) is built
twice from the same raw folder with the same vars: `dbt build` on DuckDB (the dev target) and on a
local Spark (the spark target: dbt-spark's session method), staging included, so Spark reads the raw
files itself. Then the marts must agree: the same people (as sets of their plain-text identifiers,
and with the same person ids, which are hashes of roots), segment members with their holdout flag,
segments, the engine-independent scores, quarantine down to the line, row accounting,
data-quality verdicts and erasure.

The dbt Python models (the Great Expectations suite, the purchase history and predictions, the
suggested segments) run on Spark too, in dbt's own SparkSession (customer_segments.warehouse.spark_python,
which the helper registers as `segments build` does): their tables must agree with DuckDB's as well,
p_alive and the expected purchases and spend within PREDICTION_TOLERANCE.

The Spark build runs in one helper process (this module with -m), as in test_identity_spark, whose
helpers it uses. It leaves out the generic data tests and dbt's unit tests (SPARK_EXCLUDE).
"""

from __future__ import annotations

import gzip
import json
import shutil
import sys
import time
from collections import Counter, defaultdict
from datetime import datetime, timedelta
from pathlib import Path
from urllib.parse import quote

import pytest

from tests.python.conftest import REPO_ROOT, Workspace
from tests.python.test_identity_spark import as_counter, plain, require_spark, run_spark_helper
from tests.python.test_privacy_erasure import ESCAPED_MENTION, MENTION_PREFIX, erased_identifiers, plant_mentions

pytestmark = pytest.mark.spark

SPARK_SCHEMA = "segments_pipeline_test"
VARS = json.dumps({"as_of": "2026-11-01 00:00:00"})
# Left out of the Spark build to keep this test short; all of them pass on Spark too:
# - the generic data tests (not_null, unique, accepted values: about 300 of them, two minutes on Spark);
#   the comparison below checks the same tables against DuckDB's, where they all run;
# - dbt's unit tests (about a minute on Spark): they check model logic on fixed rows, which the shared
#   DuckDB demo build (conftest demo_build) runs; the comparison below checks every model's output on both.
SPARK_EXCLUDE = ["test_type:generic", "test_type:unit"]
TABLES = [
    "people", "int_identity_person_ids", "person_identifiers", "segments", "segment_members", "person_scores",
    "quarantined_rows", "int_source_rows_accounted", "dq_results", "erasure_log",
    "person_purchase_history", "person_predictions", "segment_suggestions",
]
PYTHON_MODELS = {"int_dq_checks", "person_purchase_history", "person_predictions", "segment_suggestions"}
# Both engines hand the same purchase histories (compared exactly below) to the same function
# (customer_segments.scoring.bgnbd.predict), which fits on its rows in a fixed order whatever order
# they arrive in: the predictions can only differ by floating-point noise of the two engines' pandas
# conversions, so a relative 1e-9 is room for that noise and far below any difference that matters
# (p_alive is read against thresholds like 0.5).
PREDICTION_TOLERANCE = 1e-9
# A page event of someone not erased whose only mention of an erased email is URL-encoded, in its referrer: the
# purge finds it only in the URL-decoded text.
URL_ONLY_MENTION = "url-only-mention"
# The events the purge must redact, not delete (other people's), as both engines leave them.
MENTION_ROWS = ("select message_id, properties, page_url, page_referrer from {table} "
                f"where message_id like '{MENTION_PREFIX}%' or message_id in ('{ESCAPED_MENTION}', '{URL_ONLY_MENTION}')")
# Line numbering in parallel (macro spark_numbered_lines): a file read in blocks this small is read in many.
NUMBERING_BLOCK_BYTES = 16 * 1024


# ------------------------------------------------------------------ the Spark side (helper process)

def run_on_spark(out: Path, work: Path) -> None:
    """`dbt build` on Spark; write the compared tables and the models built to `out`."""
    from dbt.cli.main import dbtRunner

    from customer_segments.warehouse.spark_python import register

    paths = ["--project-dir", str(REPO_ROOT), "--target-path", str(work / "target"), "--log-path", str(work / "logs")]
    # first as a plain `dbt build` (no session method registered): it must stop before anything runs
    plain_dbt = dbtRunner().invoke(["build", "--select", "person_predictions", "--vars", VARS, *paths])
    log = work / "logs" / "dbt.log"  # where dbt writes a failed hook's message, whatever it returns
    plain_text = " ".join([str(plain_dbt.exception or "")] + [str(getattr(r, "message", "") or "") for r in (plain_dbt.result or [])]
                          + [log.read_text(errors="replace")[-20_000:] if log.exists() else ""])
    plain_built = [r.node.unique_id for r in (plain_dbt.result or [])
                   if r.node.unique_id.startswith("model.") and str(r.status) == "success"]

    register()  # the Python models' submission method, as `segments build` does (python -m ...spark_python)
    result = dbtRunner().invoke(["build", "--vars", VARS, "--exclude", *SPARK_EXCLUDE, *paths])
    if not result.success:
        sys.exit(f"dbt build failed on Spark: {result.exception or 'see the output above'}")

    from pyspark.sql import SparkSession

    spark = SparkSession.builder.getOrCreate()  # the session dbt started
    nodes = json.loads((work / "target" / "manifest.json").read_text())["nodes"]

    def relation(model: str) -> str:
        node = nodes[f"model.customer_segments.{model}"]
        return f"{node['schema']}.{node['alias']}"

    tables = {}
    for model in TABLES:
        frame = spark.table(relation(model))
        tables[model] = {"columns": frame.columns, "rows": [[number(plain(cell)) for cell in row] for row in frame.collect()]}
    mentions = [list(row) for row in spark.sql(MENTION_ROWS.format(table=relation("int_events_deduplicated"))).collect()]
    erased_forms = json.loads((work / "erased_forms.json").read_text())
    built = sorted(r.node.unique_id.split(".")[-1] for r in result.result if r.node.unique_id.startswith("model."))
    out.write_text(json.dumps({"tables": tables, "models": built, "mentions": mentions,
                               "traces": spark_traces(spark, erased_forms), "numbering": numbering_in_blocks(spark, work, paths),
                               "plain_dbt": {"success": plain_dbt.success, "text": plain_text, "built": plain_built}}))


def spark_traces(spark, forms: list[str]) -> list[list[str]]:
    """[table, value] for every table of the build whose string columns hold one of `forms` (lower-case), in one
    query (test_privacy_erasure.traces scans DuckDB's tables and views)."""
    from pyspark.sql.types import StringType

    spark.createDataFrame([(form,) for form in forms], "value string").createOrReplaceTempView("erased_forms")
    selects = []
    for database in spark.catalog.listDatabases():
        if not database.name.startswith(SPARK_SCHEMA):
            continue
        for table in spark.catalog.listTables(database.name):
            if table.tableType == "VIEW" or table.isTemporary:
                continue  # views read the tables scanned here (or raw files, filtered by staging; the request view names the erased)
            name = f"{database.name}.{table.name}"
            columns = [f"lower(`{field.name}`)" for field in spark.table(name).schema.fields if isinstance(field.dataType, StringType)]
            if columns:
                selects.append(f"select distinct '{name}' as table_name, erased_forms.value from {name} "
                               f"inner join erased_forms on instr(concat_ws(chr(10), {', '.join(columns)}), erased_forms.value) > 0")
    assert len(selects) > 50, selects  # every table of the build, not a wrong schema name
    started = time.monotonic()
    found = sorted([list(row) for row in spark.sql(" union all ".join(selects)).collect()])
    print(f"traces: {len(selects)} tables scanned in {time.monotonic() - started:.1f} s", flush=True)
    return found


def numbering_in_blocks(spark, work: Path, paths: list[str]) -> dict:
    """Lines numbered by macro spark_numbered_lines in a file Spark reads in many blocks (and its .gz, one
    block), empty lines included and, with skip_empty, left out: {case: [blocks read, [[line number, line], ...]]}."""
    from dbt.cli.main import dbtRunner

    folder = work / "numbering"
    folder.mkdir()
    # lines of many lengths (some longer than a block), empty and blank ones, a run of empty lines at a block's edge
    lines = [("x" * (i % 97)) + f" line {i}" if i % 11 else "" for i in range(1, 6001)]
    lines[10:14] = ["", "", "   ", ""]
    lines[2000] = "y" * (3 * NUMBERING_BLOCK_BYTES)
    text = "\n".join(lines) + "\n"
    (folder / "lines.txt").write_text(text)
    (folder / "lines.txt.gz").write_bytes(gzip.compress(text.encode()))
    (folder / "expected.json").write_text(json.dumps(lines))
    cases = {"plain": ("lines.txt", False), "plain_skip_empty": ("lines.txt", True), "gz": ("lines.txt.gz", False)}
    found = {}
    previous = spark.conf.get("spark.sql.files.maxPartitionBytes")
    spark.conf.set("spark.sql.files.maxPartitionBytes", str(NUMBERING_BLOCK_BYTES))
    try:
        for case, (name, skip_empty) in cases.items():
            path = str(folder / name)
            inline = (f"select line_number, raw_line from {{{{ customer_segments.spark_numbered_lines('{path}', skip_empty={skip_empty}) }}}} "
                      "as numbered")
            compiled = dbtRunner().invoke(["compile", "--inline", inline, "--vars", VARS, *paths])
            if not compiled.success:
                sys.exit(f"dbt compile --inline failed on Spark: {compiled.exception}")
            sql = compiled.result.results[0].node.compiled_code
            blocks = spark.sql(f"select count(distinct block_start) from (select input_file_block_start() as block_start from text.`{path}`)").collect()[0][0]
            found[case] = [blocks, sorted([row[0], row[1]] for row in spark.sql(sql).collect())]
    finally:
        spark.conf.set("spark.sql.files.maxPartitionBytes", previous)
    return found


def number(value):
    """Decimals as floats, as DuckDB's rows are read here too."""
    return float(value) if type(value).__name__ == "Decimal" else value


# ------------------------------------------------------------------ the test

@pytest.fixture(scope="module")
def engines(tmp_path_factory: pytest.TempPathFactory) -> dict:
    require_spark()
    from customer_segments.generate import generate

    space = Workspace(tmp_path_factory.mktemp("pipeline_spark"))
    generate(space.raw, space.truth, events=4_000, people=300, seed=11, gzip=True, progress=False)
    # other people's events that mention an erased person (test_privacy_erasure's, plus one whose only mention
    # is URL-encoded), as an uncompressed file beside the .gz ones; the purge must redact them on both engines
    identifiers = erased_identifiers(space.truth)
    planted = plant_mentions(space, identifiers)
    email = next(value for identifier_type, value in identifiers if identifier_type == "email")
    mentions = space.raw / "events" / "zz-mentions.jsonl"
    url_only = json.loads(mentions.read_text().splitlines()[0])
    url_only.update(messageId=URL_ONLY_MENTION, properties={})
    url_only["context"]["page"] = {"url": "https://shop.example/", "referrer": f"https://mail.example/open?to={quote(email, safe='')}"}
    for stamp in ("timestamp", "sentAt", "receivedAt"):  # 40 minutes later: not a double fire of the planted page
        if url_only.get(stamp):
            moved = datetime.fromisoformat(url_only[stamp].replace("Z", "+00:00")) + timedelta(minutes=40)
            url_only[stamp] = moved.isoformat(timespec="milliseconds").replace("+00:00", "Z")
    mentions.write_text(mentions.read_text() + json.dumps(url_only) + "\n")
    # Segment's S3 layout (events/<source>/<day>/<file>.gz) for the last file, and a hidden folder with a copy
    # of it that both engines must skip
    events = sorted(path for path in (space.raw / "events").iterdir() if path.is_file() and path != mentions)
    (space.raw / "events" / "_tmp").mkdir()
    shutil.copy(events[-1], space.raw / "events" / "_tmp" / events[-1].name)
    nested = space.raw / "events" / "src-1" / "1700006400000"
    nested.mkdir(parents=True)
    events[-1].rename(nested / events[-1].name)
    run = space.dbt("build", "--vars", VARS)
    assert run.returncode == 0, run.output[-5000:]
    duckdb = {}
    for model in TABLES:
        columns = [row[0] for row in space.query(f"select column_name from (describe {model})")]
        duckdb[model] = {"columns": columns, "rows": [[number(plain(cell)) for cell in row] for row in space.query(f"select * from {model}")]}
    results = json.loads((space.root / "target" / "run_results.json").read_text())["results"]
    duckdb_models = {r["unique_id"].split(".")[-1] for r in results if r["unique_id"].startswith("model.")}
    duckdb_mentions = [list(row) for row in space.query(MENTION_ROWS.format(table="int_events_deduplicated"))]

    work = space.root / "spark"
    work.mkdir()
    forms = sorted({form.lower() for _type, value in identifiers for form in (value, quote(value, safe=""))})
    (work / "erased_forms.json").write_text(json.dumps(forms))
    out = work / "tables.json"
    # the build, its purge and the checks after it take 6-10 minutes on a busy 2-core machine: room for twice that
    run_spark_helper("tests.python.test_pipeline_spark", [str(out), str(work)], work, SPARK_SCHEMA, timeout=1800,
                     SEGMENTS_RAW_PATH=str(space.raw))
    spark = json.loads(out.read_text())
    return {"event_files": len(events) + 1, "nested_file": f"events/src-1/1700006400000/{events[-1].name}",
            "duckdb": duckdb, "duckdb_models": duckdb_models, "spark": spark["tables"], "spark_models": set(spark["models"]),
            "plain_dbt": spark["plain_dbt"], "planted": planted, "email": email, "duckdb_mentions": duckdb_mentions,
            "spark_mentions": spark["mentions"], "spark_traces": spark["traces"], "numbering": spark["numbering"],
            "numbering_lines": json.loads((work / "numbering" / "expected.json").read_text())}


def rows(engines: dict, engine: str, model: str, keep: list[str]) -> Counter:
    table = engines[engine][model]
    return as_counter(table["rows"], table["columns"], keep)


def assert_same(engines: dict, model: str, keep: list[str]) -> Counter:
    duck, spark = rows(engines, "duckdb", model, keep), rows(engines, "spark", model, keep)
    assert spark == duck, f"{model}: only on DuckDB {list((duck - spark).items())[:5]}, only on Spark {list((spark - duck).items())[:5]}"
    return duck


def test_every_model_builds_on_spark(engines: dict):
    # the dbt Python models included: they run in dbt's SparkSession (customer_segments.warehouse.spark_python)
    assert engines["spark_models"] == engines["duckdb_models"]
    assert PYTHON_MODELS <= engines["spark_models"]


def test_plain_dbt_stops_before_the_python_models_and_says_what_to_run(engines: dict):
    # without the session submission method dbt-spark cannot run them; the on-run-start hook
    # require_spark_python_session stops the build first, naming the models and `segments build`
    plain = engines["plain_dbt"]
    assert not plain["success"] and plain["built"] == []
    assert "segments build" in plain["text"] and "person_predictions" in plain["text"], plain["text"][-2000:]


def test_same_people_same_identifiers_same_ids(engines: dict):
    def people(engine: str) -> dict:
        groups = defaultdict(set)
        for identifier_type, value, person_id in rows(engines, engine, "int_identity_person_ids", ["identifier_type", "identifier_value", "person_id"]):
            groups[person_id].add((identifier_type, value))
        return {person_id: frozenset(identifiers) for person_id, identifiers in groups.items()}

    duck, spark = people("duckdb"), people("spark")
    assert len(duck) > 100
    assert set(spark.values()) == set(duck.values())  # the same people, whatever their ids
    assert spark == duck  # and the same ids: hashes of the same roots
    assert_same(engines, "people", ["person_id", "account_id", "account_link_method", "email", "first_seen_at", "last_seen_at", "lifecycle_stage",
                                    "consent_analytics", "consent_marketing", "consent_personalization"])
    assert_same(engines, "person_identifiers", ["person_id", "identifier_type", "identifier_value", "first_seen_at", "last_seen_at"])


def test_same_segment_members_and_holdout(engines: dict):
    members = assert_same(engines, "segment_members", ["segment_id", "entity_type", "entity_id", "is_holdout", "priority", "is_primary"])
    assert len({key[0] for key in members}) >= 4, "too few segments with members to compare"
    assert any(key[3] for key in members), "no holdout member to compare"


def test_same_segments(engines: dict):
    keep = ["segment_id", "status", "member_count", "holdout_count", "entity_type", "priority", "goal", "definition_hash",
            "name", "profile", "suggested_rule"]
    catalog = assert_same(engines, "segments", keep)
    # the suggested segments (k-means, a dbt Python model) are there on both engines, with the same rules
    assert sum(1 for key in catalog if key[1] == "suggested") >= 3


def test_same_suggested_segments(engines: dict):
    exact = ["segment_id", "name", "entity_type", "status", "member_count", "profile", "suggested_rule"]
    suggested = assert_same(engines, "segment_suggestions", exact)
    assert len(suggested) >= 3, "too few suggestions to compare (segment_suggestions_k_min is 3)"
    close(engines, "segment_suggestions", "segment_id", ["share_of_people", "rule_coverage", "rule_precision"], 1e-9)


def close(engines: dict, model: str, key: str, columns: list[str], tolerance: float) -> int:
    """`columns` of `model` agree row by row (rows matched on `key`) within a relative `tolerance`, nulls
    where the other engine has nulls; the number of non-null values compared."""
    values = {engine: {row[0]: row[1:] for row in rows(engines, engine, model, [key, *columns])} for engine in ("duckdb", "spark")}
    assert values["spark"].keys() == values["duckdb"].keys(), model
    compared = 0
    for entity, duck in values["duckdb"].items():
        for name, d, s in zip(columns, duck, values["spark"][entity]):
            assert (d is None) == (s is None), (model, entity, name, d, s)
            if d is not None:
                assert abs(d - s) <= tolerance * max(1.0, abs(d)), (model, entity, name, d, s)
                compared += 1
    return compared


def test_same_scores(engines: dict):
    exact = ["person_id", "recency_days", "frequency", "monetary", "r_score", "f_score", "m_score", "rfm_segment",
             "is_activated", "first_activation_at"]
    scores = assert_same(engines, "person_scores", exact)
    assert sum(1 for key in scores if key[4] is not None) > 20, "too few buyers to compare RFM"
    close(engines, "person_scores", "person_id", ["engagement_score", "intent_score"], 1e-9)


def test_same_purchase_histories(engines: dict):
    history = assert_same(engines, "person_purchase_history", ["person_id", "frequency", "recency_days", "t_days", "monetary_value",
                                                                "first_purchase_at", "last_purchase_at"])
    assert sum(1 for key in history if key[1] > 0) > 20, "too few repeat buyers for the predictions to fit"


def test_same_predictions(engines: dict):
    # the contract columns of person_scores (filled on DuckDB, so filled on Spark: issue 25)
    predicted = ["p_alive", "expected_purchases_90d", "expected_spend_90d"]
    compared = close(engines, "person_scores", "person_id", predicted, PREDICTION_TOLERANCE)
    buyers = len(engines["duckdb"]["person_predictions"]["rows"])  # people with a completed order, profiled
    assert compared == 3 * buyers, f"{compared} predictions compared for {buyers} buyers: the fit was withheld on DuckDB"
    verdicts = {engine: Counter(str(key[0]).split(":")[0] for key in rows(engines, engine, "person_scores", ["fit_status"]).elements())
                for engine in ("duckdb", "spark")}
    assert verdicts["spark"] == verdicts["duckdb"]
    assert verdicts["duckdb"]["fitted"] == buyers
    close(engines, "person_predictions", "person_id", ["p_alive", "expected_purchases", "expected_spend"], PREDICTION_TOLERANCE)


def test_same_quarantine_and_row_accounting(engines: dict):
    by_reason = assert_same(engines, "quarantined_rows", ["source", "reason", "source_file", "line_number"])
    reasons = {(source, reason) for source, reason, _, _ in by_reason}
    assert ("events", "malformed_json") in reasons and len({source for source, _ in reasons}) >= 4
    accounted = assert_same(engines, "int_source_rows_accounted", ["source", "raw_rows", "usable_rows", "duplicate_rows", "quarantined_rows", "files_read"])
    # every events file was read once, the nested one included, the hidden folder's copy not at all
    assert [files for source, _, _, _, _, files in accounted if source == "events"] == [engines["event_files"]]
    assert engines["nested_file"] in {file for _, _, file, _ in by_reason}


def test_same_data_quality_verdicts(engines: dict):
    verdicts = assert_same(engines, "dq_results", ["expectation", "severity", "success", "threshold"])
    assert len(verdicts) >= 35
    # the SQL suite reports what Great Expectations reports (numbers to 6 significant digits)
    observed = {engine: dict(rows(engines, engine, "dq_results", ["expectation", "observed_value"]).keys())
                for engine in ("duckdb", "spark")}
    for expectation, duck in observed["duckdb"].items():
        spark = observed["spark"][expectation]
        if expectation == "events_staleness_hours":
            continue  # hours to each build's own start
        try:
            assert duck == spark or abs(float(duck) - float(spark)) <= 1e-5 * max(1.0, abs(float(duck))), expectation
        except (TypeError, ValueError):
            assert duck == spark, (expectation, duck, spark)


def test_same_erasure(engines: dict):
    erased = assert_same(engines, "erasure_log", ["identifier_type", "identifier_hash", "requested_at"])
    assert erased, "the generated data has erasure requests: the purge must have run on both engines"


def test_the_spark_purge_leaves_no_trace(engines: dict):
    # every string column of every table of the Spark build, for each erased value as written or URL-encoded
    assert engines["spark_traces"] == []


def test_the_spark_purge_redacts_other_peoples_mentions_as_duckdb_does(engines: dict):
    # the events stay, each with the same text on both engines: the erased values (as written, URL-encoded,
    # upper-case, JSON-escaped, or only URL-encoded) became [erased] and the rest of the text is kept
    expected = sorted(engines["planted"] + [ESCAPED_MENTION, URL_ONLY_MENTION])
    duck, spark = sorted(engines["duckdb_mentions"]), sorted(engines["spark_mentions"])
    assert [row[0] for row in duck] == expected
    assert spark == duck
    url_only = next(row for row in spark if row[0] == URL_ONLY_MENTION)
    assert url_only[3] == "https://mail.example/open?to=[erased]"
    assert all("[erased]" in row[1] for row in spark if row[0] != URL_ONLY_MENTION)


@pytest.mark.parametrize("case", ["plain", "plain_skip_empty", "gz"])
def test_lines_are_numbered_as_in_the_file_across_blocks(engines: dict, case: str):
    # the numbers Python's enumerate gives (1-based), empty lines counted or (skip_empty) left out first
    blocks, numbered = engines["numbering"][case]
    lines = engines["numbering_lines"]
    kept = [line for line in lines if line != ""] if case.endswith("skip_empty") else lines
    assert numbered == [[number, line] for number, line in enumerate(kept, start=1)]
    # many blocks, read in parallel, except the .gz file (one block: gzip cannot be split)
    assert blocks == 1 if case == "gz" else blocks >= 10, blocks


if __name__ == "__main__":
    run_on_spark(Path(sys.argv[1]), Path(sys.argv[2]))
