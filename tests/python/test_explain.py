"""`segments explain`: one person, their scores and what made them, and why they are or are not in each segment.

On the demo build (20k events, seed 7): the explanation of a ground-truth
person is the same, text and JSON, whether asked by their anonymous id, user
id or email; score contributions add up to the scores `int_person_engagement`
computed; and the verdicts agree with the warehouse: members are members,
people the rule selects but consent excludes are told so, drafts say draft,
people the rule does not select say so with the rule's values.
"""

from __future__ import annotations

import csv
import json
import subprocess
import sys

import duckdb
import pytest

# the people the access export is tested on too (conftest.demo_people): ground-truth people with an
# anonymous id, a user id and an email, not erased, every identifier linkable
from conftest import REPO_ROOT, REQUIRED_TYPES, DemoBuild, identity_only, picks
from customer_segments import explain
from customer_segments import lookup


def run_explain(passed_demo_build: DemoBuild, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "customer_segments.cli", "explain", *args],
        cwd=REPO_ROOT,
        env={**passed_demo_build.workspace.env(), "COLUMNS": "100"},
        capture_output=True,
        text=True,
    )


def verdicts(explanation: dict) -> dict[str, dict]:
    return {segment["segment_id"]: segment for segment in explanation["segments"]}


def codes(verdict: dict) -> list[str]:
    return [reason["code"] for reason in verdict["reasons"]]


def identifier_of(connection, person_id: str) -> str:
    """A value that finds the person: their user id if they have one."""
    return connection.execute(
        "select identifier_value from int_identity_person_ids where person_id = ? "
        "order by identifier_type = 'user_id' desc, identifier_value limit 1",
        [person_id],
    ).fetchone()[0]


@pytest.fixture(scope="module")
def person(demo_people) -> str:
    return picks(demo_people)[0]


def test_the_same_explanation_by_anonymous_id_user_id_and_email(passed_demo_build, demo_warehouse, demo_people, person):
    rows = demo_people[person]
    values = {kind: next(r["identifier_value"] for r in rows if r["identifier_type"] == kind) for kind in REQUIRED_TYPES}
    texts, documents = {}, {}
    for kind, value in values.items():
        text = run_explain(passed_demo_build, value)
        as_json = run_explain(passed_demo_build, value, "--json")
        assert text.returncode == 0 and as_json.returncode == 0, (kind, text.stderr, as_json.stderr)
        texts[kind], documents[kind] = text.stdout, as_json.stdout
    assert len(set(texts.values())) == 1, "the text differs by identifier"
    assert len(set(documents.values())) == 1, "the JSON differs by identifier"

    document = json.loads(documents["email"])
    assert document == explain.explain_person(demo_warehouse, values["user_id"])
    assert document["unavailable"] == []
    held = {(i["identifier_type"], i["identifier_value"]) for i in document["identifiers"]}
    assert {(kind, lookup.normalize_identifier(demo_warehouse, kind, value)) for kind, value in values.items()} <= held
    # the text carries the facts: the person, every identifier in plain text, every segment, the scores
    text = texts["email"]
    assert document["person_id"] in text
    assert all(value in text for _, value in held)
    assert all(segment["segment_id"] in text for segment in document["segments"])
    assert f"engagement {explain.number(document['scores']['engagement_score'])}" in text


def test_every_catalog_segment_gets_a_verdict(demo_warehouse, person, demo_people):
    email = next(r["identifier_value"] for r in demo_people[person] if r["identifier_type"] == "email")
    explanation = explain.explain_person(demo_warehouse, email)
    catalog = {
        row[0] for row in demo_warehouse.execute("select segment_id from segments where status <> 'suggested'").fetchall()
    }
    assert set(verdicts(explanation)) == catalog
    for verdict in explanation["segments"]:
        assert verdict["is_member"] != bool(verdict["reasons"]), verdict["segment_id"]
        assert verdict["definition"], verdict["segment_id"]


