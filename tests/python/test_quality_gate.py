"""The data-quality gate: a bad load fails the build, is on record, and leaves segments as they were."""

from __future__ import annotations

import json
import re
import shutil

import pandas as pd
import pytest

from conftest import Workspace

from customer_segments import summary
from customer_segments.generate import generate

#: Everything after the gate that BI reads: must be unchanged by a failed build.
GUARDED_TABLES = [
    "person_identifiers", "people", "accounts", "person_scores", "account_scores",
    "segments", "segment_members", "segment_member_changes", "segment_lift",
]


def snapshot(space: Workspace) -> dict[str, list[tuple]]:
    return {table: space.query(f"select * from {table} order by all") for table in GUARDED_TABLES}


@pytest.fixture(scope="module")
def clean(tmp_path_factory) -> Workspace:
    space = Workspace(tmp_path_factory.mktemp("gate_clean"), generic_tests=False, debug_log=True)  # a test reads it
    generate(space.raw, space.truth, events=16_000, seed=21, progress=False)  # enough CRM rows to judge a bounce rate
    run = space.dbt("build")
    assert run.returncode == 0, run.output[-4000:]
    return space


@pytest.fixture
def copy_of_clean(clean: Workspace, tmp_path) -> Workspace:
    """The clean build's raw folder and warehouse, in a folder of this test's own."""
    return clean.copy(tmp_path / "copy")


def bounce_forty_percent(space: Workspace) -> None:
    path = space.raw / "crm_contacts.csv"
    contacts = pd.read_csv(path, dtype=str, keep_default_na=False)
    contacts.loc[contacts.sample(frac=0.4, random_state=1).index, "email_status"] = "bounced"
    contacts.to_csv(path, index=False)


def duplicate_half_the_events(space: Workspace) -> None:
    for path in sorted((space.raw / "events").glob("*.jsonl")):
        lines = path.read_text().splitlines()
        path.write_text("\n".join(lines + lines[::2]) + "\n")


def strip_identifiers_from_the_newest_day(space: Workspace) -> None:
    for path in sorted((space.raw / "events").glob("*.jsonl")):
        messages = []
        for line in path.read_text().splitlines():
            try:
                messages.append(json.loads(line))
            except ValueError:
                messages.append(line)
        stamps = [pd.Timestamp(m["timestamp"]) for m in messages if isinstance(m, dict) and str(m.get("timestamp", "")).startswith("2026")]
        newest = max(stamps)
        out = []
        for message in messages:
            if isinstance(message, dict) and str(message.get("timestamp", "")).startswith("2026") \
                    and pd.Timestamp(message["timestamp"]) > newest - pd.Timedelta(days=1):
                message = {**message, "anonymousId": None, "userId": None}
            out.append(message if isinstance(message, str) else json.dumps(message))
        path.write_text("\n".join(out) + "\n")


@pytest.mark.parametrize(
    "corrupt,check",
    [
        (bounce_forty_percent, "crm_bounce_rate"),
        (duplicate_half_the_events, "events_duplicate_rate"),
        (strip_identifiers_from_the_newest_day, "events_identified_share_latest_day"),
    ],
)
def test_a_bad_load_fails_the_gate_and_keeps_segments(copy_of_clean: Workspace, corrupt, check):
    space = copy_of_clean
    before = snapshot(space)
    corrupt(space)
    run = space.dbt("build")
    assert run.returncode != 0
    assert "Data-quality gate failed" in run.output
    assert check in run.output
    assert "Traceback" not in run.output
    # on record: this build's results are appended to the clean build's
    builds = space.query("select build_id, max(checked_at) from dq_results group by 1 order by 2")
    assert len(builds) == 2
    latest = builds[-1][0]
    failed = space.query(
        "select expectation, observed_value from dq_results where build_id = ? and not success and severity = 'fail'",
        [latest],
    )
    assert check in {expectation for expectation, _ in failed}
    observed = dict(failed)[check]
    assert observed is not None and observed in run.output
    # nothing after the gate was rebuilt
    assert snapshot(space) == before
    # and the build summary says why
    text = summary.render(space.database)
    assert "GATE FAILED, segments not rebuilt" in text
    assert f"FAIL  {check}: observed {observed}" in text


