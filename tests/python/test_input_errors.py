"""Bad input gives a clear error naming the file, or quarantines the bad rows; never a stack trace.

The cases whose staging build must pass share one raw folder and one build (`world`): each fault
sits in an input or file of its own (events that are not JSON, nested and hidden event files,
broken orders, a header-only consent file, an empty email_events file, third-party rows), next to a
good event, and a few optional inputs are left out; each test reads the rows of its own input.
The cases that expect a refused build, a run-operation or the CLI have a workspace each.
"""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest
from conftest import REPO_ROOT, DbtRun, Workspace

GOOD_EVENT = {
    "messageId": "m-1",
    "type": "track",
    "anonymousId": "a-1",
    "event": "Product Viewed",
    "properties": {"sku": "x"},
    "timestamp": "2026-10-30T10:00:00Z",
    "receivedAt": "2026-10-30T10:00:01Z",
}


def write_events(space: Workspace, lines: list[str], name: str = "part-00000.jsonl") -> Path:
    folder = space.raw / "events"
    folder.mkdir(exist_ok=True)
    path = folder / name
    path.write_text("".join(line + "\n" for line in lines))
    return path


def staging_build(space: Workspace):
    """Staging and the row-accounting check with everything it reads."""
    return space.dbt("build", "--select", "+assert_source_rows_balance", "--indirect-selection", "cautious")


#: An events file that is not JSON (a CSV export dropped in events/): each line quarantined.
NOT_JSON_LINES = ["id,name", "1,ann", "2,bob"]
#: Segment's S3 layout, events/<source-id>/<received-day>/<file>.gz, and files that tools hide (`_` or `.` first).
NESTED_EVENT_FILE = "src-1/1761868800000/batch-1.gz"
HIDDEN_EVENT_FILES = ("_tmp/copy.jsonl", ".staging/copy.jsonl", "src-1/.partial.jsonl")
#: The event lines the world's visible event files hold: top.jsonl's good event, the nested one, the export's lines.
WORLD_EVENT_LINES = 1 + 1 + len(NOT_JSON_LINES)

BROKEN_ORDERS = (
    "order_id,user_id,email,amount,currency,ordered_at,status\n"
    "o1,u1,a@b.com,10.00,USD,2026-10-01T10:00:00Z,completed\n"
    "o2,u1,a@b.com,10.00,USD,2026-10-01T10:00:00Z,completed,surplus\n"
    "o3,u1,not-an-email,10.00,USD,2026-10-01T10:00:00Z,completed\n"
    "o4,u1,a@b.com,ten,USD,2026-10-01T10:00:00Z,completed\n"
    "o5,u1,a@b.com,-3,USD,2026-10-01T10:00:00Z,completed\n"
    "o6,u1,a@b.com,3,USD,yesterday,completed\n"
    "o7,u1,a@b.com,3,USD,2026-10-01T10:00:00Z,shipped\n"
    ",u1,a@b.com,3,USD,2026-10-01T10:00:00Z,completed\n"
    "o1,u1,a@b.com,10.00,USD,2026-10-01T10:00:00Z,completed\n"
)

TECHNOGRAPHICS = (
    "account_domain,technology,observed_at\n"
    " WWW.Acme.Example ,Snowflake,2026-10-01T00:00:00Z\n"  # 2: kept, domain normalized
    "acme.example,SNOWFLAKE,2026-10-01T00:00:00Z\n"  # 3: the same observation in another case: duplicate
    ",Segment,2026-10-01T00:00:00Z\n"  # 4: missing_account_domain
    "acme.example,  ,2026-10-01T00:00:00Z\n"  # 5: missing_technology
    "acme.example,Segment,\n"  # 6: missing_observed_at
    "acme.example,Segment,yesterday\n"  # 7: invalid_timestamp
    "acme.example,Segment,2026-10-01T00:00:00Z,extra\n"  # 8: too_many_fields
)