def test_contributions_add_up_to_the_scores(demo_warehouse, person, demo_people):
    """The top contributions and the rest add up to person_scores, for the picked person and the top scorers."""
    email = next(r["identifier_value"] for r in demo_people[person] if r["identifier_type"] == "email")
    people = [lookup.resolve_person(demo_warehouse, email)] + [
        row[0]
        for row in demo_warehouse.execute(
            "select person_id from person_scores order by engagement_score desc, person_id limit 20"
        ).fetchall()
        + demo_warehouse.execute(
            "select person_id from person_scores where intent_score > 0 order by intent_score desc, person_id limit 10"
        ).fetchall()
    ]
    for person_id in people:
        explanation = explain.explain_person(demo_warehouse, identifier_of(demo_warehouse, person_id))
        assert explanation["person_id"] == person_id
        for name in ("engagement", "intent"):
            part = explanation["contributions"][name]
            score = explanation["scores"][f"{name}_score"]
            assert part["score"] == score
            assert len(part["top"]) <= explain.TOP_CONTRIBUTIONS
            shown = sum(row["points"] for row in part["top"])
            assert shown + part["others"]["points"] == pytest.approx(score, abs=1e-6), (person_id, name)
            assert part["total"] == pytest.approx(score, abs=1e-6)
            assert [row["points"] for row in part["top"]] == sorted((row["points"] for row in part["top"]), reverse=True)
            assert part["event_days"] == len(part["top"]) + part["others"]["event_days"]
    picked = explain.explain_person(demo_warehouse, identifier_of(demo_warehouse, people[1]))["contributions"]["engagement"]
    assert len(picked["top"]) == explain.TOP_CONTRIBUTIONS and picked["others"]["event_days"] > 0


def test_members_of_person_segments_are_told_when_they_entered(demo_warehouse):
    members = demo_warehouse.execute(
        """
        select segment_id, min(entity_id)
        from segment_members
        where entity_type = 'person'
        group by 1
        order by 1
        """
    ).fetchall()
    assert members, "no person segment has members"
    for segment_id, person_id in members:
        entered_at, is_holdout, score, is_primary = demo_warehouse.execute(
            "select entered_at, is_holdout, score, is_primary from segment_members where segment_id = ? and entity_id = ?",
            [segment_id, person_id],
        ).fetchone()
        verdict = verdicts(explain.explain_person(demo_warehouse, identifier_of(demo_warehouse, person_id)))[segment_id]
        assert verdict["is_member"] and verdict["reasons"] == []
        assert verdict["matches_rule"] is True and verdict["consent"]["allows"] is True
        membership = verdict["membership"]
        assert membership["entered_at"] == lookup.json_value(entered_at)
        assert (membership["is_holdout"], membership["score"], membership["is_primary"]) == (is_holdout, score, is_primary)
        assert verdict["values"]


def test_people_the_rule_selects_without_consent_are_told_it_is_consent(demo_warehouse):
    segments = demo_warehouse.execute(
        """
        select segment_id, model_name, purpose, lawful_basis
        from segments
        where status = 'active' and entity_type = 'person'
        order by lawful_basis = 'consent' desc, segment_id
        """
    ).fetchall()
    checked = set()
    for segment_id, model_name, purpose, basis in segments:
        # the catalog view applies the rule before consent; segment_members after it
        found = demo_warehouse.execute(
            f"""
            select rule.entity_id, people.consent_{purpose}
            from {model_name} as rule
            inner join people on rule.entity_id = people.person_id
            where rule.entity_id not in (select entity_id from segment_members where segment_id = ?)
                and people.consent_{purpose} is not true
            order by people.consent_{purpose} is null, rule.entity_id
            limit 1
            """,
            [segment_id],
        ).fetchone()
        if found is None:
            continue
        person_id, granted = found
        explanation = explain.explain_person(demo_warehouse, identifier_of(demo_warehouse, person_id))
        verdict = verdicts(explanation)[segment_id]
        assert not verdict["is_member"] and verdict["matches_rule"] is True
        assert codes(verdict) == ["no_consent"], verdict["reasons"]
        assert "consent" in verdict["reasons"][0]["text"] and purpose in verdict["reasons"][0]["text"]
        assert verdict["consent"] == {"purpose": purpose, "lawful_basis": basis, "granted": granted, "allows": False}
        assert explanation["person"]["consent"][purpose] is granted
        checked.add(basis)
    assert "consent" in checked, "no consent-based segment's rule selects a person without consent"


def test_drafts_say_draft_and_whether_the_rule_would_select(demo_warehouse, person, demo_people):
    drafts = demo_warehouse.execute(
        "select segment_id, model_name from segments where status = 'draft' and entity_type = 'person' order by 1"
    ).fetchall()
    assert drafts, "the demo catalog has no person draft"
    segment_id, model_name = drafts[0]
    user_id = next(r["identifier_value"] for r in demo_people[person] if r["identifier_type"] == "user_id")
    verdict = verdicts(explain.explain_person(demo_warehouse, user_id))[segment_id]
    assert not verdict["is_member"] and codes(verdict)[0] == "not_active"
    assert "draft" in verdict["reasons"][0]["text"]

    selected = demo_warehouse.execute(f"select min(entity_id) from {model_name}").fetchone()[0]
    if selected is not None:
        verdict = verdicts(explain.explain_person(demo_warehouse, identifier_of(demo_warehouse, selected)))[segment_id]
        assert verdict["matches_rule"] is True and "no_rule_match" not in codes(verdict)
        assert codes(verdict)[0] == "not_active"