def test_warnings_do_not_block_the_build_and_are_reported(copy_of_clean: Workspace):
    space = copy_of_clean
    for path in sorted((space.raw / "events").glob("*.jsonl")):
        lines = path.read_text().splitlines()
        path.write_text("\n".join(lines[: len(lines) * 2 // 5]) + "\n")  # 60% fewer events than last build
    run = space.dbt("build")
    assert run.returncode == 0, run.output[-4000:]
    # dbt's result line of the test that warned ("WARN 1 assert_dq_no_warnings"), not a warning that names it
    assert re.search(r"WARN \d+ assert_dq_no_warnings", run.output), run.output[-4000:]
    latest = space.scalar("select build_id from dq_results order by checked_at desc limit 1")
    warned = space.query(
        "select expectation, severity from dq_results where build_id = ? and not success", [latest]
    )
    assert ("events_volume_change", "warn") in warned
    assert all(severity == "warn" for _, severity in warned)
    assert "gate passed with warnings" in summary.render(space.database)


def test_every_model_after_staging_waits_for_the_gate(clean: Workspace):
    manifest = json.loads((clean.root / "target" / "manifest.json").read_text())
    nodes = {key: node for key, node in manifest["nodes"].items() if node["resource_type"] == "model"}
    parents = {key: node["depends_on"]["nodes"] for key, node in nodes.items()}

    def ancestors(key: str, seen: set | None = None) -> set:
        seen = set() if seen is None else seen
        for parent in parents.get(key, []):
            if parent not in seen:
                seen.add(parent)
                ancestors(parent, seen)
        return seen

    gate = "model.customer_segments.int_dq_gate"
    # erasure_log is a privacy control, not a segment: an erasure is honoured even when the gate stops the build.
    # dq_results reads the checks, not the gate: a build the gate stopped is on record too.
    # stg_segment__consent_lines_read is staging's bookkeeping (how far the consent model read), read by no segment.
    before_gate = ancestors(gate) | {
        gate, "model.customer_segments.quarantined_rows", "model.customer_segments.erasure_log",
        "model.customer_segments.dq_results", "model.customer_segments.stg_segment__consent_lines_read",
    }
    escaped = sorted(
        node["name"] for key, node in nodes.items() if key not in before_gate and gate not in ancestors(key)
    )
    assert escaped == []


def test_gate_writes_data_docs_into_the_dbt_target_folder(clean: Workspace):
    docs = clean.root / "target" / "gx_data_docs"
    assert (docs / "index.html").is_file()
    pages = list((docs / "validations").rglob("*.html"))
    assert len(pages) >= 5  # metrics, event types, orders, CRM contacts, consent


def test_data_docs_follow_the_target_path_of_the_run_that_reused_a_parse(copy_of_clean: Workspace, clean: Workspace):
    """A run that reuses another run's parse (partial parsing, with another --target-path) writes the data docs into
    its own target folder: the folder is rendered when int_build_started runs, not into parsed config."""
    shutil.copytree(clean.root / "target", copy_of_clean.root / "target")  # the clean build's parse, and its docs
    shutil.rmtree(copy_of_clean.root / "target" / "gx_data_docs")
    before = (clean.root / "target" / "gx_data_docs" / "index.html").stat().st_mtime_ns
    run = copy_of_clean.dbt("run", "--select", "int_build_started", "int_dq_checks")
    assert run.returncode == 0, run.output[-4000:]
    log = (copy_of_clean.root / "logs" / "dbt.log").read_text()
    assert "no changes found, skipping parsing" in log  # the parse was reused: what this test is about
    assert (copy_of_clean.root / "target" / "gx_data_docs" / "index.html").is_file()
    assert (clean.root / "target" / "gx_data_docs" / "index.html").stat().st_mtime_ns == before
