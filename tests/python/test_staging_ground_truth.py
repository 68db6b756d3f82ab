"""End to end: one `dbt build` on generated data with known faults.

The generator's ground truth (manifest.json, faults.csv) says how many of each
fault it injected and where. Every injected fault must be caught with the
right reason, and no valid row may be lost.
"""

from __future__ import annotations

import csv
import json
from collections import Counter
from pathlib import Path

import pytest


@pytest.fixture(scope="module")
def faults(passed_demo_build) -> list[dict]:
    with open(passed_demo_build.workspace.truth / "faults.csv", newline="") as handle:
        return list(csv.DictReader(handle))


def raw_messages(raw: Path) -> list[dict]:
    """Every event line that parses as a JSON object, read with the standard library (independent of the pipeline)."""
    messages = []
    for path in sorted((raw / "events").iterdir()):
        for line in path.read_text(encoding="utf-8").splitlines():
            try:
                message = json.loads(line)
            except ValueError:
                continue
            if isinstance(message, dict):
                messages.append(message)
    return messages


def event_faults(faults: list[dict], kind: str) -> list[dict]:
    return [row for row in faults if row["source"] == "events" and row["fault"] == kind]


def test_row_accounting_balances_for_every_input(passed_demo_build):
    rows = passed_demo_build.workspace.query(
        "select source, raw_rows, usable_rows, duplicate_rows, quarantined_rows from int_source_rows_accounted"
    )
    assert len(rows) == 10
    for source, raw, usable, duplicates, quarantined in rows:
        assert raw == usable + duplicates + quarantined, source


def test_event_counts_match_the_manifest(passed_demo_build):
    expected = passed_demo_build.manifest["events"]
    (raw, usable, duplicates, quarantined), = passed_demo_build.workspace.query(
        "select raw_rows, usable_rows, duplicate_rows, quarantined_rows from int_source_rows_accounted where source = 'events'"
    )
    assert raw == expected["raw_lines"]
    assert usable == expected["valid_distinct"]
    assert duplicates == sum(expected["duplicates"].values())
    assert quarantined == sum(expected["quarantined"].values())


def test_every_quarantine_reason_matches_the_injected_count(passed_demo_build):
    expected = {reason: n for reason, n in passed_demo_build.manifest["events"]["quarantined"].items() if n}
    found = dict(passed_demo_build.workspace.query("select reason, count(*) from quarantined_rows where source = 'events' group by 1"))
    assert found == expected


def test_every_duplicate_reason_matches_the_injected_count(passed_demo_build):
    expected = {reason: n for reason, n in passed_demo_build.manifest["events"]["duplicates"].items() if n}
    found = dict(
        passed_demo_build.workspace.query(
            "select duplicate_reason, count(*) from stg_segment__events where duplicate_reason is not null group by 1"
        )
    )
    assert found == expected


def test_malformed_lines_are_quarantined_at_their_file_and_line(passed_demo_build, faults):
    injected = {(row["file"], int(row["line"])) for row in event_faults(faults, "malformed_json")}
    assert injected, "the generator injected no malformed lines"
    found = set(
        passed_demo_build.workspace.query(
            "select source_file, line_number from quarantined_rows where source = 'events' and reason = 'malformed_json'"
        )
    )
    assert found == injected


@pytest.mark.parametrize(
    "fault", ["missing_identifier", "timestamp_in_future", "timestamp_too_old", "invalid_type"]
)
def test_faulty_events_are_quarantined_with_the_right_reason(passed_demo_build, faults, fault):
    injected = {row["message_id"] for row in event_faults(faults, fault)}
    assert injected, f"the generator injected no {fault}"
    found = {
        message_id
        for (message_id,) in passed_demo_build.workspace.query(
            "select message_id from stg_segment__events where quarantine_reason = ?", [fault]
        )
    }
    assert found == injected


@pytest.mark.parametrize("fault", ["duplicate_message_id", "double_fire"])
def test_duplicates_are_removed_with_the_right_reason(passed_demo_build, faults, fault):
    injected = Counter(row["message_id"] for row in event_faults(faults, fault))
    assert injected, f"the generator injected no {fault}"
    found = Counter(
        message_id
        for (message_id,) in passed_demo_build.workspace.query(
            "select message_id from stg_segment__events where duplicate_reason = ?", [fault]
        )
    )
    assert found == injected
    kept = {
        message_id
        for (message_id,) in passed_demo_build.workspace.query("select message_id from int_events_deduplicated")
    }
    if fault == "duplicate_message_id":
        # the first copy of a re-delivered message stays
        assert set(injected) <= kept
    else:
        # a double fire's copy has its own messageId, which must be gone
        assert not set(injected) & kept