INTENT_SIGNALS = (
    "account_domain,topic,score,observed_at\n"
    "acme.example,cdp,100.0,2026-10-01T00:00:00Z\n"  # 2: kept (the top of the range)
    "acme.example,CDP,40,2026-10-01T00:00:00Z\n"  # 3: same domain, topic and time, lower score: duplicate
    "acme.example,crm,0,2026-10-02T00:00:00Z\n"  # 4: kept (the bottom)
    "acme.example,crm,-0.5,2026-10-03T00:00:00Z\n"  # 5: invalid_score
    "acme.example,crm,NaN,2026-10-04T00:00:00Z\n"  # 6: invalid_score
    "acme.example,crm,high,2026-10-05T00:00:00Z\n"  # 7: invalid_score
    "acme.example,,50,2026-10-06T00:00:00Z\n"  # 8: missing_topic
    "acme.example,crm,50,1899-01-01T00:00:00Z\n"  # 9: timestamp_too_old
)

#: The inputs the world writes (int_source_rows_accounted's sources); every other one is missing.
WORLD_SOURCES = {"events", "orders", "consent", "email_events", "technographics", "intent_signals"}
#: Optional inputs the world leaves out: at least these must stay missing for the missing-input case to mean anything.
LEFT_OUT_SOURCES = {"crm_contacts", "accounts", "erasure_requests", "ip_ranges"}


@dataclass
class World:
    space: Workspace
    run: DbtRun


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> World:
    """One raw folder holding every fault whose staging build must pass, each in an input or file of its own, and
    its one staging_build."""
    space = Workspace(tmp_path_factory.mktemp("input_errors_world"))
    write_events(space, [json.dumps(GOOD_EVENT)], name="top.jsonl")
    write_events(space, NOT_JSON_LINES, name="export.csv")
    nested = space.raw / "events" / NESTED_EVENT_FILE
    nested.parent.mkdir(parents=True)
    with gzip.open(nested, "wt") as handle:
        handle.write(json.dumps({**GOOD_EVENT, "messageId": "m-2", "anonymousId": "a-2"}) + "\n")
    for hidden in HIDDEN_EVENT_FILES:
        path = space.raw / "events" / hidden
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps({**GOOD_EVENT, "messageId": "m-hidden"}) + "\n")
    (space.raw / "orders.csv").write_text(BROKEN_ORDERS)
    # an empty file (not even a header) of an input with required columns, read as stg_shop__orders reads orders.csv
    # (raw_table_rows): orders.csv holds the broken rows here
    (space.raw / "email_events.csv").write_text("")
    (space.raw / "consent.csv").write_text("subject_type,subject_value,purpose,granted,recorded_at\n")
    (space.raw / "technographics.csv").write_text(TECHNOGRAPHICS)
    (space.raw / "intent_signals.csv").write_text(INTENT_SIGNALS)
    return World(space, staging_build(space))


def test_missing_optional_inputs_build_as_empty(world: World):
    run = world.run
    assert run.returncode == 0, run.output
    counts = dict(world.space.query("select source, raw_rows from int_source_rows_accounted"))
    assert counts["events"] == WORLD_EVENT_LINES
    missing = set(counts) - WORLD_SOURCES
    assert missing >= LEFT_OUT_SOURCES
    assert all(counts[source] == 0 for source in missing)


def test_csv_without_a_required_column_names_the_file_and_the_column(workspace: Workspace):
    write_events(workspace, [json.dumps(GOOD_EVENT)])
    (workspace.raw / "orders.csv").write_text("order_id,user_id,price,ordered_at,status\no1,u1,3,2026-10-01,completed\n")
    run = staging_build(workspace)
    assert run.returncode != 0
    assert "orders.csv" in run.output
    assert "missing required column(s): amount" in run.output
    assert "Traceback" not in run.output


def test_empty_csv_file_reads_as_no_rows(world: World):
    run = world.run
    assert run.returncode == 0, run.output
    counts = dict(world.space.query("select source, raw_rows from int_source_rows_accounted"))
    assert counts["email_events"] == 0 and counts["consent"] == 0