def test_people_the_rule_does_not_select_see_the_rule_and_their_values(demo_warehouse):
    segment_id, model_name = demo_warehouse.execute(
        "select segment_id, model_name from segments where status = 'active' and entity_type = 'person' "
        "order by priority limit 1"
    ).fetchone()
    person_id = demo_warehouse.execute(
        f"select min(person_id) from person_scores where person_id not in (select entity_id from {model_name})"
    ).fetchone()[0]
    explanation = explain.explain_person(demo_warehouse, identifier_of(demo_warehouse, person_id))
    verdict = verdicts(explanation)[segment_id]
    assert verdict["matches_rule"] is False and "no_rule_match" in codes(verdict)
    assert verdict["definition"] == demo_warehouse.execute("select profile from segments where segment_id = ?", [segment_id]).fetchone()[0]
    assert verdict["values"] and set(verdict["values"]) <= set(explanation["scores"])
    text = explain.render_text(explanation, width=100)
    assert "does not match the rule" in text and "person's values:" in text


def test_account_segments_follow_the_account(demo_warehouse):
    found = demo_warehouse.execute(
        """
        select members.segment_id, min(people.person_id)
        from segment_members as members
        inner join people on members.entity_id = people.account_id
        where members.entity_type = 'account'
        group by 1
        order by 1
        limit 1
        """
    ).fetchone()
    if found is None:
        pytest.skip("no account segment has members in this build")
    segment_id, person_id = found
    verdict = verdicts(explain.explain_person(demo_warehouse, identifier_of(demo_warehouse, person_id)))[segment_id]
    assert verdict["is_member"] and verdict["entity_type"] == "account"
    outsider = demo_warehouse.execute(
        """
        select min(person_id) from people
        where account_id is not null
            and account_id not in (select entity_id from segment_members where segment_id = ?)
        """,
        [segment_id],
    ).fetchone()[0]
    verdict = verdicts(explain.explain_person(demo_warehouse, identifier_of(demo_warehouse, outsider)))[segment_id]
    assert not verdict["is_member"] and codes(verdict) == ["account_not_member"]
    assert verdict["entity_id"] in verdict["reasons"][0]["text"]


def test_recent_segment_changes_are_listed(demo_warehouse):
    person_id = demo_warehouse.execute(
        "select min(entity_id) from segment_members where entity_type = 'person'"
    ).fetchone()[0]
    explanation = explain.explain_person(demo_warehouse, identifier_of(demo_warehouse, person_id))
    assert any(change["change"] == "entered" for change in explanation["segment_history"])
    assert len(explanation["segment_history"]) <= explain.HISTORY_LIMIT


def test_cli_unknown_identifier_exits_1(passed_demo_build):
    done = run_explain(passed_demo_build, "nobody-at-all@example.invalid")
    assert done.returncode == 1, done.stderr
    assert "no person found" in done.stderr and "Traceback" not in done.stderr
    assert done.stdout == ""


def test_cli_shared_value_exits_2(passed_demo_build):
    traps = [
        row for row in csv.DictReader((passed_demo_build.workspace.truth / "identifiers.csv").open()) if row["is_trap"] == "true"
    ]
    assert traps
    for trap in traps:
        done = run_explain(passed_demo_build, trap["identifier_value"], "--json")
        assert done.returncode == 2, (trap, done.stdout[-500:], done.stderr)
        assert "does not identify one person" in done.stderr and "Traceback" not in done.stderr
        assert done.stdout == ""


def test_a_partial_build_explains_what_it_can():
    with duckdb.connect() as connection:
        identity_only(connection, [("p_1", "user_id", "u-1"), ("p_1", "email", "ann@example.com")])
        explanation = explain.explain_person(connection, "ann@example.com")
    assert explanation["person_id"] == "p_1"
    assert [i["identifier_value"] for i in explanation["identifiers"]] == ["ann@example.com", "u-1"]
    missing = {entry["section"] for entry in explanation["unavailable"]}
    assert {"scores", "contributions", "segments", "segment_history"} <= missing
    text = explain.render_text(explanation, width=100)
    assert "ann@example.com" in text and "Unavailable" in text
    json.loads(explain.to_json(explanation))


@pytest.mark.parametrize(
    ("basis", "granted", "allows"),
    [
        ("consent", True, True),
        ("consent", None, False),
        ("consent", False, False),
        ("legitimate_interest", None, True),
        ("legitimate_interest", False, False),
    ],
)
def test_consent_as_the_membership_model_applies_it(basis, granted, allows):
    assert explain.consent_allows(basis, granted) is allows