def test_no_valid_event_is_lost(passed_demo_build, faults):
    """Every messageId of a parseable line that is neither faulty nor a double fire's copy is kept."""
    dropped = set(passed_demo_build.manifest["events"]["quarantined"]) | {"double_fire"}
    quarantined_ids = {
        row["message_id"] for row in faults if row["source"] == "events" and row["fault"] in dropped and row["message_id"]
    }
    expected = {
        message["messageId"] for message in raw_messages(passed_demo_build.workspace.raw) if message.get("messageId") not in quarantined_ids
    }
    kept = {message_id for (message_id,) in passed_demo_build.workspace.query("select message_id from int_events_deduplicated")}
    assert kept == expected
    assert len(kept) == passed_demo_build.manifest["events"]["valid_distinct"]


def test_mixed_time_zones_are_normalized_to_utc(passed_demo_build, faults):
    rows = event_faults(faults, "mixed_timezone")
    assert rows
    found = dict(
        passed_demo_build.workspace.query(
            "select message_id, strftime(event_at, '%Y-%m-%dT%H:%M:%S.%gZ') from int_events_deduplicated "
            "where message_id in (select unnest(?))",
            [[row["message_id"] for row in rows]],
        )
    )
    assert {row["message_id"]: row["true_utc"] for row in rows} == found


def test_spelling_variants_map_to_one_canonical_event(passed_demo_build, faults):
    rows = event_faults(faults, "spelling_variant")
    assert rows
    found = dict(
        passed_demo_build.workspace.query(
            "select message_id, canonical_event from int_events_deduplicated where message_id in (select unnest(?))",
            [[row["message_id"] for row in rows]],
        )
    )
    for row in rows:
        assert found.get(row["message_id"]) == row["canonical"], row


@pytest.mark.parametrize("quirk", ["late_arriving", "hostile_string"])
def test_valid_quirky_events_are_kept(passed_demo_build, faults, quirk):
    ids = {row["message_id"] for row in event_faults(faults, quirk)}
    assert ids
    kept = {
        message_id
        for (message_id,) in passed_demo_build.workspace.query(
            "select message_id from int_events_deduplicated where message_id in (select unnest(?))", [sorted(ids)]
        )
    }
    assert kept == ids


def test_hostile_strings_survive_byte_for_byte(passed_demo_build):
    raw_by_id = {
        message["messageId"]: message["properties"]
        for message in raw_messages(passed_demo_build.workspace.raw)
        if "drop table" in json.dumps(message.get("properties") or {})
    }
    assert raw_by_id, "the generator planted no SQL-injection string"
    stored = dict(
        passed_demo_build.workspace.query(
            "select message_id, properties from int_events_deduplicated where message_id in (select unnest(?))",
            [sorted(raw_by_id)],
        )
    )
    for message_id, properties in raw_by_id.items():
        assert json.loads(stored[message_id]) == properties


@pytest.mark.parametrize("source", ["orders", "crm_contacts", "email_events", "consent", "technographics", "intent_signals"])
def test_flat_file_faults_are_caught_with_the_right_reason(passed_demo_build, source):
    expected = passed_demo_build.manifest["csv"][source]
    (raw, usable, duplicates, quarantined), = passed_demo_build.workspace.query(
        "select raw_rows, usable_rows, duplicate_rows, quarantined_rows from int_source_rows_accounted where source = ?",
        [source],
    )
    assert raw == expected["raw_rows"]
    assert usable == expected["valid"]
    assert duplicates == sum(expected.get("duplicates", {}).values())
    found = dict(passed_demo_build.workspace.query("select reason, count(*) from quarantined_rows where source = ? group by 1", [source]))
    assert found == {reason: n for reason, n in expected["quarantined"].items() if n}


def test_dbt_tests_ran_and_passed(passed_demo_build):
    assert "ERROR=0" in passed_demo_build.build.output
    assert " PASS=" in passed_demo_build.build.output
