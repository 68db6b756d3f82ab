"""Access export (`segments export-person`): everything the warehouse holds about one person.

On the demo build (20k events, seed 7, every fault and trap): a person's export
lists every identifier the ground truth gives them, and is the same document
whichever of their identifiers asked for it; segments say why; shared and
placeholder values identify nobody (exit 2), unknown values nobody either
(exit 1). Small hand-made warehouses pin what a partial build, two people
behind one value, and pseudonymized published emails do.
"""

from __future__ import annotations

import csv
import hashlib
import json
import stat
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from conftest import REPO_ROOT, REQUIRED_TYPES, DemoBuild, identity_only, picks
from customer_segments import lookup
from customer_segments.privacy import access

def normalized(identifier_type: str, value: str) -> str:
    """As macro identity_value: trimmed (spaces, like SQL trim), emails lower-cased."""
    value = value.strip(" ")
    return value.lower() if identifier_type == "email" else value


def without_export_time(document: dict) -> dict:
    return {key: value for key, value in document.items() if key != "exported_at"}


def run_cli(passed_demo_build: DemoBuild, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "customer_segments.cli", "export-person", *args],
        cwd=REPO_ROOT,
        env=passed_demo_build.workspace.env(),
        capture_output=True,
        text=True,
    )


def test_there_are_people_to_test_on(demo_people):
    assert len(demo_people) >= 100


def test_export_lists_every_true_identifier_and_is_the_same_by_any_identifier(demo_warehouse, demo_people):
    chosen = picks(demo_people)
    assert any(sum(r["identifier_type"] == "user_id" for r in demo_people[p]) > 1 for p in chosen), "no aliased person"
    for person in chosen:
        rows = demo_people[person]
        documents = {
            kind: access.export_person(demo_warehouse, next(r["identifier_value"] for r in rows if r["identifier_type"] == kind))
            for kind in REQUIRED_TYPES
        }
        first = without_export_time(documents["anonymous_id"])
        for kind, document in documents.items():
            assert without_export_time(document) == first, f"{person}: export by {kind} differs"
            json.loads(access.to_json(document))  # valid JSON, nothing that cannot be serialized
        exported = {(i["identifier_type"], i["identifier_value"]) for i in first["identifiers"]}
        expected = {(r["identifier_type"], normalized(r["identifier_type"], r["identifier_value"])) for r in rows}
        assert expected - exported == set(), f"{person}: identifiers missing from the export"
        assert first["unavailable"] == []
        assert first["as_of"] and first["traits"]["lifecycle_stage"]
        assert first["scores"] is not None and first["events_summary"]["events"] > 0


def test_a_value_typed_differently_finds_the_same_person(demo_warehouse, demo_people):
    person = picks(demo_people)[0]
    email = next(r["identifier_value"] for r in demo_people[person] if r["identifier_type"] == "email")
    plain = access.export_person(demo_warehouse, email, "email")
    assert access.export_person(demo_warehouse, f"  {email.upper()} ", "email")["person_id"] == plain["person_id"]


def test_segments_say_why(demo_warehouse):
    members = demo_warehouse.execute(
        "select segment_id, min(entity_id) from segment_members where entity_type = 'person' group by 1 order by 1"
    ).fetchall()
    assert members, "the demo build has no person segment members"
    score_columns = {row[0] for row in demo_warehouse.execute("describe person_scores").fetchall()}
    profiles = dict(demo_warehouse.execute("select segment_id, profile from segments").fetchall())
    for segment_id, person_id in members:
        user_or_any = demo_warehouse.execute(
            "select identifier_value from int_identity_person_ids where person_id = ? "
            "order by identifier_type = 'user_id' desc, identifier_value limit 1",
            [person_id],
        ).fetchone()[0]
        document = access.export_person(demo_warehouse, user_or_any)
        assert document["person_id"] == person_id
        held = {
            row[0]
            for row in demo_warehouse.execute(
                "select segment_id from segment_members where entity_type = 'person' and entity_id = ?", [person_id]
            ).fetchall()
        }
        assert {s["segment_id"] for s in document["segments"]} == held
        entry = next(s for s in document["segments"] if s["segment_id"] == segment_id)
        assert entry["why"]["definition"] == profiles[segment_id]
        assert entry["why"]["values"], f"{segment_id}: no rule values"
        assert set(entry["why"]["values"]) <= score_columns - {"person_id", "as_of"}
        assert (REPO_ROOT / entry["why"]["rule"]).is_file()
        assert {"name", "owner", "motion", "entered_at", "is_holdout", "score"} <= entry.keys()
        entered = [h for h in document["segment_history"] if h["segment_id"] == segment_id and h["change"] == "entered"]
        assert entered, f"{segment_id}: no entry in segment_history"


def test_account_segments_come_through_the_account(demo_warehouse):
    found = demo_warehouse.execute(
        """
        select members.segment_id, people.person_id, people.account_id
        from segment_members as members
        inner join people on members.entity_id = people.account_id
        where members.entity_type = 'account'
        order by 1, 2
        limit 1
        """
    ).fetchone()
    if found is None:
        pytest.skip("no account segment has members in this build")
    segment_id, person_id, account_id = found
    value = demo_warehouse.execute(
        "select min(identifier_value) from int_identity_person_ids where person_id = ?", [person_id]
    ).fetchone()[0]
    document = access.export_person(demo_warehouse, value)
    assert document["account"]["account_id"] == account_id
    assert document["account"]["account"]["account_id"] == account_id
    assert any(link["is_primary"] for link in document["account"]["links"])
    entry = next(s for s in document["account_segments"] if s["segment_id"] == segment_id)
    assert {"fit_score", "intent_score"} <= set(entry["why"]["values"])
    assert all(s["segment_id"] != segment_id for s in document["segments"])