def test_events_file_that_is_not_json_is_quarantined_line_by_line(world: World):
    run = world.run
    assert run.returncode == 0, run.output
    rejected = world.space.query(
        "select source_file, line_number, reason, raw from quarantined_rows where source = 'events' order by line_number"
    )
    assert rejected == [
        ("events/export.csv", 1, "malformed_json", "id,name"),
        ("events/export.csv", 2, "malformed_json", "1,ann"),
        ("events/export.csv", 3, "malformed_json", "2,bob"),
    ]


def test_broken_csv_rows_are_quarantined_with_their_line(world: World):
    run = world.run
    assert run.returncode == 0, run.output
    rejected = world.space.query(
        "select line_number, reason from quarantined_rows where source = 'orders' order by line_number"
    )
    assert rejected == [
        (3, "too_many_fields"),
        (4, "invalid_email"),
        (5, "invalid_amount"),
        (6, "negative_amount"),
        (7, "invalid_timestamp"),
        (8, "invalid_status"),
        (9, "missing_order_id"),
    ]
    assert world.space.query(
        "select raw_rows, usable_rows, duplicate_rows, quarantined_rows from int_source_rows_accounted where source = 'orders'"
    ) == [(9, 1, 1, 7)]


def test_no_event_files_is_a_clear_error(workspace: Workspace):
    run = staging_build(workspace)
    assert run.returncode != 0
    assert "No event files found" in run.output
    assert "SEGMENTS_RAW_PATH" in run.output


def test_cli_refuses_a_raw_path_without_events(workspace: Workspace):
    done = subprocess.run(
        [sys.executable, "-m", "customer_segments.cli", "build"],
        cwd=REPO_ROOT,
        env=workspace.env(),
        capture_output=True,
        text=True,
    )
    assert done.returncode == 2
    assert "has no events/ files" in done.stderr
    assert "Traceback" not in done.stderr


def test_bad_vars_stop_the_build_before_anything_is_built_with_every_problem_named(workspace: Workspace):
    write_events(workspace, [json.dumps(GOOD_EVENT)])
    bad = ('{holdout_share: 10, as_of: "yesterday", retention_days: 30.5, publish_direct_identifiers: "yes", '
           'lifecycle_active_days: 120, dq_max_quarantine_rate: "5%", dq_severity: {events_volume_change: error}}')
    run = workspace.dbt("build", "--vars", bad)
    assert run.returncode != 0
    for problem in (
        "holdout_share must be from 0 to 0.5, got 10; it is a share: 0.10 means 10%",
        "as_of must be a date or timestamp like '2026-10-31' or '2026-10-31 23:59:59', got yesterday",
        "retention_days must be a whole number, got 30.5",
        "publish_direct_identifiers must be true or false, got yes",
        "lifecycle_active_days (120) must not be above lifecycle_dormant_days (90)",
        "dq_max_quarantine_rate must be a number, got 5%",
        "dq_severity.events_volume_change must be warn or fail, got error",
    ):
        assert problem in run.output, run.output[-3000:]
    assert "Traceback" not in run.output
    built = []
    if workspace.database.exists():
        with duckdb.connect(str(workspace.database), read_only=True) as connection:
            built = connection.execute("select table_name from information_schema.tables").fetchall()
    assert built == [], "on-run-start stops the build before any model, seed or table is created"


def test_default_vars_and_good_overrides_pass_the_check(workspace: Workspace):
    good = '{holdout_share: 0.5, as_of: "2026-10-31 23:59:59", retention_days: 365, publish_direct_identifiers: true}'
    iso = '{as_of: "2026-10-31T23:59:59Z", min_valid_event_at: "2010-01-01T00:00:00+02:00"}'
    yaml_timestamp = '{as_of: 2026-10-31T23:59:59.250-05:30, min_valid_event_at: 2010-01-01}'  # YAML reads these as dates
    for args in ((), ("--vars", good), ("--vars", iso), ("--vars", yaml_timestamp)):
        run = workspace.dbt("run-operation", "validate_vars", *args)
        assert run.returncode == 0, run.output[-3000:]