def test_cli_unknown_identifier_exits_1(passed_demo_build):
    done = run_cli(passed_demo_build, "nobody-at-all@example.invalid")
    assert done.returncode == 1, done.stderr
    assert "no person found" in done.stderr
    assert "erased" in done.stderr
    assert "Traceback" not in done.stderr
    assert done.stdout == ""


def test_cli_shared_trap_values_exit_2(passed_demo_build):
    traps = [
        row
        for row in csv.DictReader((passed_demo_build.workspace.truth / "identifiers.csv").open())
        if row["is_trap"] == "true"
    ]
    assert {row["identifier_value"] for row in traps} >= {"test@test.com"}
    for trap in traps:
        for args in ([trap["identifier_value"]], [trap["identifier_value"], "--type", trap["identifier_type"]]):
            done = run_cli(passed_demo_build, *args)
            assert done.returncode == 2, (args, done.stdout[-500:], done.stderr)
            assert "does not identify one person" in done.stderr
            assert "links nobody" in done.stderr
            assert "Traceback" not in done.stderr
            assert done.stdout == ""


def test_cli_writes_valid_json_to_out(passed_demo_build, demo_warehouse, demo_people, tmp_path: Path):
    person = picks(demo_people)[0]
    user_id = next(r["identifier_value"] for r in demo_people[person] if r["identifier_type"] == "user_id")
    out = tmp_path / "export.json"
    done = run_cli(passed_demo_build, user_id, "--type", "user_id", "--out", str(out))
    assert done.returncode == 0, done.stderr
    document = json.loads(out.read_text(encoding="utf-8"))
    assert without_export_time(document) == without_export_time(access.export_person(demo_warehouse, user_id))
    assert document["person_id"] in done.stdout
    assert stat.S_IMODE(out.stat().st_mode) == 0o600  # personal data: its owner only

    to_stdout = run_cli(passed_demo_build, user_id)
    assert to_stdout.returncode == 0, to_stdout.stderr
    assert json.loads(to_stdout.stdout)["person_id"] == document["person_id"]


# ---------------------------------------------------------------------------
# Hand-made warehouses: partial builds, one value held by two people, pseudonymized emails


def test_a_partial_build_notes_the_missing_sections_instead_of_crashing():
    with duckdb.connect() as connection:
        identity_only(connection, [("p_1", "user_id", "u-1"), ("p_1", "email", "ann@example.com")])
        document = access.export_person(connection, "u-1")
    assert document["person_id"] == "p_1"
    assert [i["identifier_value"] for i in document["identifiers"]] == ["ann@example.com", "u-1"]
    assert document["identifiers"][0]["first_seen_at"] == "2026-10-01T10:00:00Z"
    missing = {entry["section"] for entry in document["unavailable"]}
    assert {"scores", "segments", "orders", "events_summary", "traits", "build"} <= missing
    assert document["scores"] is None and document["orders"] is None
    json.loads(access.to_json(document))


def test_no_identity_graph_is_a_clear_error():
    with duckdb.connect() as connection, pytest.raises(access.WarehouseIncomplete, match="identity graph"):
        access.export_person(connection, "u-1")


def test_one_value_held_by_two_people_as_different_types_needs_a_type():
    with duckdb.connect() as connection:
        identity_only(connection, [("p_1", "user_id", "42"), ("p_2", "crm_contact_id", "42")])
        with pytest.raises(access.AmbiguousIdentifier, match="--type"):
            access.export_person(connection, "42")
        assert access.export_person(connection, "42", "crm_contact_id")["person_id"] == "p_2"
        with pytest.raises(access.PersonNotFound, match="erased"):
            access.export_person(connection, "42", "email")


def test_pseudonymized_published_emails_are_tolerated():
    email = "ann@example.com"
    with duckdb.connect() as connection:
        identity_only(connection, [("p_1", "user_id", "u-1"), ("p_1", "email", email)])
        connection.execute("create table person_identifiers as select * from int_identity_person_ids")
        connection.execute(
            "update person_identifiers set identifier_value = ? where identifier_type = 'email'",
            [hashlib.sha256(email.encode()).hexdigest()],
        )
        document = access.export_person(connection, " ANN@example.com ")
    by_type = {i["identifier_type"]: i for i in document["identifiers"]}
    assert by_type["email"]["identifier_value"] == email
    assert by_type["email"]["published_as"] == "sha256"
    assert by_type["user_id"]["published_as"] == "plaintext"


def test_rule_columns_ignore_comments_and_keys():
    sql = "{#- uses fit_score in prose -#}\nselect person_id, monetary -- not frequency\nfrom s where p_alive < 0.5"
    assert lookup.rule_columns(sql, ["person_id", "monetary", "frequency", "p_alive", "fit_score"]) == [
        "monetary",
        "p_alive",
    ]