def test_timestamps_that_are_not_real_days_and_times_are_refused(workspace: Workspace):
    run = workspace.dbt("run-operation", "validate_vars", "--vars",
                        '{as_of: "2026-02-29T10:00:00Z", min_valid_event_at: "2010-01-01T24:00:00"}')
    assert run.returncode != 0
    assert "as_of must be a date or timestamp like '2026-10-31' or '2026-10-31 23:59:59', got 2026-02-29T10:00:00Z" in run.output
    assert "min_valid_event_at must be a date or timestamp" in run.output and "got 2010-01-01T24:00:00" in run.output
    assert "Traceback" not in run.output


def test_segments_build_with_bad_vars_exits_2_in_one_line(workspace: Workspace):
    write_events(workspace, [json.dumps(GOOD_EVENT)])
    env = workspace.env()
    env.update(DBT_TARGET_PATH=str(workspace.root / "target"), DBT_LOG_PATH=str(workspace.root / "logs"),
               SEGMENTS_SERVING_PATH=str(workspace.root / "serving.duckdb"))
    done = subprocess.run(
        [sys.executable, "-m", "customer_segments.cli", "build", "--", "--vars", "{holdout_share: 10}"],
        cwd=REPO_ROOT, env=env, capture_output=True, text=True,
    )
    assert done.returncode == 2, done.stdout[-3000:] + done.stderr
    assert "holdout_share must be from 0 to 0.5, got 10" in done.stdout
    assert done.stderr == "segments: dbt build refused the vars (listed above); nothing was built\n"
    assert "Traceback" not in done.stdout + done.stderr


def test_events_in_nested_folders_are_read_and_hidden_ones_skipped(world: World):
    """Segment's S3 destination writes events/<source-id>/<received-day>/<file>.gz: read at any depth, once."""
    run = world.run
    assert run.returncode == 0, run.output[-3000:]
    staged = world.space.query(
        "select source_file, message_id from stg_segment__events where source_file in (?, ?) order by 1",
        [f"events/{NESTED_EVENT_FILE}", "events/top.jsonl"])
    assert staged == [(f"events/{NESTED_EVENT_FILE}", "m-2"), ("events/top.jsonl", "m-1")]
    # the world's other events file is export.csv (test_events_file_that_is_not_json_...); no hidden file is read
    files = {file for (file,) in world.space.query("select distinct source_file from stg_segment__events")}
    assert files == {f"events/{NESTED_EVENT_FILE}", "events/top.jsonl", "events/export.csv"}
    assert not files & {f"events/{hidden}" for hidden in HIDDEN_EVENT_FILES}
    assert world.space.scalar("select count(*) from stg_segment__events where message_id = 'm-hidden'") == 0


def test_third_party_rows_are_judged_one_by_one(world: World):
    """technographics.* and intent_signals.*: hostile rows quarantined with their reason, odd but valid ones kept,
    copies counted as duplicates; a technographics file without the optional category column reads."""
    run = world.run
    assert run.returncode == 0, run.output[-3000:]
    technographics = world.space.query(
        "select line_number, account_domain, quarantine_reason, duplicate_reason from stg_third_party__technographics order by 1")
    assert technographics == [
        (2, "acme.example", None, None), (3, "acme.example", None, "duplicate_technographic"),
        (4, None, "missing_account_domain", None), (5, "acme.example", "missing_technology", None),
        (6, "acme.example", "missing_observed_at", None), (7, "acme.example", "invalid_timestamp", None),
        (8, "acme.example", "too_many_fields", None),
    ]
    signals = world.space.query(
        "select line_number, score, quarantine_reason, duplicate_reason from stg_third_party__intent_signals order by 1")
    assert signals == [
        (2, 100.0, None, None), (3, 40.0, None, "duplicate_intent_signal"), (4, 0.0, None, None),
        (5, -0.5, "invalid_score", None), (6, signals[4][1], "invalid_score", None), (7, None, "invalid_score", None),
        (8, 50.0, "missing_topic", None), (9, 50.0, "timestamp_too_old", None),
    ]
    counts = {row[0]: row[1:] for row in world.space.query(
        "select source, raw_rows, usable_rows, duplicate_rows, quarantined_rows from int_source_rows_accounted")}
    assert counts["technographics"] == (7, 1, 1, 5)
    assert counts["intent_signals"] == (8, 2, 1, 5)
